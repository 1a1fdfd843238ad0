/** Only a signed approval counts, checked with `git verify-tag` against real ssh-keygen keys, never the promoter's. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEVELOPER, git, gitRemoteResource, QA, signedTagArgs, signingKeys } from "./__tests__/git-remote-resource.js";
import { refusal } from "./__tests__/refusal.js";
import { formatPromotion } from "./format.js";
import { promoteEnvironment } from "./promote.js";

/** A repository where someone tagged staging's release as approved, with `tagArgs` before `tag` (signing or not). */
function repoApprovedWith(tagArgs: string[], tagger = QA) {
  const remote = gitRemoteResource();
  const main = remote.remoteGit(["rev-parse", "main"]).trim();
  const tag = `qa-approved/staging/${main.slice(0, 12)}`;
  execFileSync("git", [...tagArgs, "tag", ...(tagArgs.length ? ["-s"] : ["-a"]), tag, "-m", "QA approved", main], {
    cwd: remote.bare,
    env: { ...process.env, GIT_COMMITTER_NAME: tagger.name, GIT_COMMITTER_EMAIL: tagger.email },
  });
  return { remote, tag };
}

const promote = (repo: string, extra: Record<string, unknown> = {}) =>
  promoteEnvironment({ repo, from: "staging", to: "prod", delivery: "push", author: DEVELOPER, ...extra });

describe("QA approval signatures", () => {
  it("refuses a forged approval: an unsigned tag with QA as its tagger, and pushes nothing", async () => {
    const { remote, tag } = repoApprovedWith([]);
    const before = remote.refs();
    const error = await refusal(promote(remote.clone));
    expect(error.code).toBe("APPROVAL_UNTRUSTED");
    expect(error.message).toContain(
      `${tag} (tagger Quinn Assurance <qa@example.com>) does not count: it is not signed (anyone can write that tag)`,
    );
    expect(remote.refs()).toBe(before);
  });

  it("refuses an approval signed by the promoter, even with QA's name as tagger", async () => {
    const { remote, tag } = repoApprovedWith(signedTagArgs(signingKeys().developer));
    const error = await refusal(promote(remote.clone));
    expect(error.code).toBe("APPROVAL_UNTRUSTED");
    expect(error.message).toContain(
      `${tag} (tagger Quinn Assurance <qa@example.com>) does not count: it is signed by dev@example.com, who is promoting`,
    );
  });

  it("refuses an approval signed by a key that is not an approver's", async () => {
    const stranger = join(signingKeys().dir, "stranger");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "qa@example.com", "-f", stranger]);
    const { remote } = repoApprovedWith(signedTagArgs(stranger));
    const error = await refusal(promote(remote.clone));
    expect(error.code).toBe("APPROVAL_UNTRUSTED");
    expect(error.message).toContain("signed by a key that is not in the allowed-signers file");
  });

  it("accepts QA's signed approval against an allowed-signers file given as an option, and needs one", async () => {
    const { remote, tag } = repoApprovedWith(signedTagArgs(signingKeys().qa));
    git(remote.clone, ["config", "--unset", "gpg.ssh.allowedSignersFile"]);
    const unchecked = await refusal(promote(remote.clone));
    expect(unchecked.code).toBe("APPROVAL_UNTRUSTED");
    expect(unchecked.message).toContain("its SSH signature cannot be checked: no allowed-signers file");

    const result = await promote(remote.clone, {
      dryRun: true,
      trust: { allowedSignersFile: signingKeys().allowedSigners },
    });
    expect(result.approval).toMatchObject({
      tag,
      signer: "qa@example.com",
      approver: "Quinn Assurance <qa@example.com>",
    });
  });
});

describe("a dry run of a promotion that would be refused", () => {
  it("shows the change and says it would be refused, writing nothing", async () => {
    const { remote } = repoApprovedWith([]);
    const before = remote.refs();
    const result = await promote(remote.clone, { dryRun: true });
    expect(result).toMatchObject({ status: "planned", approval: null, forced: false });
    expect(result.wouldRefuse?.code).toBe("APPROVAL_UNTRUSTED");
    expect(result.images.filter((i) => i.change !== "unchanged").map((i) => i.name)).toEqual([
      "cartservice",
      "frontend",
    ]);
    const text = formatPromotion(result);
    expect(text).toMatch(/^Dry run: promoting staging to prod would be REFUSED \[APPROVAL_UNTRUSTED\]/);
    expect(text).toContain("none that counts: the promotion would be refused");
    expect(text).toContain("does not count: it is not signed");
    expect(remote.refs()).toBe(before);
  });
});
