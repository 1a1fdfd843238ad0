import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROD_KUSTOMIZATION, PROD_KUSTOMIZATION_PROMOTED, STAGING_KUSTOMIZATION } from "./__tests__/fixtures.js";
import {
  approvedRepo,
  DEVELOPER,
  git,
  gitRemoteResource,
  OVERLAYS,
  QA,
  signedTagArgs,
  signingKeys,
} from "./__tests__/git-remote-resource.js";
import { gitHubServerResource } from "./__tests__/github-server-resource.js";
import { recordApproval } from "./approval.js";
import { PromotionError } from "./errors.js";
import { formatPromotion } from "./format.js";
import { promoteEnvironment } from "./promote.js";

const TOKEN = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
const PROD = "kustomize/prod/kustomization.yaml";

describe("promoteEnvironment", () => {
  it("commits the prod overlay on a branch and opens a pull request listing every image", async () => {
    const remote = gitRemoteResource();
    const approval = await recordApproval({ repo: remote.clone, env: "staging", approver: QA });
    const github = await gitHubServerResource();
    const result = await promoteEnvironment({
      repo: remote.clone,
      from: "staging",
      to: "prod",
      author: DEVELOPER,
      github: { token: TOKEN, owner: "acme", repo: "gitops", baseUrl: github.baseUrl },
    });

    const main = remote.remoteGit(["rev-parse", "main"]).trim();
    const branch = `promote/staging-to-prod-${main.slice(0, 12)}`;
    expect(result).toMatchObject({ status: "pull-request", branch, baseCommit: main, forced: false });
    expect(result.pullRequest).toEqual({
      number: expect.any(Number),
      url: expect.stringMatching(/^https:\/\/github.com\/acme\/gitops\/pull\/\d+$/),
    });
    expect(result.approval?.tag).toBe(approval.tag);

    // The branch on the remote holds one commit on main whose only change is the two promoted values.
    expect(remote.show(branch, PROD)).toBe(PROD_KUSTOMIZATION_PROMOTED);
    expect(remote.remoteGit(["rev-parse", `${branch}~1`]).trim()).toBe(main);
    expect(remote.remoteGit(["diff", "--stat", main, branch]).trim()).toMatch(
      /^kustomize\/prod\/kustomization.yaml \| 4 \+\+--/,
    );
    const message = remote.remoteGit(["log", "-1", "--format=%B", branch]).trim();
    expect(message).toBe(
      [
        "Promote staging to prod",
        "",
        "cartservice: registry.digitalocean.com/microservices-demo/cartservice:v1.0.0 → registry.digitalocean.com/microservices-demo/cartservice:v1.0.1",
        "frontend: registry.digitalocean.com/microservices-demo/frontend:v1.0.0 → registry.digitalocean.com/microservices-demo/frontend:v1.0.1",
        "Already the same: emailservice",
        "",
        `QA approval: ${approval.tag} by Quinn Assurance <qa@example.com> on ${approval.date}`,
        "",
        "Rollway-Promotion: staging -> prod",
        `Rollway-Source-Commit: ${main}`,
      ].join("\n"),
    );
    expect(remote.remoteGit(["log", "-1", "--format=%an <%ae>", branch]).trim()).toBe("Dev Eloper <dev@example.com>");
    // main itself is untouched until the pull request is merged.
    expect(remote.show("main", PROD)).toBe(PROD_KUSTOMIZATION);

    // Exactly one call reached GitHub, the documented "create a pull request" one.
    expect(github.requests).toHaveLength(1);
    const [request] = github.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/repos/acme/gitops/pulls");
    expect(request?.headers.authorization).toBe(`token ${TOKEN}`);
    expect(request?.headers["user-agent"]).toMatch(/^rollway-env-promotion /);
    expect(request?.body).toEqual({
      title: "Promote staging to prod",
      body: message.split("\n").slice(2).join("\n"),
      head: branch,
      base: "main",
    });

    expect(formatPromotion(result)).toContain(
      `Promotion of staging to prod proposed in pull request #${result.pullRequest?.number}`,
    );
  });

  it("pushes the promotion straight onto main when asked", async () => {
    const { remote } = approvedRepo();
    const result = await promoteEnvironment({
      repo: remote.clone,
      from: "staging",
      to: "prod",
      delivery: "push",
      author: DEVELOPER,
    });
    expect(result.status).toBe("pushed");
    expect(remote.remoteGit(["rev-parse", "main"]).trim()).toBe(result.commit);
    expect(remote.show("main", PROD)).toBe(PROD_KUSTOMIZATION_PROMOTED);
    expect(result.branch).toBeUndefined();
  });

  it("leaves the user's checkout, its branch and its uncommitted work alone", async () => {
    const { remote } = approvedRepo();
    writeFileSync(join(remote.clone, PROD), "# work in progress\n");
    const head = git(remote.clone, ["rev-parse", "HEAD"]);
    await promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", delivery: "push", author: DEVELOPER });
    expect(readFileSync(join(remote.clone, PROD), "utf8")).toBe("# work in progress\n");
    expect(git(remote.clone, ["rev-parse", "HEAD"])).toBe(head);
    expect(git(remote.clone, ["worktree", "list"]).trim().split("\n")).toHaveLength(1);
  });

  it("keeps an approval valid across commits that do not change the staging images", async () => {
    const { remote, approval } = approvedRepo();
    remote.commitOnRemote(
      { "kustomize/staging/kustomization.yaml": `# QA signed off on 2026-11-27\n${STAGING_KUSTOMIZATION}` },
      "Comment staging",
    );
    const result = await promoteEnvironment({
      repo: remote.clone,
      from: "staging",
      to: "prod",
      delivery: "push",
      author: DEVELOPER,
    });
    expect(result.approval?.tag).toBe(approval.tag);
  });

  it("promotes without approval when forced, and the commit says so", async () => {
    const remote = gitRemoteResource();
    const result = await promoteEnvironment({
      repo: remote.clone,
      from: "staging",
      to: "prod",
      delivery: "push",
      force: true,
      author: DEVELOPER,
    });
    expect(result.forced).toBe(true);
    expect(remote.remoteGit(["log", "-1", "--format=%B", "main"])).toContain(
      "QA approval: none recorded, promotion forced",
    );
    expect(formatPromotion(result)).toContain("QA approval  none recorded: FORCED");
  });

  it("commits nothing when prod already runs what staging runs", async () => {
    const remote = gitRemoteResource();
    remote.commitOnRemote({ [PROD]: PROD_KUSTOMIZATION_PROMOTED }, "Promote by hand");
    const refsBefore = remote.refs();
    const result = await promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", delivery: "push" });
    expect(result.status).toBe("up-to-date");
    expect(result.commit).toBeUndefined();
    expect(remote.refs()).toBe(refsBefore);
    expect(formatPromotion(result).split("\n")[0]).toBe(
      "prod already runs what staging runs: nothing to promote, nothing committed.",
    );
  });

  it("plans without writing anything on a dry run", async () => {
    const remote = gitRemoteResource();
    const refsBefore = remote.refs();
    const result = await promoteEnvironment({
      repo: remote.clone,
      from: "staging",
      to: "prod",
      force: true,
      dryRun: true,
    });
    expect(result.status).toBe("planned");
    expect(result.images.filter((i) => i.change === "updated").map((i) => i.name)).toEqual(["cartservice", "frontend"]);
    expect(remote.refs()).toBe(refsBefore);
  });
  it("stops with the signal's reason when aborted, pushing nothing", async () => {
    const { remote } = approvedRepo();
    const refsBefore = remote.refs();
    const controller = new AbortController();
    controller.abort(new Error("user pressed Ctrl-C"));
    await expect(
      promoteEnvironment({
        repo: remote.clone,
        from: "staging",
        to: "prod",
        delivery: "push",
        signal: controller.signal,
      }),
    ).rejects.toThrow("user pressed Ctrl-C");
    expect(remote.refs()).toBe(refsBefore);
  });
  it("finds overlays named kustomization.yml, as kustomize does", async () => {
    const remote = gitRemoteResource({
      files: {
        "deploy/staging/kustomization.yml": STAGING_KUSTOMIZATION,
        "deploy/prod/kustomization.yml": PROD_KUSTOMIZATION,
      },
    });
    const result = await promoteEnvironment({
      repo: remote.clone,
      from: "staging",
      to: "prod",
      overlaysDir: "deploy",
      force: true,
      delivery: "push",
      author: DEVELOPER,
    });
    expect(result.overlay).toBe("deploy/prod/kustomization.yml");
    expect(remote.show("main", "deploy/prod/kustomization.yml")).toBe(PROD_KUSTOMIZATION_PROMOTED);
  });
  it("reruns after GitHub failed by opening the pull request for the branch already pushed", async () => {
    const { remote } = approvedRepo();
    const down = await gitHubServerResource(() => ({ status: 502, body: { message: "Server Error" } }));
    const options = {
      repo: remote.clone,
      from: "staging",
      to: "prod",
      author: DEVELOPER,
      github: { token: TOKEN, owner: "acme", repo: "gitops" },
    };
    const failed = await promoteEnvironment({ ...options, github: { ...options.github, baseUrl: down.baseUrl } }).catch(
      (e: unknown) => e as PromotionError,
    );
    expect(failed).toBeInstanceOf(PromotionError);
    expect((failed as PromotionError).hint).toContain("run again to open the pull request for it");
    const branch = String((failed as PromotionError).details.branch);
    const pushed = remote.remoteGit(["rev-parse", branch]).trim();

    const up = await gitHubServerResource();
    const result = await promoteEnvironment({ ...options, github: { ...options.github, baseUrl: up.baseUrl } });
    expect(result).toMatchObject({ status: "pull-request", branch, commit: pushed });
    expect(remote.remoteGit(["rev-parse", branch]).trim()).toBe(pushed);
    expect(up.requests.map((r) => [r.method, r.path, (r.body as { head: string }).head])).toEqual([
      ["POST", "/repos/acme/gitops/pulls", branch],
    ]);
  });
  it("finds the approval among tags on commits that had no staging overlay yet", async () => {
    const { "kustomize/staging/kustomization.yaml": staging, ...withoutStaging } = OVERLAYS;
    const remote = gitRemoteResource({ files: withoutStaging });
    const before = remote.remoteGit(["rev-parse", "main"]).trim();
    const current = remote.commitOnRemote({ "kustomize/staging/kustomization.yaml": staging }, "Add staging");
    const sign = signedTagArgs(signingKeys().qa);
    remote.remoteGit([
      ...sign,
      "tag",
      "-s",
      "qa-approved/staging/early",
      "-m",
      "approved before staging existed",
      before,
    ]);
    remote.remoteGit([
      ...sign,
      "tag",
      "-s",
      `qa-approved/staging/${current.slice(0, 12)}`,
      "-m",
      "QA approved staging",
      current,
    ]);
    const result = await promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", dryRun: true });
    expect(result.approval?.tag).toBe(`qa-approved/staging/${current.slice(0, 12)}`);
  });
});
