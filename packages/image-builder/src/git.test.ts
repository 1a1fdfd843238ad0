import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test/temp-dir.js";
import { ImageBuildError } from "./errors.js";
import { readGitRevision } from "./git.js";

async function repo(): Promise<{ dir: string; git: (...args: string[]) => string }> {
  const dir = await tempDir();
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir })
      .toString()
      .trim();
  git("init", "-q", "-b", "feature/login");
  await writeFile(join(dir, "a.txt"), "a");
  git("add", "a.txt");
  git("commit", "-q", "-m", "first");
  return { dir, git };
}

describe("readGitRevision", () => {
  it("reads branch, commit, tag and origin from the repository", async () => {
    const { dir, git } = await repo();
    git("tag", "v1.0_rc1");
    git("remote", "add", "origin", "https://oauth2:SECRET@gitlab.example.com/team/app.git");
    const sha = git("rev-parse", "HEAD");
    expect(await readGitRevision(dir, {})).toEqual({
      ref: "feature/login",
      sha,
      tag: "v1.0_rc1",
      source: "https://oauth2:SECRET@gitlab.example.com/team/app.git",
    });
  });

  it("takes GitLab's CI variables over git, as the seed's CI does", async () => {
    const { dir } = await repo();
    const env = { CI_COMMIT_REF_NAME: "master", CI_COMMIT_SHA: "a".repeat(40), CI_COMMIT_TAG: "v2" };
    expect(await readGitRevision(dir, env)).toMatchObject({ ref: "master", sha: "a".repeat(40), tag: "v2" });
  });

  it("has no tag when none points at the commit", async () => {
    const { dir } = await repo();
    expect((await readGitRevision(dir, {})).tag).toBeUndefined();
  });

  it("names the ref after the tag on a detached, tagged HEAD, and refuses a detached untagged one", async () => {
    const { dir, git } = await repo();
    git("tag", "v3");
    git("checkout", "-q", "--detach");
    expect((await readGitRevision(dir, {})).ref).toBe("v3");
    git("tag", "-d", "v3");
    const error = await readGitRevision(dir, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as ImageBuildError).message).toContain("HEAD is detached and not tagged");
  });

  it("says what failed outside a repository", async () => {
    const dir = await tempDir();
    const error = await readGitRevision(dir, {}).catch((e: unknown) => e);
    expect((error as ImageBuildError).code).toBe("GIT_FAILED");
    expect((error as ImageBuildError).message).toContain("git rev-parse HEAD failed");
  });
});
