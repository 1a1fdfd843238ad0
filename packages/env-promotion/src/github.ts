/** Opening the promotion's pull request through the GitHub REST API (octokit). */
import { PromotionError } from "./errors.js";
import type { GitHubOptions } from "./options.js";
import { redact, redactedCause } from "./redact.js";

/** The one call that reaches GitHub: https://docs.github.com/rest/pulls/pulls#create-a-pull-request */
export const CREATE_PULL_REQUEST = "POST /repos/{owner}/{repo}/pulls";
/** Read while waiting for the promotion's pull request to be merged: https://docs.github.com/rest/pulls/pulls#get-a-pull-request */
export const GET_PULL_REQUEST = "GET /repos/{owner}/{repo}/pulls/{pull_number}";
export const DEFAULT_GITHUB_API = "https://api.github.com";

export interface GitHubTarget {
  token: string;
  owner: string;
  repo: string;
  baseUrl: string;
}

export interface PullRequest {
  number: number;
  url: string;
}

/** `owner` and `repo` from a GitHub remote URL (https, ssh or scp-like), or `undefined`. */
export function parseGitHubRemote(url: string): { owner: string; repo: string } | undefined {
  const match = /^(?:[a-z+]+:\/\/)?(?:[^@/]+@)?[^/:]+(?::\d+)?[:/]([^/]+)\/([^/]+?)(?:\.git)?\/?$/i.exec(url.trim());
  if (!match?.[1] || !match[2]) return undefined;
  return { owner: match[1], repo: match[2] };
}

/** Checks, before anything is pushed, that a pull request can be opened. */
export function resolveGitHub(options: GitHubOptions, remoteUrl: string, remote: string): GitHubTarget {
  if (!options.token) {
    throw new PromotionError(
      "GITHUB_CONFIG_MISSING",
      "Opening a pull request needs a GitHub token, and none was given.",
      'pass github.token (the CLI reads GITHUB_TOKEN) with pull-requests: write, or use delivery: "push".',
    );
  }
  const parsed = parseGitHubRemote(remoteUrl);
  const owner = options.owner ?? parsed?.owner;
  const repo = options.repo ?? parsed?.repo;
  if (!owner || !repo) {
    throw new PromotionError(
      "GITHUB_CONFIG_MISSING",
      `Cannot tell the GitHub repository from the URL of remote "${remote}" (${redact(remoteUrl)}).`,
      "pass github.owner and github.repo.",
      { remote },
    );
  }
  return { token: options.token, owner, repo, baseUrl: options.baseUrl ?? DEFAULT_GITHUB_API };
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function octokitFor(target: GitHubTarget, signal: AbortSignal | undefined) {
  // Loaded on first use: @octokit/rest is ESM only, and this keeps the CommonJS build loadable on every Node 20.
  const { Octokit } = await import("@octokit/rest");
  return new Octokit({
    auth: target.token,
    baseUrl: target.baseUrl,
    userAgent: "rollway-env-promotion",
    log: quiet,
    request: signal ? { signal } : {},
  });
}

export async function openPullRequest(
  target: GitHubTarget,
  request: { title: string; body: string; head: string; base: string; signal?: AbortSignal },
): Promise<PullRequest> {
  const octokit = await octokitFor(target, request.signal);
  try {
    const { data } = await octokit.request(CREATE_PULL_REQUEST, {
      owner: target.owner,
      repo: target.repo,
      title: request.title,
      body: request.body,
      head: request.head,
      base: request.base,
    });
    return { number: data.number, url: data.html_url };
  } catch (error) {
    throw pullRequestFailure(error, target, request.head, request.base);
  }
}

/** A pull request's state: open, merged (with the commit that landed on the base), or closed without merging. */
export async function getPullRequest(
  target: GitHubTarget,
  number: number,
  signal?: AbortSignal,
): Promise<{ state: "open" | "merged" | "closed"; mergeCommit?: string }> {
  const octokit = await octokitFor(target, signal);
  try {
    const { data } = await octokit.request(GET_PULL_REQUEST, {
      owner: target.owner,
      repo: target.repo,
      pull_number: number,
    });
    if (data.merged && data.merge_commit_sha) return { state: "merged", mergeCommit: data.merge_commit_sha };
    return { state: data.state === "closed" ? "closed" : "open" };
  } catch (error) {
    if (signal?.aborted) throw error;
    const e = (error ?? {}) as GitHubErrorShape;
    const status = typeof e.status === "number" && e.status > 0 ? e.status : undefined;
    throw new PromotionError(
      "GITHUB_REQUEST_FAILED",
      `GitHub did not say whether pull request #${number} on ${target.owner}/${target.repo} is merged${status ? ` (HTTP ${status})` : ""}: ${redact(e.response?.data?.message ?? e.message ?? String(error), [target.token])}.`,
      `check that ${target.baseUrl} is reachable and the token may read pull requests there; the promotion itself is delivered.`,
      { ...(status ? { status } : {}) },
      { cause: redactedCause(error, [target.token]) },
    );
  }
}

interface GitHubErrorShape {
  status?: number;
  message?: string;
  response?: { data?: { message?: string; errors?: { message?: string; code?: string; field?: string }[] } };
}

function pullRequestFailure(error: unknown, target: GitHubTarget, head: string, base: string): PromotionError {
  const e = (error ?? {}) as GitHubErrorShape;
  const status = typeof e.status === "number" && e.status > 0 ? e.status : undefined;
  const data = e.response?.data;
  const reasons = [
    data?.message,
    ...(data?.errors ?? []).map((x) => x.message ?? [x.field, x.code].filter(Boolean).join(" ")),
  ]
    .filter((x): x is string => Boolean(x))
    .map((x) => redact(x, [target.token]));
  const said = reasons.length ? reasons.join("; ") : redact(e.message ?? String(error), [target.token]);
  const where = `${target.owner}/${target.repo}`;
  const manual = `The branch ${head} is pushed: run again to open the pull request for it, or open it by hand (${base}...${head}).`;
  const hint =
    status === 401
      ? `the GitHub token is invalid or expired: create a new one with pull-requests: write on ${where}. ${manual}`
      : status === 403 || status === 404
        ? `the GitHub token cannot open pull requests on ${where}: give it pull-requests: write there, and check github.owner/github.repo. ${manual}`
        : status === 422
          ? `GitHub refused the pull request as sent; if one is already open for ${head}, review that one. ${manual}`
          : `check that ${target.baseUrl} is reachable. ${manual}`;
  return new PromotionError(
    "GITHUB_REQUEST_FAILED",
    `GitHub did not open the pull request on ${where}${status ? ` (HTTP ${status})` : ""}: ${said}.`,
    hint,
    { branch: head, ...(status ? { status } : {}) },
    { cause: redactedCause(error, [target.token]) },
  );
}
