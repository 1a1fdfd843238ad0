/**
 * After a promotion is delivered: wait until it is live, as a Kargo user expects and `argocd app wait --sync --health`
 * does by hand. First the pull request is merged (its merge commit is what lands on the base), then the target's
 * Argo CD application has synced to that commit (or a later one containing it) and reports Healthy. Degraded after
 * syncing it, a failed sync, or a pull request closed without merging end the wait at once with their own codes;
 * the whole wait is bounded by a timeout.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type ArgoCdApplication, type ArgoCdApplicationRef, getApplication, unhealthyResources } from "./argocd.js";
import { PromotionError } from "./errors.js";
import { fetchBase, type GitRepo } from "./git.js";
import { type GitHubTarget, getPullRequest, type PullRequest } from "./github.js";

export interface WaitResult {
  /** The commit that carries the promotion on the base (the pull request's merge commit, or the pushed commit). */
  commit: string;
  /** Set when Argo CD was waited for: what it reported at the end. */
  argoCd?: { application: string; revision: string; sync: string; health: string };
}

interface WaitInput {
  repo: GitRepo;
  remote: string;
  base: string;
  /** The pushed commit, or the pull request to wait for. */
  delivered: { commit: string } | { pullRequest: PullRequest; github: GitHubTarget };
  argoCd?: ArgoCdApplicationRef | undefined;
  timeoutSeconds: number;
  intervalMs: number;
  signal?: AbortSignal | undefined;
}

export async function waitUntilLive(input: WaitInput): Promise<WaitResult> {
  const deadline = Date.now() + input.timeoutSeconds * 1000;
  let waitingFor = "";
  const pause = async () => {
    if (Date.now() + input.intervalMs > deadline) {
      throw new PromotionError(
        "WAIT_TIMEOUT",
        `Gave up after ${input.timeoutSeconds}s waiting for ${waitingFor}.`,
        "the promotion itself is delivered: follow it in GitHub and Argo CD, or wait longer (a larger timeout).",
      );
    }
    await sleep(input.intervalMs, undefined, input.signal ? { signal: input.signal } : {});
  };

  let commit: string;
  if ("pullRequest" in input.delivered) {
    const { pullRequest, github } = input.delivered;
    for (;;) {
      const pr = await getPullRequest(github, pullRequest.number, input.signal);
      if (pr.state === "merged" && pr.mergeCommit) {
        commit = pr.mergeCommit;
        break;
      }
      if (pr.state === "closed") {
        throw new PromotionError(
          "PULL_REQUEST_CLOSED",
          `Pull request #${pullRequest.number} (${pullRequest.url}) was closed without being merged: nothing was promoted.`,
          "reopen and merge it, or promote again.",
        );
      }
      waitingFor = `pull request #${pullRequest.number} (${pullRequest.url}) to be merged`;
      await pause();
    }
  } else {
    commit = input.delivered.commit;
  }
  if (!input.argoCd) return { commit };

  const ref = input.argoCd;
  const contains = containsCommit(input, commit);
  for (;;) {
    const app = await getApplication(ref, input.signal);
    const { sync, health, operationState } = app.status;
    const synced = sync.status === "Synced" && sync.revision !== undefined && (await contains(sync.revision));
    if (synced && health.status === "Healthy") {
      return {
        commit,
        argoCd: {
          application: ref.application,
          revision: sync.revision ?? commit,
          sync: sync.status,
          health: health.status,
        },
      };
    }
    if (synced && health.status === "Degraded") throw degraded(ref, app, commit);
    if (
      sync.revision !== undefined &&
      (await contains(sync.revision)) &&
      (operationState?.phase === "Failed" || operationState?.phase === "Error")
    ) {
      throw new PromotionError(
        "TARGET_DEGRADED",
        `Argo CD could not sync ${ref.application} to ${commit.slice(0, 12)}: ${operationState.phase}${operationState.message ? ` (${operationState.message})` : ""}.`,
        `look at the application in Argo CD (argocd app get ${ref.application}); revert the promotion (rollway promote-env revert) if it cannot be fixed forward.`,
        { commit },
      );
    }
    waitingFor = `Argo CD application ${ref.application} to sync to ${commit.slice(0, 12)} and report Healthy (last: ${sync.status}${sync.revision ? ` at ${sync.revision.slice(0, 12)}` : ""}, ${health.status})`;
    await pause();
  }
}

function degraded(ref: ArgoCdApplicationRef, app: ArgoCdApplication, commit: string): PromotionError {
  const resources = unhealthyResources(app);
  const listed = resources.length
    ? resources.map((r) => `  ${r.component} is ${r.reason}`).join("\n")
    : `  ${ref.application}${app.status.health.message ? `: ${app.status.health.message}` : ""}`;
  return new PromotionError(
    "TARGET_DEGRADED",
    `Argo CD synced ${ref.application} to the promotion (${commit.slice(0, 12)}) and it is Degraded:\n${listed}`,
    `look at the application in Argo CD (argocd app get ${ref.application}); revert the promotion (rollway promote-env revert) if it cannot be fixed forward.`,
    { commit, components: resources.map((r) => r.component) },
  );
}

/** Whether Argo CD's revision carries `commit`: the same commit, or a later commit of the base that contains it. */
function containsCommit(input: WaitInput, commit: string): (revision: string) => Promise<boolean> {
  const known = new Map<string, boolean>();
  return async (revision) => {
    if (revision === commit) return true;
    const seen = known.get(revision);
    if (seen !== undefined) return seen;
    const ancestor = async () =>
      input.repo
        .run(["merge-base", "--is-ancestor", commit, revision])
        .then(() => true)
        .catch(() => false);
    let answer = await ancestor();
    if (!answer) {
      // The revision may be newer than what this clone has: fetch the base once more, then ask again.
      await fetchBase(input.repo, input.remote, input.base).catch(() => undefined);
      answer = await ancestor();
    }
    known.set(revision, answer);
    return answer;
  };
}
