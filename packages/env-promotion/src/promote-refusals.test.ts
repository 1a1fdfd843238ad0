import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROD_KUSTOMIZATION, STAGING_KUSTOMIZATION } from "./__tests__/fixtures.js";
import { approvedRepo, DEVELOPER, git, gitRemoteResource } from "./__tests__/git-remote-resource.js";
import { gitHubServerResource } from "./__tests__/github-server-resource.js";
import { refusal } from "./__tests__/refusal.js";
import { promoteEnvironment } from "./promote.js";

const TOKEN = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
const PROD = "kustomize/prod/kustomization.yaml";

/** staging → prod by a pull request on the loopback GitHub, as the developer. */
function promoteByPullRequest(repo: string, baseUrl: string) {
  return promoteEnvironment({
    repo,
    from: "staging",
    to: "prod",
    author: DEVELOPER,
    github: { token: TOKEN, owner: "acme", repo: "gitops", baseUrl },
  });
}

describe("promoteEnvironment refuses", () => {
  it("refuses a release without QA approval, says how to record one, and pushes nothing", async () => {
    const remote = gitRemoteResource();
    const refsBefore = remote.refs();
    const error = await refusal(
      promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", delivery: "push", author: DEVELOPER }),
    );
    expect(error.code).toBe("APPROVAL_MISSING");
    expect(error.message).toContain("No QA approval is recorded for what staging runs at");
    expect(error.message).toContain('There is no qa-approved/staging/* tag on "origin".');
    expect(error.hint).toContain('recordApproval({ env: "staging", approver })');
    expect(error.hint).toContain("force: true");
    expect(remote.refs()).toBe(refsBefore);
  });

  it("no longer accepts an approval once it is deleted on the remote (revoked)", async () => {
    const { remote, approval } = approvedRepo();
    // The clone has seen the approval...
    await promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", dryRun: true });
    // ...then QA revokes it: git push origin :refs/tags/<tag>
    remote.remoteGit(["tag", "-d", approval.tag]);
    const error = await refusal(
      promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", delivery: "push", author: DEVELOPER }),
    );
    expect(error.code).toBe("APPROVAL_MISSING");
    expect(git(remote.clone, ["tag", "-l"]).trim()).toBe("");
  });

  it("does not accept the approval of an older staging release", async () => {
    const { remote, approval } = approvedRepo();
    remote.commitOnRemote(
      { "kustomize/staging/kustomization.yaml": STAGING_KUSTOMIZATION.replace("newTag: v1.0.0", "newTag: v1.0.2") },
      "Deploy emailservice v1.0.2 to staging",
    );
    const error = await refusal(
      promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", delivery: "push", author: DEVELOPER }),
    );
    expect(error.code).toBe("APPROVAL_MISSING");
    expect(error.message).toContain(
      `The latest approval, ${approval.tag} by Quinn Assurance <qa@example.com>, covers other images.`,
    );
  });

  it("names the overlays that exist when the target overlay is missing", async () => {
    const remote = gitRemoteResource();
    const error = await refusal(
      promoteEnvironment({ repo: remote.clone, from: "staging", to: "production", force: true, delivery: "push" }),
    );
    expect(error.code).toBe("OVERLAY_NOT_FOUND");
    expect(error.message).toMatch(
      /^No overlay for "production" at [0-9a-f]{12}: kustomize\/production\/kustomization.yaml does not exist \(kustomize\/ holds base, prod, staging\)\./,
    );
  });

  it("refuses when the promotion branch already exists on the remote with other changes, and pushes nothing", async () => {
    const { remote } = approvedRepo();
    const github = await gitHubServerResource();
    const main = remote.remoteGit(["rev-parse", "main"]).trim();
    const branch = `promote/staging-to-prod-${main.slice(0, 12)}`;
    remote.remoteGit(["branch", branch, "main"]);
    const refsBefore = remote.refs();
    const error = await refusal(promoteByPullRequest(remote.clone, github.baseUrl));
    expect(error.code).toBe("BRANCH_EXISTS");
    expect(error.message).toBe(
      `The branch ${branch} already exists on "origin" with other changes.\n` +
        `  Fix: review or close its pull request and delete the branch (git push origin --delete ${branch}), or pass another branch.`,
    );
    expect(remote.refs()).toBe(refsBefore);
    expect(github.requests).toHaveLength(0);
  });

  it("reports a refused push with the remote's reason", async () => {
    const { remote } = approvedRepo();
    const hook = join(remote.bare, "hooks", "pre-receive");
    writeFileSync(hook, "#!/bin/sh\necho 'main is protected: changes need a pull request' >&2\nexit 1\n", {
      mode: 0o755,
    });
    const error = await refusal(
      promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", delivery: "push", author: DEVELOPER }),
    );
    expect(error.code).toBe("PUSH_REJECTED");
    expect(error.message).toContain('The remote "origin" refused the push to main.');
    expect(error.message).toContain("main is protected: changes need a pull request");
    expect(error.hint).toContain('use delivery: "pull-request"');
    expect(remote.show("main", PROD)).toBe(PROD_KUSTOMIZATION);
  });

  it("never shows credentials from the remote URL or the token", async () => {
    const remote = gitRemoteResource();
    git(remote.clone, ["remote", "set-url", "origin", `http://x-access-token:${TOKEN}@127.0.0.1:9/acme/gitops.git`]);
    const error = await refusal(
      promoteEnvironment({
        repo: remote.clone,
        from: "staging",
        to: "prod",
        github: { token: TOKEN, owner: "acme", repo: "gitops" },
      }),
    );
    expect(error.code).toBe("REMOTE_FAILED");
    const everything = `${error.message}\n${String((error.cause as Error).message)}\n${JSON.stringify(error.details)}`;
    expect(everything).not.toContain(TOKEN);
    expect(everything).toContain("127.0.0.1");
  });

  it("refuses a pull request without a token before pushing anything", async () => {
    const { remote } = approvedRepo();
    const refsBefore = remote.refs();
    const error = await refusal(
      promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", author: DEVELOPER }),
    );
    expect(error.code).toBe("GITHUB_CONFIG_MISSING");
    expect(error.hint).toContain('use delivery: "push"');
    expect(remote.refs()).toBe(refsBefore);
  });

  it("reports GitHub's refusal with its reason, and that the branch is pushed", async () => {
    const { remote } = approvedRepo();
    const github = await gitHubServerResource(() => ({
      status: 422,
      body: {
        message: "Validation Failed",
        errors: [
          { resource: "PullRequest", code: "custom", message: "A pull request already exists for acme:promote." },
        ],
        documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
      },
    }));
    const error = await refusal(promoteByPullRequest(remote.clone, github.baseUrl));
    expect(error.code).toBe("GITHUB_REQUEST_FAILED");
    expect(error.message).toContain(
      "GitHub did not open the pull request on acme/gitops (HTTP 422): Validation Failed; A pull request already exists for acme:promote.",
    );
    expect(error.hint).toContain(`The branch ${error.details.branch} is pushed`);
    expect(remote.refs()).toContain(`refs/heads/${error.details.branch}`);
  });

  it("reports bad credentials without echoing the token", async () => {
    const { remote } = approvedRepo();
    const github = await gitHubServerResource(() => ({
      status: 401,
      body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" },
    }));
    const error = await refusal(promoteByPullRequest(remote.clone, github.baseUrl));
    expect(error.message).toContain("(HTTP 401): Bad credentials.");
    expect(error.hint).toContain("the GitHub token is invalid or expired");
    expect(`${error.message}${(error.cause as Error).message}`).not.toContain(TOKEN);
  });

  it.each([
    [{ from: "Staging", to: "prod" }, "from: must be lower-case letters, digits, - or _ (like staging or prod)"],
    [{ from: "staging", to: "staging" }, 'Cannot promote "staging" onto itself.'],
    [{ from: "staging", to: "prod", branch: "promote..x" }, "branch: is not a valid git branch name"],
    [
      { from: "staging", to: "prod", overlaysDir: "../elsewhere" },
      "overlaysDir: must be a relative path inside the repository",
    ],
  ])("refuses bad options %o", async (options, message) => {
    const error = await refusal(promoteEnvironment({ repo: "/nonexistent", ...options }));
    expect(error.code).toBe("INVALID_OPTIONS");
    expect(error.message).toContain(message);
  });

  it("says so when the path is not a git repository", async () => {
    const error = await refusal(promoteEnvironment({ repo: "/tmp", from: "staging", to: "prod" }));
    expect(error.code).toBe("NOT_A_GIT_REPO");
    expect(error.message).toContain("/tmp is not a git repository.");
  });
  it("says so when the remote has no such base branch", async () => {
    const remote = gitRemoteResource();
    const error = await refusal(
      promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", base: "production", delivery: "push" }),
    );
    expect(error.code).toBe("BRANCH_NOT_FOUND");
    expect(error.message).toBe(
      'The remote "origin" has no branch "production".\n  Fix: pass base: the branch your GitOps tool deploys from (often main).',
    );
  });

  it("says so when the remote is not one of the repository's", async () => {
    const remote = gitRemoteResource();
    const error = await refusal(
      promoteEnvironment({ repo: remote.clone, from: "staging", to: "prod", remote: "upstream", delivery: "push" }),
    );
    expect(error.code).toBe("INVALID_OPTIONS");
    expect(error.message).toContain('The repository has no remote named "upstream" (it has origin).');
  });
});
