/**
 * The revision a build is for, as the seed's CI variables give it: GitLab's `CI_COMMIT_REF_NAME`, `CI_COMMIT_SHA` and
 * `CI_COMMIT_TAG` (or GitHub's `GITHUB_REF_NAME`, `GITHUB_SHA`) when set, else asked of git in the project folder.
 */
import { execFile } from "node:child_process";
import { imageBuildError } from "./errors.js";
import type { GitRevision } from "./tags.js";

export interface GitRevisionInfo extends GitRevision {
  /** `remote.origin.url`, for the OCI source label (credentials in it are removed when labelled). */
  source?: string | undefined;
}

export async function readGitRevision(
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GitRevisionInfo> {
  const git = (args: string[]) => runGit(projectDir, args);
  const sha = env.CI_COMMIT_SHA || env.GITHUB_SHA || (await git(["rev-parse", "HEAD"]));
  const tag =
    env.CI_COMMIT_TAG ||
    (env.GITHUB_REF_TYPE === "tag" ? env.GITHUB_REF_NAME : undefined) ||
    (await git(["tag", "--points-at", sha, "--sort=-creatordate"]).then((out) => out.split("\n")[0] || undefined));
  let ref = env.CI_COMMIT_REF_NAME || env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || "";
  if (!ref) {
    const branch = await git(["rev-parse", "--abbrev-ref", "HEAD"]);
    ref = branch !== "HEAD" ? branch : (tag ?? "");
  }
  if (!ref) {
    throw imageBuildError(
      "GIT_FAILED",
      projectDir,
      "HEAD is detached and not tagged, so there is no ref to name the images after; check out a branch or pass git.ref",
    );
  }
  const source = await git(["config", "--get", "remote.origin.url"]).catch(() => undefined);
  return { ref, sha, tag, source: source || undefined };
}

function runGit(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout.trim());
      reject(
        imageBuildError("GIT_FAILED", cwd, `git ${args.join(" ")} failed: ${stderr.trim() || error.message}`, {
          cause: error,
        }),
      );
    });
  });
}
