import { describe, expect, it } from "vitest";
import { PROD_KUSTOMIZATION, PROD_KUSTOMIZATION_PROMOTED } from "./__tests__/fixtures.js";
import { DEVELOPER, gitRemoteResource } from "./__tests__/git-remote-resource.js";
import { gitHubServerResource } from "./__tests__/github-server-resource.js";
import { refusal } from "./__tests__/refusal.js";
import { formatPromotion } from "./format.js";
import { promoteEnvironment } from "./promote.js";
import { diffImages, revertPromotion } from "./revert.js";

const PROD = "kustomize/prod/kustomization.yaml";
const TOKEN = "ghs_abcdefghijklmnopqrstuvwxyz0123456789";

async function promotedRepo() {
  const remote = gitRemoteResource({ approved: true });
  const promotion = await promoteEnvironment({
    repo: remote.clone,
    from: "staging",
    to: "prod",
    delivery: "push",
    author: DEVELOPER,
  });
  return { remote, promotion };
}

describe("revertPromotion", () => {
  it("reverts the latest promotion into prod on main, restoring the file byte for byte", async () => {
    const { remote, promotion } = await promotedRepo();
    const result = await revertPromotion({ repo: remote.clone, to: "prod", delivery: "push", author: DEVELOPER });
    expect(result).toMatchObject({ action: "revert", status: "pushed", from: "staging", reverted: promotion.commit });
    expect(remote.show("main", PROD)).toBe(PROD_KUSTOMIZATION);
    expect(remote.remoteGit(["log", "-1", "--format=%B", "main"]).trim()).toBe(
      [
        'Roll back prod: revert "Promote staging to prod"',
        "",
        "cartservice: registry.digitalocean.com/microservices-demo/cartservice:v1.0.1 → registry.digitalocean.com/microservices-demo/cartservice:v1.0.0",
        "frontend: registry.digitalocean.com/microservices-demo/frontend:v1.0.1 → registry.digitalocean.com/microservices-demo/frontend:v1.0.0",
        "",
        `This reverts commit ${promotion.commit}.`,
        "",
        `Rollway-Revert-Of: ${promotion.commit}`,
      ].join("\n"),
    );
    expect(formatPromotion(result)).toContain("Rolled back prod: pushed to origin/main.");
  });

  it("proposes the rollback as a pull request", async () => {
    const { remote, promotion } = await promotedRepo();
    const github = await gitHubServerResource();
    const result = await revertPromotion({
      repo: remote.clone,
      to: "prod",
      author: DEVELOPER,
      github: { token: TOKEN, baseUrl: github.baseUrl, owner: "acme", repo: "gitops" },
    });
    const branch = `rollback/prod-${promotion.commit?.slice(0, 12)}`;
    expect(result).toMatchObject({ status: "pull-request", branch });
    expect(remote.show(branch, PROD)).toBe(PROD_KUSTOMIZATION);
    expect(remote.show("main", PROD)).toBe(PROD_KUSTOMIZATION_PROMOTED);
    expect(
      github.requests.map((r) => [
        r.method,
        r.path,
        (r.body as { title: string }).title,
        (r.body as { head: string }).head,
      ]),
    ).toEqual([["POST", "/repos/acme/gitops/pulls", 'Roll back prod: revert "Promote staging to prod"', branch]]);
  });

  it("refuses a rollback branch that exists with other changes, and reuses one that holds this rollback", async () => {
    const { remote, promotion } = await promotedRepo();
    const branch = `rollback/prod-${promotion.commit?.slice(0, 12)}`;
    remote.remoteGit(["branch", branch, "main"]);
    const github = await gitHubServerResource();
    const options = {
      repo: remote.clone,
      to: "prod",
      author: DEVELOPER,
      github: { token: TOKEN, baseUrl: github.baseUrl, owner: "acme", repo: "gitops" },
    };
    const error = await refusal(revertPromotion(options));
    expect(error.code).toBe("BRANCH_EXISTS");
    expect(github.requests).toHaveLength(0);

    // The same rollback pushed earlier by a run whose pull request failed: only the pull request is opened.
    remote.remoteGit(["branch", "-D", branch]);
    const unreachable = await refusal(
      revertPromotion({ ...options, github: { ...options.github, baseUrl: "http://127.0.0.1:9" } }),
    );
    expect(unreachable.code).toBe("GITHUB_REQUEST_FAILED");
    expect(unreachable.hint).toContain("check that http://127.0.0.1:9 is reachable");
    const pushed = remote.remoteGit(["rev-parse", branch]).trim();
    const result = await revertPromotion(options);
    expect(result).toMatchObject({ status: "pull-request", commit: pushed, branch });
    expect(github.requests).toHaveLength(1);
  });

  it("finds nothing left to roll back once the promotion is reverted", async () => {
    const { remote } = await promotedRepo();
    await revertPromotion({ repo: remote.clone, to: "prod", delivery: "push", author: DEVELOPER });
    const error = await refusal(
      revertPromotion({ repo: remote.clone, to: "prod", delivery: "push", author: DEVELOPER }),
    );
    expect(error.code).toBe("PROMOTION_NOT_FOUND");
    expect(error.message).toBe(
      "No promotion into prod is left to roll back on main (the recent ones are reverted already).\n" +
        "  Fix: pass commit: the promotion to revert, or check that promotions into prod were merged into main.",
    );
  });

  it("refuses to revert a commit that is not a promotion", async () => {
    const { remote } = await promotedRepo();
    const first = remote.remoteGit(["rev-list", "--max-parents=0", "main"]).trim();
    const error = await refusal(
      revertPromotion({ repo: remote.clone, to: "prod", commit: first, delivery: "push", author: DEVELOPER }),
    );
    expect(error.code).toBe("PROMOTION_NOT_FOUND");
    expect(error.message).toContain(`${first.slice(0, 12)} ("Initial overlays") is not a promotion into prod on main.`);
  });

  it("reports a conflict with a later change and leaves main alone", async () => {
    const { remote } = await promotedRepo();
    const later = remote.commitOnRemote(
      { [PROD]: PROD_KUSTOMIZATION_PROMOTED.replace(`newTag: 'v1.0.1'`, `newTag: 'v1.0.1-hotfix'`) },
      "Hotfix frontend in prod",
    );
    const error = await refusal(
      revertPromotion({ repo: remote.clone, to: "prod", delivery: "push", author: DEVELOPER }),
    );
    expect(error.code).toBe("REVERT_CONFLICT");
    expect(error.message).toContain('("Promote staging to prod") conflicts with later changes on main.');
    expect(remote.remoteGit(["rev-parse", "main"]).trim()).toBe(later);
  });
});

describe("diffImages", () => {
  const v1 = { name: "web", newTag: "v1" };
  const v2 = { name: "web", newTag: "v2" };
  const api = { name: "api", newName: "reg/api", newTag: "v1" };
  it.each([
    ["an updated image", [v1], [v2], [{ name: "web", before: v1, after: v2, change: "updated" }]],
    ["an image the revert removes", [v1, api], [v1], [{ name: "api", before: api, after: null, change: "removed" }]],
    ["an image the revert brings back", [v1], [v1, api], [{ name: "api", before: null, after: api, change: "added" }]],
    ["nothing", [v1], [{ ...v1 }], []],
  ])("lists %s", (_, before, after, rows) => {
    expect(diffImages(before, after)).toEqual(rows);
  });
});
