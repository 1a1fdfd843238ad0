/**
 * The git side of a snapshot, with simple-git over the real git binary: shallow clone of one branch, commit only
 * when the patches changed, push, and on a refused push fetch, rebase and push again, a bounded number of times.
 *
 * Credentials never reach argv, `.git/config` or a message: the `user:token` of an `https://` URL is split off and
 * given to git as an `http.extraHeader` through `GIT_CONFIG_*` environment variables, and every text git prints is
 * redacted before it becomes an event or an error.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import lockfile from "proper-lockfile";
import { type SimpleGit, simpleGit } from "simple-git";
import { SnapshooterError } from "./errors.js";
import { basicAuthorization, createRedactor, redactUrlCredentials, splitCredentials } from "./redact.js";
import { type DeletionGuard, type FileChanges, type PatchFileSet, syncPatchFiles } from "./write.js";

/** What each step runs, so a reader sees what reaches the remote. */
export const CLONE_ARGS = (branch: string) => ["--depth", "1", "--branch", branch, "--single-branch", "--no-tags"];
export const PUSH_ARGS = (branch: string) => ["push", "origin", `HEAD:refs/heads/${branch}`];
export const FETCH_ARGS = (branch: string) => [
  "fetch",
  "--no-tags",
  "origin",
  `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
];

export const DEFAULT_AUTHOR = { name: "rollway snapshooter", email: "snapshooter@rollway.invalid" };
export const DEFAULT_MAX_PUSH_ATTEMPTS = 4;
/** A git process silent for this long is killed: an unattended run must end. */
const SILENCE_TIMEOUT_MS = 5 * 60_000;

// Environment variables simple-git refuses (they can run programs); a cron job's environment may hold some of them
// (PAGER, EDITOR) for reasons unrelated to us, so they are left out rather than failing every run.
const DROPPED_ENV =
  /^(editor|pager|git_pager|git_editor|git_sequence_editor|git_askpass|ssh_askpass|git_external_diff|git_proxy_command|git_template_dir|git_exec_path|prefix|git_config|git_config_global|git_config_system)$/i;

export type GitEvent =
  | { type: "cloned"; entry: string; checkout: string }
  | { type: "committed"; entry: string; sha: string }
  | { type: "push-refused"; entry: string; attempt: number; reason: string }
  /** Our snapshot commit, re-made on top of the remote's new tip, about to be pushed again. */
  | { type: "caught-up"; entry: string; sha: string; how: "rebase" | "rewrite" }
  | { type: "pushed"; entry: string; sha: string; attempts: number };

export interface GitTarget {
  repo: string;
  branch: string;
}

export interface GitSnapshotResult {
  changes: FileChanges;
  commit: string | null;
  pushed: boolean;
  pushAttempts: number;
}

export interface GitSnapshotOptions {
  entry: string;
  target: GitTarget;
  outputDir: string;
  /** Relative path → content (text, or its UTF-8 bytes); see `PatchFileSet`. */
  files: PatchFileSet;
  commitMessage: string;
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Where checkouts live; each repo and branch gets its own folder (and lock) inside. Default: the OS temp dir. */
  workDir?: string;
  author?: { name: string; email: string };
  maxPushAttempts?: number;
  /** Checked against the branch as cloned, before anything is committed. */
  guard?: DeletionGuard | undefined;
  onEvent?: (event: GitEvent) => void;
}

/** The checkout folder for a repo and branch: stable, so two runs on one checkout meet at its lock. */
export function checkoutDirFor(target: GitTarget, workDir = path.join(os.tmpdir(), "rollway-snapshooter")): string {
  const id = createHash("sha256")
    .update(`${splitCredentials(target.repo).url}\n${target.branch}`)
    .digest("hex")
    .slice(0, 16);
  return path.join(workDir, id);
}

function gitEnv(credentials: { user: string; password: string } | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !DROPPED_ENV.test(key)) env[key] = value;
  }
  env.GIT_TERMINAL_PROMPT = "0";
  const count = Number.parseInt(env.GIT_CONFIG_COUNT ?? "0", 10) || 0;
  let n = count;
  const add = (key: string, value: string) => {
    env[`GIT_CONFIG_KEY_${n}`] = key;
    env[`GIT_CONFIG_VALUE_${n}`] = value;
    n++;
  };
  add("advice.detachedHead", "false");
  if (credentials) add("http.extraHeader", `Authorization: ${basicAuthorization(credentials)}`);
  env.GIT_CONFIG_COUNT = String(n);
  return env;
}

class Git {
  readonly redact: (text: string) => string;
  readonly url: string;
  private readonly env: Record<string, string>;

  constructor(
    readonly target: GitTarget,
    readonly entry: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    const split = splitCredentials(target.repo);
    this.url = split.url;
    this.env = gitEnv(split.credentials);
    this.redact = createRedactor([target.repo]);
  }

  at(baseDir: string): SimpleGit {
    return simpleGit({
      baseDir,
      maxConcurrentProcesses: 1,
      timeout: { block: SILENCE_TIMEOUT_MS },
      unsafe: { allowUnsafeConfigEnvCount: true, allowUnsafeSshCommand: true },
      ...(this.signal ? { abort: this.signal } : {}),
    }).env(this.env);
  }

  /**
   * `git push`, in a process group of its own that an abort kills whole: git hands the upload to a helper
   * (`git-remote-http`, `ssh`) that outlives a killed `git` and would land the push after rollway has reported and
   * ended. Resolves when every process of the group is gone.
   */
  push(baseDir: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.signal?.aborted) return reject(new Error("aborted before the push"));
      const child = spawn("git", args, {
        cwd: baseDir,
        env: this.env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => {
        output += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        output += d.toString();
      });
      const killGroup = (signal: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, signal);
        } catch {
          // Already gone.
        }
      };
      let hardKill: NodeJS.Timeout | undefined;
      const onAbort = () => {
        killGroup("SIGTERM");
        hardKill = setTimeout(() => killGroup("SIGKILL"), 2_000);
      };
      const silence = setTimeout(onAbort, SILENCE_TIMEOUT_MS);
      this.signal?.addEventListener("abort", onAbort, { once: true });
      child.once("error", (error) => {
        this.signal?.removeEventListener("abort", onAbort);
        clearTimeout(silence);
        reject(error);
      });
      child.once("close", (code, signal) => {
        this.signal?.removeEventListener("abort", onAbort);
        clearTimeout(silence);
        // The helper may still be exiting: make sure nothing of the group is left.
        killGroup("SIGKILL");
        if (hardKill) clearTimeout(hardKill);
        if (code === 0) resolve();
        else reject(new Error(output || `git push ended by ${signal ?? `exit code ${code}`}`));
      });
    });
  }

  /** The commit the remote's branch points at, or undefined when it cannot be read (quick, not abortable). */
  async remoteTip(baseDir: string): Promise<string | undefined> {
    const plain = simpleGit({ baseDir, timeout: { block: 20_000 }, unsafe: { allowUnsafeConfigEnvCount: true } }).env(
      this.env,
    );
    const out = await plain.raw(["ls-remote", "origin", `refs/heads/${this.target.branch}`]).catch(() => "");
    return out.split(/\s/)[0] || undefined;
  }

  /** Runs one git step; any failure becomes a SnapshooterError holding only redacted text. */
  async step<T>(name: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.failure(name, error);
    }
  }

  failure(name: string, error: unknown): SnapshooterError {
    if (this.signal?.aborted) return new SnapshooterError("ABORTED", "the snapshot was aborted", { entry: this.entry });
    const raw = error instanceof Error ? error.message : String(error);
    const text =
      this.redact(raw)
        .split("\n")
        .filter((line) => !/^(Cloning into|To |hint: )/.test(line.trim()) && line.trim() !== "")
        .join("\n")
        .trim() || "git failed without a message";
    const where = redactUrlCredentials(this.url);
    return new SnapshooterError("GIT_FAILED", `git ${name} failed for ${where} (branch ${this.target.branch})`, {
      entry: this.entry,
      problems: [{ path: `git ${name}`, message: hintFor(text) }],
    });
  }
}

function hintFor(text: string): string {
  if (/Remote branch .* not found|couldn't find remote ref/i.test(text)) {
    return `${text}\n(the branch must exist on the remote; create it once by hand)`;
  }
  if (/Authentication failed|could not read (Username|Password)|\b40[13]\b/i.test(text)) {
    return `${text}\n(the remote refused the credentials: check the token in git.repo; it needs read and write access)`;
  }
  return text;
}

// Refused because the branch moved on, and only that: before the push (`[rejected] … (fetch first)`), or between the
// remote's ref advertisement and its ref update (`[remote rejected] … (failed to update ref)`, git's own race on a
// busy remote). A hook's "[remote rejected] … (pre-receive hook declined)" is a plain failure.
const REFUSED =
  /\[rejected\][^\n]*\((?:fetch first|non-fast-forward)\)|\[remote rejected\][^\n]*\((?:failed to update ref|failed to lock|cannot lock ref[^)]*)\)/i;

/** Runs `run` holding the lock of `checkout` (a folder); another holder makes it fail with LOCKED at once. */
export async function withLock<T>(checkout: string, entry: string, run: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(checkout), { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(checkout, {
      realpath: false,
      lockfilePath: `${checkout}.lock`,
      stale: 30_000,
      update: 5_000,
      retries: 0,
      onCompromised: () => undefined,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOCKED") {
      throw new SnapshooterError("LOCKED", `another snapshot run holds ${checkout}`, {
        entry,
        problems: [
          {
            path: `${checkout}.lock`,
            message: "held by a running snapshot; this run changed nothing, try again later",
          },
        ],
      });
    }
    throw error;
  }
  try {
    return await run();
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * Clones `target` (shallow, one branch) into its checkout folder under a lock, writes the patches into
 * `outputDir` there, and commits and pushes when they changed. The checkout is removed afterwards, so no run
 * depends on what an earlier one left.
 */
export async function snapshotToGit(options: GitSnapshotOptions): Promise<GitSnapshotResult> {
  const { entry, target, files, signal } = options;
  const git = new Git(target, entry, signal);
  const checkout = checkoutDirFor(target, options.workDir);
  const outputDir = path.join(checkout, options.outputDir);
  const emit = options.onEvent ?? (() => undefined);
  const maxAttempts = Math.max(1, options.maxPushAttempts ?? DEFAULT_MAX_PUSH_ATTEMPTS);

  return withLock(checkout, entry, async () => {
    try {
      await rm(checkout, { recursive: true, force: true });
      await git.step("clone", () => git.at(path.dirname(checkout)).clone(git.url, checkout, CLONE_ARGS(target.branch)));
      emit({ type: "cloned", entry, checkout });
      const repo = git.at(checkout);

      const changes = await syncPatchFiles(outputDir, files, {
        ...(options.dryRun ? { dryRun: true } : {}),
        signal,
        guard: options.guard,
      });
      if (options.dryRun) return { changes, commit: null, pushed: false, pushAttempts: 0 };

      const hasIdentity = await repo.raw(["config", "user.email"]).then(
        (v) => v.trim() !== "",
        () => false,
      );
      if (!hasIdentity || options.author) {
        const author = options.author ?? DEFAULT_AUTHOR;
        await git.step("config", async () => {
          await repo.addConfig("user.name", author.name);
          await repo.addConfig("user.email", author.email);
        });
      }

      const commitIfChanged = async (): Promise<string | null> => {
        await git.step("add", () => repo.raw(["add", "-A", "--", options.outputDir]));
        const staged = await git.step("diff", () =>
          repo.raw(["diff", "--cached", "--name-only", "--", options.outputDir]),
        );
        if (staged.trim() === "") return null;
        await git.step("commit", () => repo.raw(["commit", "--quiet", "--no-verify", "-m", options.commitMessage]));
        const sha = (await git.step("rev-parse", () => repo.revparse(["HEAD"]))).trim();
        emit({ type: "committed", entry, sha });
        return sha;
      };

      let commit = await commitIfChanged();
      if (commit === null) return { changes, commit: null, pushed: false, pushAttempts: 0 };

      for (let attempt = 1; ; attempt++) {
        try {
          await git.push(checkout, PUSH_ARGS(target.branch));
          emit({ type: "pushed", entry, sha: commit, attempts: attempt });
          return { changes, commit, pushed: true, pushAttempts: attempt };
        } catch (error) {
          if (signal?.aborted) {
            // The remote may have taken the push before the abort reached it: say what is true.
            const tip = await git.remoteTip(checkout);
            if (tip === commit) {
              emit({ type: "pushed", entry, sha: commit, attempts: attempt });
              return { changes, commit, pushed: true, pushAttempts: attempt };
            }
            throw new SnapshooterError(
              "ABORTED",
              "the snapshot was aborted during the push; the remote branch did not move",
              { entry },
            );
          }
          const failure = git.failure("push", error);
          const said = git.redact(error instanceof Error ? error.message : String(error));
          if (failure.code !== "GIT_FAILED" || !REFUSED.test(said)) throw failure;
          emit({ type: "push-refused", entry, attempt, reason: "the remote branch moved on" });
          if (attempt >= maxAttempts) {
            throw new SnapshooterError(
              "PUSH_REJECTED",
              `the push to ${redactUrlCredentials(git.url)} (branch ${target.branch}) was refused ${attempt} times: the branch keeps moving`,
              { entry, problems: [{ path: "git push", message: "nothing was lost: the next run snapshots again" }] },
            );
          }
        }
        const caughtUp = await catchUp(git, repo, outputDir, options, commitIfChanged);
        if (caughtUp.sha === null) return { changes, commit: null, pushed: false, pushAttempts: attempt };
        commit = caughtUp.sha;
        emit({ type: "caught-up", entry, sha: commit, how: caughtUp.how });
      }
    } finally {
      await rm(checkout, { recursive: true, force: true }).catch(() => undefined);
    }
  });
}

/**
 * After a refused push: fetch the branch, rebase our commit onto it, then make sure the patches are still exactly
 * our snapshot (a textual rebase may merge in someone else's patch edits). When the rebase cannot apply, start over
 * from the remote tip and write the snapshot again; the snapshot is the whole truth of outputDir, so nothing is lost.
 * Returns the commit to push, or null when the remote already holds this very snapshot.
 */
async function catchUp(
  git: Git,
  repo: SimpleGit,
  outputDir: string,
  options: GitSnapshotOptions,
  commitIfChanged: () => Promise<string | null>,
): Promise<{ sha: string | null; how: "rebase" | "rewrite" }> {
  const upstream = `origin/${options.target.branch}`;
  await git.step("fetch", () => repo.raw(FETCH_ARGS(options.target.branch)));
  const rebased = await repo.raw(["rebase", "--quiet", upstream]).then(
    () => true,
    async () => {
      await repo.raw(["rebase", "--abort"]).catch(() => undefined);
      return false;
    },
  );
  if (!rebased) await git.step("reset", () => repo.raw(["reset", "--quiet", "--hard", upstream]));
  await syncPatchFiles(outputDir, options.files, options.signal ? { signal: options.signal } : {});
  if (rebased) {
    // Our commit is on top; fold any difference the rebase brought into it.
    await git.step("add", () => repo.raw(["add", "-A", "--", options.outputDir]));
    const staged = await git.step("diff", () => repo.raw(["diff", "--cached", "--name-only", "--", options.outputDir]));
    if (staged.trim() !== "")
      await git.step("commit", () => repo.raw(["commit", "--quiet", "--no-verify", "--amend", "--no-edit"]));
    const ahead = await git.step("rev-list", () => repo.raw(["rev-list", "--count", `${upstream}..HEAD`]));
    if (ahead.trim() === "0") return { sha: null, how: "rebase" };
    return { sha: (await git.step("rev-parse", () => repo.revparse(["HEAD"]))).trim(), how: "rebase" };
  }
  return { sha: await commitIfChanged(), how: "rewrite" };
}
