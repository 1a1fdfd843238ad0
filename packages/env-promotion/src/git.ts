/**
 * The git side of promotion, over simple-git (the user's own git binary, config, credential helpers and hooks).
 * Work happens in a throw-away worktree, so the user's checkout, index and stash are never touched.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SimpleGit, simpleGit } from "simple-git";
import { PromotionError, type PromotionErrorCode } from "./errors.js";
import { redact, redactedCause } from "./redact.js";

/** Who commits, tags or approves. Without it, git's own configuration (user.name, user.email) is used. */
export interface Identity {
  name: string;
  email: string;
}

export interface GitRepo {
  readonly dir: string;
  /** Runs `git <args>` in the repository; failures become a PromotionError with a redacted message. */
  run(args: string[], failure?: Failure): Promise<string>;
  /** The same, for a worktree or other directory, with the same environment. */
  runIn(dir: string, args: string[], failure?: Failure): Promise<string>;
  redact(text: string): string;
}

export interface Failure {
  code?: PromotionErrorCode;
  problem?: string;
  hint?: string;
  details?: Record<string, unknown>;
}

/**
 * simple-git refuses a whole list of environment variables (EDITOR, PAGER, GIT_SSH_COMMAND, GIT_ASKPASS, ...)
 * because a caller could inject them. Ours come only from the user's own process environment, and every argument
 * list we pass is fixed in this package, so those checks are turned off for the environment and nothing else.
 */
const USER_ENVIRONMENT_IS_TRUSTED = {
  allowUnsafeEditor: true,
  allowUnsafeAskPass: true,
  allowUnsafeConfigPaths: true,
  allowUnsafeConfigEnvCount: true,
  allowUnsafeDiffExternal: true,
  allowUnsafePager: true,
  allowUnsafeGitProxy: true,
  allowUnsafeTemplateDir: true,
  allowUnsafeSshCommand: true,
} as const;

export interface OpenRepoOptions {
  identity?: Identity;
  /** Extra secrets (tokens) to scrub from every message, besides credentials inside URLs. */
  secrets?: (string | undefined)[];
  signal?: AbortSignal;
}

export function openRepo(dir: string, options: OpenRepoOptions = {}): GitRepo {
  const secrets = options.secrets ?? [];
  const env: Record<string, string | undefined> = {
    ...process.env,
    // Never wait for a password on a terminal nobody watches; and read git's messages in one language.
    GIT_TERMINAL_PROMPT: "0",
    LC_ALL: "C",
    LANGUAGE: "C",
  };
  if (options.identity) {
    env.GIT_AUTHOR_NAME = options.identity.name;
    env.GIT_AUTHOR_EMAIL = options.identity.email;
    env.GIT_COMMITTER_NAME = options.identity.name;
    env.GIT_COMMITTER_EMAIL = options.identity.email;
  }
  const clients = new Map<string, SimpleGit>();
  const client = (baseDir: string) => {
    let git = clients.get(baseDir);
    if (!git) {
      git = simpleGit({
        baseDir,
        unsafe: USER_ENVIRONMENT_IS_TRUSTED,
        ...(options.signal ? { abort: options.signal } : {}),
      }).env(env);
      clients.set(baseDir, git);
    }
    return git;
  };
  const clean = (text: string) => redact(text, secrets);
  const runIn = async (baseDir: string, args: string[], failure: Failure = {}) => {
    // An aborted operation stops before its next git command, with the signal's reason as AbortSignal users expect.
    options.signal?.throwIfAborted();
    try {
      return await client(baseDir).raw(args);
    } catch (error) {
      options.signal?.throwIfAborted();
      throw gitFailure(args, error, failure, clean, secrets);
    }
  };
  return {
    dir,
    run: (args, failure) => runIn(dir, args, failure),
    runIn,
    redact: clean,
  };
}

function gitFailure(
  args: string[],
  error: unknown,
  failure: Failure,
  clean: (text: string) => string,
  secrets: (string | undefined)[],
): PromotionError {
  const output = clean(error instanceof Error ? error.message : String(error)).trim();
  if (/Please tell me who you are|empty ident name|unable to auto-detect email/i.test(output)) {
    return new PromotionError(
      "GIT_FAILED",
      "git does not know who is committing.",
      'pass author: { name, email }, or run git config user.name "..." and git config user.email "...".',
      {},
      { cause: redactedCause(error, secrets) },
    );
  }
  const problem = failure.problem ?? `git ${args[0]} failed.`;
  return new PromotionError(
    failure.code ?? "GIT_FAILED",
    `${problem}\n  git said: ${output.split("\n").join("\n    ")}`,
    failure.hint ?? "fix what git reports above and run again.",
    failure.details ?? {},
    { cause: redactedCause(error, secrets) },
  );
}

/** Checks that `repo` is a git repository with the given remote. */
export async function checkRepo(repo: GitRepo, remote: string): Promise<void> {
  const remotes = (
    await repo.run(["remote"], {
      code: "NOT_A_GIT_REPO",
      problem: `${repo.dir} is not a git repository.`,
      hint: "pass repo: the path of a clone of your GitOps repository.",
    })
  )
    .split("\n")
    .filter(Boolean);
  if (!remotes.includes(remote)) {
    throw new PromotionError(
      "INVALID_OPTIONS",
      `The repository has no remote named "${remote}"${remotes.length ? ` (it has ${remotes.join(", ")})` : ""}.`,
      `pass remote: one of its remotes, or add one with git remote add ${remote} <url>.`,
      { remote },
    );
  }
}

/** Brings `<remote>/<base>` (and any extra refspecs) up to date and returns the commit it points at. */
export async function fetchBase(repo: GitRepo, remote: string, base: string, extra: string[] = []): Promise<string> {
  const tracking = `refs/remotes/${remote}/${base}`;
  try {
    // --prune drops local copies of refs the extra refspecs cover (approval tags) that the remote no longer has:
    // deleting an approval tag on the remote revokes it everywhere.
    const prune = extra.length ? ["--prune"] : [];
    await repo.run(["fetch", "--quiet", "--no-tags", ...prune, remote, `+refs/heads/${base}:${tracking}`, ...extra], {
      code: "REMOTE_FAILED",
      problem: `Could not fetch ${base} from "${remote}".`,
      hint: "check the network and your git credentials for this remote, then run again.",
      details: { remote, branch: base },
    });
  } catch (error) {
    if (error instanceof PromotionError && /couldn't find remote ref/i.test(error.message)) {
      throw new PromotionError(
        "BRANCH_NOT_FOUND",
        `The remote "${remote}" has no branch "${base}".`,
        "pass base: the branch your GitOps tool deploys from (often main).",
        { remote, branch: base },
        { cause: error },
      );
    }
    throw error;
  }
  return (await repo.run(["rev-parse", `${tracking}^{commit}`])).trim();
}

/** A temporary worktree checked out (detached) at `commit`, removed with everything in it on dispose. */
export interface Worktree {
  readonly dir: string;
  remove(): Promise<void>;
}

export async function addWorktree(repo: GitRepo, commit: string): Promise<Worktree> {
  const dir = await mkdtemp(join(tmpdir(), "rollway-promote-"));
  const cleanup = simpleGit({ baseDir: repo.dir, unsafe: USER_ENVIRONMENT_IS_TRUSTED });
  try {
    await repo.run(["worktree", "add", "--quiet", "--detach", dir, commit]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    async remove() {
      // Cleanup must run even after an abort, so it does not go through the signal-aware client.
      const removed = await cleanup.raw(["worktree", "remove", "--force", dir]).then(
        () => true,
        () => false,
      );
      await rm(dir, { recursive: true, force: true });
      if (!removed) await cleanup.raw(["worktree", "prune"]).catch(() => undefined);
    },
  };
}

/** The commit `branch` points at on the remote, or `undefined` when the remote has no such branch. */
export async function remoteBranchHead(repo: GitRepo, remote: string, branch: string): Promise<string | undefined> {
  const out = await repo.run(["ls-remote", "--heads", remote, `refs/heads/${branch}`], {
    code: "REMOTE_FAILED",
    problem: `Could not reach the remote "${remote}".`,
    hint: "check the network and your git credentials for this remote, then run again.",
    details: { remote },
  });
  return out.trim().split(/\s+/)[0] || undefined;
}

export async function push(repo: GitRepo, remote: string, source: string, branch: string, hint: string): Promise<void> {
  await repo.run(["push", "--quiet", "--porcelain", remote, `${source}:refs/heads/${branch}`], {
    code: "PUSH_REJECTED",
    problem: `The remote "${remote}" refused the push to ${branch}.`,
    hint,
    details: { remote, branch },
  });
}
