/**
 * Waiting until a promotion is live, as `argocd app wait --sync --health`: the pull request merged (a loopback fake of
 * GitHub's API), then the target's Argo CD application synced to it and Healthy (a loopback fake of Argo CD's API).
 */
import { describe, expect, it } from "vitest";
import { type AppState, ARGOCD_TOKEN, argoCdServerResource } from "./__tests__/argocd-server-resource.js";
import { DEVELOPER, gitRemoteResource } from "./__tests__/git-remote-resource.js";
import { createdPullRequest, gitHubServerResource } from "./__tests__/github-server-resource.js";
import { refusal } from "./__tests__/refusal.js";
import { formatPromotion } from "./format.js";
import { promoteEnvironment } from "./promote.js";

const GITHUB_TOKEN = "ghp_waittest0000000000000000000000000000";
const MERGE_SHA = "9f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b";

const argoCd = (server: string) => ({ server, token: ARGOCD_TOKEN, application: "shop-prod" });

/** A pushed promotion, waited for; `states(commit)` is what Argo CD says, read after read. */
async function pushAndWait(
  states: (commit: string, remote: ReturnType<typeof gitRemoteResource>) => AppState[],
  timeoutSeconds = 60,
) {
  const remote = gitRemoteResource({ approved: true });
  const argo = await argoCdServerResource("shop-prod", []);
  // The pushed commit is only known once pushed: the first reads are still the old revision, so script them lazily.
  const old = remote.remoteGit(["rev-parse", "main"]).trim();
  const run = promoteEnvironment({
    repo: remote.clone,
    from: "staging",
    to: "prod",
    delivery: "push",
    author: DEVELOPER,
    wait: { argoCd: argoCd(argo.server), timeoutSeconds, intervalMs: 20 },
  });
  argo.script([{ sync: "Synced", revision: old, health: "Healthy" }]);
  // Once main moves, Argo CD follows the script from the new commit.
  const moved = (async () => {
    for (;;) {
      const head = remote.remoteGit(["rev-parse", "main"]).trim();
      if (head !== old) return head;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const commit = await Promise.race([moved, run.then(() => "")]);
  if (commit) argo.script(states(commit, remote));
  return { remote, argo, run, commit: () => commit };
}

describe("waiting for Argo CD after a push", () => {
  it("waits through OutOfSync and Progressing until the application is Synced to the promotion and Healthy", async () => {
    const { run, argo, commit } = await pushAndWait((c) => [
      { sync: "OutOfSync", health: "Healthy" },
      {
        sync: "Synced",
        revision: c,
        health: "Progressing",
        resources: [{ kind: "Rollout", name: "frontend", health: "Progressing" }],
      },
      { sync: "Synced", revision: c, health: "Progressing" },
      { sync: "Synced", revision: c, health: "Healthy" },
    ]);
    const result = await run;
    expect(result.status).toBe("pushed");
    expect(result.live).toEqual({
      commit: commit(),
      argoCd: { application: "shop-prod", revision: commit(), sync: "Synced", health: "Healthy" },
    });
    expect(argo.requests.length).toBeGreaterThanOrEqual(4);
    expect(argo.requests.every((r) => r.headers.authorization === `Bearer ${ARGOCD_TOKEN}`)).toBe(true);
    expect(formatPromotion(result)).toContain("Argo CD application shop-prod Synced at");
  });

  it("accepts a later revision that contains the promotion (someone pushed after it)", async () => {
    let later = "";
    const { run } = await pushAndWait((_, remote) => {
      later = remote.commitOnRemote({ "NOTES.md": "after the promotion\n" }, "A later commit");
      return [{ sync: "Synced", revision: later, health: "Healthy" }];
    });
    const result = await run;
    expect(result.live?.argoCd?.revision).toBe(later);
  });

  it("ends with TARGET_DEGRADED naming the resource when the synced application goes Degraded", async () => {
    const { run } = await pushAndWait((c) => [
      { sync: "Synced", revision: c, health: "Progressing" },
      {
        sync: "Synced",
        revision: c,
        health: "Degraded",
        resources: [
          { kind: "Rollout", name: "frontend", health: "Healthy" },
          { kind: "Rollout", name: "cartservice", health: "Degraded", message: "RolloutAborted: metric failed" },
        ],
      },
    ]);
    const error = await refusal(run);
    expect(error.code).toBe("TARGET_DEGRADED");
    expect(error.details.components).toEqual(["Rollout/cartservice"]);
    expect(error.message).toContain("Rollout/cartservice is Degraded: RolloutAborted: metric failed");
    expect(error.message).toContain("rollway promote-env revert");
  });

  it("gives up with WAIT_TIMEOUT saying what it waited for", async () => {
    const { run } = await pushAndWait((c) => [{ sync: "Synced", revision: c, health: "Progressing" }], 1);
    const error = await refusal(run);
    expect(error.code).toBe("WAIT_TIMEOUT");
    expect(error.message).toMatch(
      /^Gave up after 1s waiting for Argo CD application shop-prod to sync to [0-9a-f]{12}/,
    );
    expect(error.message).toContain("Progressing");
  });
});

describe("waiting for the pull request to be merged", () => {
  async function proposeAndWait(merges: { merged: boolean; state: "open" | "closed" }[]) {
    const remote = gitRemoteResource({ approved: true });
    let reads = 0;
    const github = await gitHubServerResource((request) => {
      if (request.method === "POST") return createdPullRequest(request);
      const state = merges[Math.min(reads++, merges.length - 1)] ?? { merged: false, state: "open" };
      return {
        status: 200,
        body: {
          number: 42,
          state: state.state,
          merged: state.merged,
          merge_commit_sha: state.merged ? MERGE_SHA : null,
        },
      };
    });
    const argo = await argoCdServerResource("shop-prod", [
      { sync: "OutOfSync", health: "Healthy" },
      { sync: "Synced", revision: MERGE_SHA, health: "Healthy" },
    ]);
    const run = promoteEnvironment({
      repo: remote.clone,
      from: "staging",
      to: "prod",
      author: DEVELOPER,
      github: { token: GITHUB_TOKEN, owner: "acme", repo: "gitops", baseUrl: github.baseUrl },
      wait: { argoCd: argoCd(argo.server), timeoutSeconds: 60, intervalMs: 20 },
    });
    return { run, github, argo };
  }

  it("waits for the merge, then for Argo CD to sync the merge commit and report Healthy", async () => {
    const { run, github, argo } = await proposeAndWait([
      { merged: false, state: "open" },
      { merged: false, state: "open" },
      { merged: true, state: "closed" },
    ]);
    const result = await run;
    expect(result.status).toBe("pull-request");
    expect(result.live).toMatchObject({ commit: MERGE_SHA, argoCd: { health: "Healthy", revision: MERGE_SHA } });
    const reads = github.requests.filter((r) => r.method === "GET").map((r) => r.path);
    expect(reads).toEqual(Array(3).fill(`/repos/acme/gitops/pulls/${result.pullRequest?.number}`));
    // Argo CD is asked only once the pull request is merged.
    expect(argo.requests.length).toBe(2);
  });

  it("ends with PULL_REQUEST_CLOSED when the pull request is closed without merging", async () => {
    const { run, argo } = await proposeAndWait([
      { merged: false, state: "open" },
      { merged: false, state: "closed" },
    ]);
    const error = await refusal(run);
    expect(error.code).toBe("PULL_REQUEST_CLOSED");
    expect(error.message).toContain("was closed without being merged");
    expect(argo.requests).toEqual([]);
  });
});
