/**
 * What the QA approval check costs as approvals pile up: a dry-run promotion (fetch, read both overlays, plan,
 * look for an approval) on a repository with 1 approval tag against one with 100, none of which covers the release
 * being promoted, so every one of them is examined (the worst case; APPROVALS_CHECKED caps it at 100).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, bench, describe } from "vitest";
import { PROD_KUSTOMIZATION, STAGING_KUSTOMIZATION } from "../src/__tests__/fixtures.js";
import { promoteEnvironment } from "../src/promote.js";

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "Bench",
  GIT_AUTHOR_EMAIL: "bench@example.com",
  GIT_COMMITTER_NAME: "Bench",
  GIT_COMMITTER_EMAIL: "bench@example.com",
};
const git = (cwd: string, args: string[]) => execFileSync("git", args, { cwd, env, encoding: "utf8" });
const roots: string[] = [];

function repositoryWithApprovals(count: number): string {
  const root = mkdtempSync(join(tmpdir(), "rollway-env-promotion-bench-"));
  roots.push(root);
  const seed = join(root, "seed");
  git(root, ["init", "--quiet", "--bare", "--initial-branch=main", "remote.git"]);
  git(root, ["init", "--quiet", "--initial-branch=main", seed]);
  mkdirSync(join(seed, "kustomize/staging"), { recursive: true });
  mkdirSync(join(seed, "kustomize/prod"), { recursive: true });
  writeFileSync(join(seed, "kustomize/prod/kustomization.yaml"), PROD_KUSTOMIZATION);
  for (let i = 0; i <= count; i++) {
    // Release i is approved; the last one (i === count) is not.
    writeFileSync(
      join(seed, "kustomize/staging/kustomization.yaml"),
      STAGING_KUSTOMIZATION.replace("v1.0.0", `v1.0.${100 + i}`),
    );
    git(seed, ["add", "."]);
    git(seed, ["commit", "--quiet", "-m", `staging release ${i}`]);
    if (i < count) git(seed, ["tag", "-a", `qa-approved/staging/release-${i}`, "-m", "QA approved"]);
  }
  git(seed, ["push", "--quiet", "--follow-tags", join(root, "remote.git"), "main"]);
  git(root, ["clone", "--quiet", join(root, "remote.git"), "clone"]);
  return join(root, "clone");
}

const one = repositoryWithApprovals(1);
const hundred = repositoryWithApprovals(100);

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe("dry-run promotion, unapproved release (forced), all approvals examined", () => {
  bench("1 approval tag", async () => {
    await promoteEnvironment({ repo: one, from: "staging", to: "prod", force: true, dryRun: true });
  });
  bench("100 approval tags", async () => {
    await promoteEnvironment({ repo: hundred, from: "staging", to: "prod", force: true, dryRun: true });
  });
});
