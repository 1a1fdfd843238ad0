/** What promotion and rollback share: the result type, and getting a commit to the remote (branch + PR, or push). */
import type { Approval } from "./approval.js";
import { PromotionError, type PromotionErrorCode } from "./errors.js";
import { type GitRepo, push, remoteBranchHead } from "./git.js";
import { type GitHubTarget, openPullRequest, type PullRequest } from "./github.js";
import { formatImageReference, type OverlayImage } from "./kustomization.js";
import type { WaitResult } from "./wait.js";

export type ChangeKind = "updated" | "added" | "removed" | "unchanged";

/** One image of the target overlay, before and after. */
export interface ImageRow {
  name: string;
  before: OverlayImage | null;
  after: OverlayImage | null;
  change: ChangeKind;
}

export interface PromotionResult {
  action: "promote" | "revert";
  /**
   * `up-to-date`: nothing to change, nothing committed. `planned`: dry run. `pull-request`: branch pushed and
   * pull request opened. `pushed`: committed straight onto `base`.
   */
  status: "up-to-date" | "planned" | "pull-request" | "pushed";
  /** The environment promoted from (for a rollback, the one the reverted promotion came from). */
  from: string;
  to: string;
  base: string;
  remote: string;
  /** The target overlay's kustomization file. */
  overlay: string;
  /** The commit of `base` the change was made on. */
  baseCommit: string;
  images: ImageRow[];
  /** Images the target pins that the source does not mention, left as they are. */
  untouched: string[];
  /** The QA approval the promotion relied on; `null` for a rollback or a forced promotion without one. */
  approval: Approval | null;
  /** True when a promotion went ahead without a QA approval because `force` was set. */
  forced: boolean;
  /** Dry run only: the real run would be refused, with this error (no approval, or none that can be trusted). */
  wouldRefuse?: { code: PromotionErrorCode; reason: string };
  /** The promotion commit a rollback reverted. */
  reverted?: string;
  commit?: string;
  branch?: string;
  pullRequest?: PullRequest;
  /** Whether `from` was checked healthy before promoting (the checks' names), or the check skipped on purpose. */
  sourceHealth?: { skipped: boolean; checks: string[] };
  /** Set when asked to wait: the promotion is merged, and (with Argo CD) synced and Healthy in `to`. */
  live?: WaitResult;
  /** The commit message (also the pull request's title and body). */
  message?: string;
}

export function describeImage(image: OverlayImage | null, env: string): string {
  return image ? formatImageReference(image) : `(not in ${env})`;
}

export function imageLines(rows: readonly ImageRow[], to: string): string[] {
  return rows
    .filter((row) => row.change !== "unchanged")
    .map((row) => `${row.name}: ${describeImage(row.before, to)} → ${describeImage(row.after, to)}`);
}

export interface Delivery {
  repo: GitRepo;
  worktree: string;
  remote: string;
  base: string;
  mode: "pull-request" | "push";
  branch: string;
  message: string;
  github: GitHubTarget | undefined;
  signal?: AbortSignal;
}

/**
 * Refuses a branch that already exists on the remote, unless it holds exactly the change about to be made (one
 * commit on `baseCommit` changing only `path` to `text`): then it is a rerun after a failure (GitHub down when the
 * pull request was to be opened), and the existing commit is returned so the pull request can be opened for it.
 */
export async function claimBranch(
  repo: GitRepo,
  remote: string,
  branch: string,
  expected: { baseCommit: string; files: ReadonlyMap<string, string> },
): Promise<string | undefined> {
  const head = await remoteBranchHead(repo, remote, branch);
  if (!head) return undefined;
  await repo.run(["fetch", "--quiet", "--no-tags", remote, `refs/heads/${branch}`]);
  const fetched = (await repo.run(["rev-parse", "FETCH_HEAD^{commit}"])).trim();
  const parent = (await repo.run(["rev-parse", `${fetched}^`]).catch(() => "")).trim();
  const changed = (await repo.run(["diff", "--name-only", expected.baseCommit, fetched])).split("\n").filter(Boolean);
  let same =
    parent === expected.baseCommit && changed.sort().join("\n") === [...expected.files.keys()].sort().join("\n");
  for (const [path, text] of expected.files) {
    if (!same) break;
    same = (await repo.run(["show", `${fetched}:${path}`]).catch(() => undefined)) === text;
  }
  if (same) return fetched;
  throw new PromotionError(
    "BRANCH_EXISTS",
    `The branch ${branch} already exists on "${remote}" with other changes.`,
    `review or close its pull request and delete the branch (git push ${remote} --delete ${branch}), or pass another branch.`,
    { remote, branch },
  );
}

/** Commits the staged change in the worktree and delivers it; returns the commit and, for a PR, the PR. */
export async function commitAndDeliver(d: Delivery): Promise<{ commit: string; pullRequest?: PullRequest }> {
  await d.repo.runIn(d.worktree, ["commit", "--quiet", "-m", d.message]);
  const commit = (await d.repo.runIn(d.worktree, ["rev-parse", "HEAD"])).trim();
  if (d.mode === "push") {
    await push(
      d.repo,
      d.remote,
      commit,
      d.base,
      `${d.base} may be protected or have moved on since the fetch: run again to redo the change on the new ${d.base}, or use delivery: "pull-request".`,
    );
    return { commit };
  }
  await push(
    d.repo,
    d.remote,
    commit,
    d.branch,
    `check that you may push branches to "${d.remote}", or pass another branch.`,
  );
  return { commit, pullRequest: await proposeBranch(d) };
}

/**
 * Commits what the worktree has staged and delivers it (see `commitAndDeliver`), then says so in the result:
 * pushed onto the base, or proposed as a pull request from `d.branch`.
 */
export async function deliverChange(result: PromotionResult, d: Delivery): Promise<PromotionResult> {
  const delivered = await commitAndDeliver(d);
  return {
    ...result,
    status: d.mode === "push" ? "pushed" : "pull-request",
    commit: delivered.commit,
    ...(d.mode === "pull-request" ? { branch: d.branch } : {}),
    ...(delivered.pullRequest ? { pullRequest: delivered.pullRequest } : {}),
  };
}

/** Opens the pull request of an already pushed branch, titled and described by the commit message. */
export async function proposeBranch(
  d: Pick<Delivery, "github" | "message" | "branch" | "base" | "signal">,
): Promise<PullRequest> {
  if (!d.github) throw new Error("a pull request delivery without GitHub settings");
  const [title, ...body] = d.message.split("\n");
  return openPullRequest(d.github, {
    title: title ?? d.message,
    body: body.join("\n").trim(),
    head: d.branch,
    base: d.base,
    ...(d.signal ? { signal: d.signal } : {}),
  });
}
