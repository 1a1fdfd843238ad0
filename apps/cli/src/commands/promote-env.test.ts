/**
 * `rollway promote-env` on a real git repository with a local bare repository as its remote (seed 003): refused
 * without QA's approval, approved, promoted by a push, reverted.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
// A loopback fake of Argo CD's API, and the release package's kube-sim world (the demo environment's Rollouts).
import {
  ARGOCD_TOKEN,
  argoCdServerResource,
} from "../../../../packages/env-promotion/src/__tests__/argocd-server-resource.js";
// The env-promotion package's test registry (Debian's docker-registry on loopback, images pushed over its API).
import {
  type RegistryResource,
  startRegistry,
} from "../../../../packages/env-promotion/src/__tests__/registry-resource.js";
import {
  demoEnvironmentInput,
  NS,
  releaseSimResource,
  rolloutsPath,
} from "../../../../packages/release/src/test-helpers/release-sim.js";
import { rollway, rollwayAsync } from "../test-helpers/run-cli.js";

/** The binary in the background (this process serves the fake API meanwhile, so no spawnSync). */
const runAsync = (args: string[], env: Record<string, string>) => rollwayAsync(args, env).done;

const overlay = (env: string, tag: string) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop-${env}
resources:
  - ../base
images:
  - name: frontend
    newName: registry.example.com/shop/frontend
    newTag: ${tag}
`;

const root = mkdtempSync(join(tmpdir(), "rollway-cli-promote-env-"));
const bare = join(root, "gitops.git");
const repo = join(root, "gitops");
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
const identity = {
  GIT_AUTHOR_NAME: "QA",
  GIT_AUTHOR_EMAIL: "qa@example.com",
  GIT_COMMITTER_NAME: "QA",
  GIT_COMMITTER_EMAIL: "qa@example.com",
};
/** Who promotes: not QA, who approves. */
const developer = {
  GIT_AUTHOR_NAME: "Dev",
  GIT_AUTHOR_EMAIL: "dev@example.com",
  GIT_COMMITTER_NAME: "Dev",
  GIT_COMMITTER_EMAIL: "dev@example.com",
};
const keys = join(root, "keys");
const allowedSigners = join(keys, "allowed_signers");
/** staging to prod, trusting the approvals signed by the keys in `allowedSigners`. */
const PROMOTE_WITH_SIGNERS = [
  "promote-env",
  "--repo",
  repo,
  "--from",
  "staging",
  "--to",
  "prod",
  "--allowed-signers",
  allowedSigners,
];

beforeAll(() => {
  git(root, "init", "-q", "--bare", "-b", "main", bare);
  git(root, "clone", "-q", bare, repo);
  git(repo, "config", "user.name", "QA");
  git(repo, "config", "user.email", "qa@example.com");
  // QA and the developer sign with SSH keys made by ssh-keygen; QA's clone signs approvals with QA's key.
  mkdirSync(keys);
  const publicKeys: string[] = [];
  for (const [name, email] of [
    ["qa", "qa@example.com"],
    ["dev", "dev@example.com"],
  ] as const) {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", email, "-f", join(keys, name)]);
    publicKeys.push(`${email} ${readFileSync(join(keys, `${name}.pub`), "utf8").trim()}`);
  }
  writeFileSync(allowedSigners, `${publicKeys.join("\n")}\n`);
  git(repo, "config", "gpg.format", "ssh");
  git(repo, "config", "user.signingkey", join(keys, "qa"));
  for (const [env, tag] of [
    ["staging", "v1.1.0"],
    ["prod", "v1.0.0"],
  ] as const) {
    mkdirSync(join(repo, "kustomize", env), { recursive: true });
    writeFileSync(join(repo, "kustomize", env, "kustomization.yaml"), overlay(env, tag));
  }
  mkdirSync(join(repo, "kustomize", "base"), { recursive: true });
  writeFileSync(join(repo, "kustomize", "base", "kustomization.yaml"), "resources: []\n");
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "overlays");
  git(repo, "push", "-q", "origin", "HEAD:main");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const prodOnRemote = () => git(root, "--git-dir", bare, "show", "main:kustomize/prod/kustomization.yaml");

describe("rollway promote-env", () => {
  it("refuses to promote what QA has not approved, and changes nothing", () => {
    const r = rollway(["promote-env", "--repo", repo, "--from", "staging", "--to", "prod", "--push"], {
      env: identity,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rollway: .*approv/im);
    expect(prodOnRemote()).toContain("newTag: v1.0.0");
  });

  it("a dry run without approval shows the change and says it would be refused", () => {
    const r = rollway(["promote-env", "--repo", repo, "--from", "staging", "--to", "prod", "--dry-run"], {
      env: developer,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Dry run: promoting staging to prod would be REFUSED \[APPROVAL_MISSING\]/);
    expect(r.stdout).toMatch(
      /frontend\s+updated\s+registry\.example\.com\/shop\/frontend:v1\.0\.0\s+registry\.example\.com\/shop\/frontend:v1\.1\.0/,
    );
    expect(r.stderr).toBe("rollway: dry run: the promotion would be refused [APPROVAL_MISSING]; see above\n");
    expect(prodOnRemote()).toContain("newTag: v1.0.0");
  });

  it("records QA's approval as a signed tag, refuses QA promoting it, then the developer promotes by a push", () => {
    const help = rollway(["promote-env", "approve", "--help"]);
    expect(help.stdout).toContain("a git tag signed with your key");
    const approve = rollway(["promote-env", "approve", "--repo", repo, "--env", "staging", "--json"], {
      env: identity,
    });
    expect(approve.code).toBe(0);
    const tag = JSON.parse(approve.stdout).tag as string;
    // The help says signed: git itself verifies it against the approvers' keys.
    expect(() =>
      execFileSync("git", ["-c", `gpg.ssh.allowedSignersFile=${allowedSigners}`, "verify-tag", tag], {
        cwd: repo,
        stdio: "pipe",
      }),
    ).not.toThrow();

    const args = ["promote-env", "--repo", repo, "--from", "staging", "--to", "prod", "--push"];
    const self = rollway([...args, "--allowed-signers", allowedSigners], { env: identity });
    expect(self.code).toBe(1);
    expect(self.stderr).toContain("it is signed by qa@example.com, who is promoting");
    expect(prodOnRemote()).toContain("newTag: v1.0.0");

    const unchecked = rollway(args, { env: developer });
    expect(unchecked.code).toBe(1);
    expect(unchecked.stderr).toContain("no allowed-signers file");
    expect(unchecked.stderr).toContain("--allowed-signers <file>");

    const r = rollway([...args, "--allowed-signers", allowedSigners], { env: developer });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("registry.example.com/shop/frontend");
    expect(r.stdout).toContain("signed by qa@example.com");
    expect(prodOnRemote()).toContain("newTag: v1.1.0");
    // Six runs of the binary and git with SSH signing: slow on the shared 2-core machine.
  }, 120_000);

  it("reverts the promotion with another push", () => {
    const r = rollway(["promote-env", "revert", "--repo", repo, "--to", "prod", "--push"], { env: identity });
    expect(r.code).toBe(0);
    expect(prodOnRemote()).toContain("newTag: v1.0.0");
  });

  it("opens the pull request through the GitHub API named by GITHUB_API_URL, for --github-repo", async () => {
    // A loopback fake of GitHub's REST API: the one call rollway makes, POST /repos/{owner}/{repo}/pulls.
    const calls: { url: string; auth: string; body: { head?: string; base?: string } }[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        calls.push({
          url: `${req.method} ${req.url}`,
          auth: req.headers.authorization ?? "",
          body: JSON.parse(body || "{}"),
        });
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ number: 7, html_url: "https://github.example.com/acme/gitops/pull/7" }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const args = PROMOTE_WITH_SIGNERS;

    const missing = await runAsync([...args], { ...developer, GITHUB_TOKEN: "ghp_test", GITHUB_API_URL: api });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("pass --github-repo owner/name");
    expect(missing.stderr).not.toContain("github.owner");

    const r = await runAsync([...args, "--github-repo", "acme/gitops"], {
      ...developer,
      GITHUB_TOKEN: "ghp_test",
      GITHUB_API_URL: api,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("proposed in pull request #7: https://github.example.com/acme/gitops/pull/7");
    // The calls made with the token given: the fake listens on a loopback port that something else running beside
    // this test once reached as well (23 calls in one CI run, 2026-12-07; the message shows the first three if again).
    const ours = calls.filter((c) => c.auth === "token ghp_test");
    expect(ours, JSON.stringify(calls.slice(0, 3))).toHaveLength(1);
    expect(ours[0]).toMatchObject({
      url: "POST /repos/acme/gitops/pulls",
      auth: "token ghp_test",
      body: { base: "main" },
    });
    const branch = ours[0]?.body.head ?? "";
    expect(git(root, "--git-dir", bare, "show", `${branch}:kustomize/prod/kustomization.yaml`)).toContain(
      "newTag: v1.1.0",
    );
  }, 120_000);

  it("asks for --from and --to", () => {
    const r = rollway(["promote-env", "--repo", repo, "--to", "prod"]);
    expect(r).toMatchObject({
      code: 2,
      stderr: "rollway: promote-env needs --from and --to, e.g. --from staging --to prod\n",
    });
  });
});

describe("rollway promote-env --pin-digest against a real docker-registry", () => {
  let registry: RegistryResource;
  let digest: string;
  const pinRoot = mkdtempSync(join(tmpdir(), "rollway-cli-pin-digest-"));
  const pinBare = join(pinRoot, "gitops.git");
  const pinRepo = join(pinRoot, "gitops");
  const prodPinned = () => git(pinRoot, "--git-dir", pinBare, "show", "main:kustomize/prod/kustomization.yaml");
  const writeStaging = (tag: string) => {
    const text = overlay("staging", tag).replace("registry.example.com", registry.host);
    writeFileSync(join(pinRepo, "kustomize", "staging", "kustomization.yaml"), text);
    git(pinRepo, "add", ".");
    git(pinRepo, "commit", "-q", "-m", `staging ${tag}`);
    git(pinRepo, "push", "-q", "origin", "HEAD:main");
  };
  beforeAll(async () => {
    registry = await startRegistry();
    digest = await registry.push("shop/frontend", "v1.1.0");
    git(pinRoot, "init", "-q", "--bare", "-b", "main", pinBare);
    git(pinRoot, "clone", "-q", pinBare, pinRepo);
    git(pinRepo, "config", "user.name", "Dev");
    git(pinRepo, "config", "user.email", "dev@example.com");
    for (const env of ["staging", "prod"]) mkdirSync(join(pinRepo, "kustomize", env), { recursive: true });
    writeFileSync(
      join(pinRepo, "kustomize", "prod", "kustomization.yaml"),
      overlay("prod", "v1.0.0").replace("registry.example.com", registry.host),
    );
    writeStaging("v9.9.9");
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it("refuses a tag the registry does not have, naming image and registry, and pushes nothing", () => {
    const r = rollway(
      ["promote-env", "--repo", pinRepo, "--from", "staging", "--to", "prod", "--push", "--force", "--pin-digest"],
      { env: { ...developer, DOCKER_CONFIG: join(pinRoot, "no-docker-config") } },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `rollway: Image ${registry.host}/shop/frontend:v9.9.9 does not exist in registry ${registry.host}.`,
    );
    expect(r.stderr).toContain("--pin-digest");
    expect(prodPinned()).toContain("newTag: v1.0.0");
  });

  it("writes the registry's digest beside the promoted tag", () => {
    writeStaging("v1.1.0");
    const r = rollway(
      ["promote-env", "--repo", pinRepo, "--from", "staging", "--to", "prod", "--push", "--force", "--pin-digest"],
      { env: { ...developer, DOCKER_CONFIG: join(pinRoot, "no-docker-config") } },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(prodPinned()).toContain(`    newTag: v1.1.0\n    digest: ${digest}`);
  });
});

/**
 * A loopback Argo CD (with the bearer token, 401 without) whose application shop-prod is synced to what main holds
 * at each read, with the health `health()` gives at that read; its URL. Closed when the test finishes.
 */
async function argoCdFollowingMain(health: () => string): Promise<string> {
  const server = createServer((req, res) => {
    const revision = git(root, "--git-dir", bare, "rev-parse", "main");
    const status = health();
    res.writeHead(req.headers.authorization === `Bearer ${ARGOCD_TOKEN}` ? 200 : 401, {
      "content-type": "application/json",
    });
    res.end(
      JSON.stringify({
        metadata: { name: "shop-prod" },
        status: { sync: { status: "Synced", revision }, health: { status } },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("rollway promote-env checks that --from is healthy first", () => {
  // Runs after the suite above: prod is back on v1.0.0 and QA's approval of staging's v1.1.0 counts.
  const args = PROMOTE_WITH_SIGNERS;

  it("refuses with SOURCE_UNHEALTHY naming the component rollway's status finds not Healthy (kube-sim), unless skipped", async () => {
    const world = await releaseSimResource({ backends: ["backend-1"] });
    world.sim.faults.crashPods({ image: /:bad$/ });
    await fetch(`${world.sim.url}${rolloutsPath}/backend-1`, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({
        spec: {
          template: { spec: { containers: [{ name: "backend", image: "my-registry/image-for-backend-1:bad" }] } },
        },
      }),
    });
    await world.client.waitFor(await world.client.target("backend-1", NS), (s) => s.phase !== "Healthy", {
      timeout: 10_000,
    });
    const kubeconfig = join(root, "staging.kubeconfig");
    const environment = join(root, "staging-environment.yaml");
    writeFileSync(kubeconfig, world.sim.kubeconfig);
    // JSON is YAML: the demo environment as its file.
    writeFileSync(environment, JSON.stringify(demoEnvironmentInput({ backends: ["backend-1"] })));
    const source = ["--source-env", environment, "--kubeconfig", kubeconfig];

    const refused = await runAsync([...args, "--push", ...source], developer);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^rollway: staging is not healthy.*\n {2}backend-1 is (Progressing|Paused|Degraded)/,
    );
    expect(refused.stderr).toContain("(rollway status of demo)");
    expect(refused.stderr).toContain("or pass --skip-health-check to promote anyway");
    expect(prodOnRemote()).toContain("newTag: v1.0.0");

    const skipped = await runAsync([...args, "--dry-run", ...source, "--skip-health-check"], developer);
    expect(skipped.stderr).toBe("");
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toContain("health check of staging skipped on purpose");
  }, 120_000);

  it("refuses a Degraded Argo CD application of staging, reading ARGOCD_SERVER and ARGOCD_AUTH_TOKEN", async () => {
    const argo = await argoCdServerResource("shop-staging", [
      {
        sync: "Synced",
        revision: "0123456789abcdef0123456789abcdef01234567",
        health: "Degraded",
        resources: [{ kind: "Rollout", name: "frontend", health: "Degraded", message: "ProgressDeadlineExceeded" }],
      },
    ]);
    const missing = rollway([...args, "--dry-run", "--argocd-source-app", "shop-staging"], { env: developer });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("ARGOCD_AUTH_TOKEN");

    const r = await runAsync([...args, "--dry-run", "--argocd-source-app", "shop-staging"], {
      ...developer,
      ARGOCD_SERVER: argo.server,
      ARGOCD_AUTH_TOKEN: ARGOCD_TOKEN,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Dry run: promoting staging to prod would be REFUSED \[SOURCE_UNHEALTHY\]/);
    expect(r.stdout).toContain(
      "Rollout/frontend Degraded: ProgressDeadlineExceeded (Argo CD application shop-staging)",
    );
    expect(r.stdout + r.stderr).not.toContain(ARGOCD_TOKEN);
    expect(argo.requests[0]?.headers.authorization).toBe(`Bearer ${ARGOCD_TOKEN}`);
  }, 120_000);

  it("--wait pushes, then waits until Argo CD has synced prod to the promotion and reports it Healthy", async () => {
    // Progressing twice, then Healthy.
    let reads = 0;
    const argocd = await argoCdFollowingMain(() => (++reads <= 2 ? "Progressing" : "Healthy"));
    const r = await runAsync([...args, "--push", "--wait", "--argocd-app", "shop-prod", "--wait-timeout", "60"], {
      ...developer,
      ARGOCD_SERVER: argocd,
      ARGOCD_AUTH_TOKEN: ARGOCD_TOKEN,
      ROLLWAY_WAIT_INTERVAL_MS: "50",
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const pushed = git(root, "--git-dir", bare, "rev-parse", "main");
    expect(r.stdout).toContain(
      `merged as ${pushed.slice(0, 12)}; Argo CD application shop-prod Synced at ${pushed.slice(0, 12)} and Healthy`,
    );
    expect(reads).toBe(3);
    expect(prodOnRemote()).toContain("newTag: v1.1.0");
  }, 120_000);

  it("--wait that runs out (WAIT_TIMEOUT) exits 3, timed out as the README says; the promotion is pushed", async () => {
    // prod is on v1.1.0 since the test above: back to v1.0.0 first, as a user would.
    const reverted = rollway(["promote-env", "revert", "--repo", repo, "--to", "prod", "--push"], { env: identity });
    expect(reverted.code, reverted.stderr).toBe(0);
    // Never Healthy.
    const argocd = await argoCdFollowingMain(() => "Progressing");
    const r = await runAsync([...args, "--push", "--wait", "--argocd-app", "shop-prod", "--wait-timeout", "1"], {
      ...developer,
      ARGOCD_SERVER: argocd,
      ARGOCD_AUTH_TOKEN: ARGOCD_TOKEN,
      ROLLWAY_WAIT_INTERVAL_MS: "50",
    });
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^rollway: Gave up after 1s waiting for /);
    expect(prodOnRemote()).toContain("newTag: v1.1.0");
  }, 120_000);
});
