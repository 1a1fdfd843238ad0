/** The GPG path of approval signatures: tags signed with real gpg keys, checked against a configured keyring. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DEVELOPER, gitRemoteResource, QA } from "./__tests__/git-remote-resource.js";
import { type GpgKey, gpgKeys, gpgSignedTag } from "./__tests__/gpg-keys-resource.js";
import { refusal } from "./__tests__/refusal.js";
import { promoteEnvironment } from "./promote.js";

/** Staging's release tagged as approved on the remote, GPG-signed with `key` (or unsigned), QA as tagger. */
function repoApprovedBy(key: GpgKey | undefined) {
  const remote = gitRemoteResource();
  const main = remote.remoteGit(["rev-parse", "main"]).trim();
  const tag = `qa-approved/staging/${main.slice(0, 12)}`;
  const signing = key ? gpgSignedTag(key) : { args: [], env: {} };
  execFileSync("git", [...signing.args, "tag", key ? "-s" : "-a", tag, "-m", "QA approved", main], {
    cwd: remote.bare,
    env: { ...process.env, ...signing.env, GIT_COMMITTER_NAME: QA.name, GIT_COMMITTER_EMAIL: QA.email },
    stdio: "pipe",
  });
  return { remote, tag };
}

const promote = (repo: string, extra: Record<string, unknown> = {}) =>
  promoteEnvironment({
    repo,
    from: "staging",
    to: "prod",
    delivery: "push",
    author: DEVELOPER,
    trust: { gpgHome: gpgKeys().keyring },
    ...extra,
  });

describe("QA approvals signed with GPG, checked against a keyring", () => {
  it("accepts QA's GPG-signed approval and promotes, naming QA as the signer", async () => {
    const { remote, tag } = repoApprovedBy(gpgKeys().qa);
    const result = await promote(remote.clone);
    expect(result.status).toBe("pushed");
    expect(result.approval).toMatchObject({ tag, signer: "qa@example.com" });
    expect(remote.show("main", "kustomize/prod/kustomization.yaml")).toContain(`newTag:   "v1.0.1"`);
  });

  it("refuses an approval GPG-signed with the promoter's own key, and pushes nothing", async () => {
    const { remote, tag } = repoApprovedBy(gpgKeys().developer);
    const before = remote.refs();
    const error = await refusal(promote(remote.clone));
    expect(error.code).toBe("APPROVAL_UNTRUSTED");
    expect(error.message).toContain(
      `${tag} (tagger Quinn Assurance <qa@example.com>) does not count: it is signed by dev@example.com, who is promoting`,
    );
    expect(remote.refs()).toBe(before);
  });

  it("refuses an unsigned approval tag even with a keyring configured", async () => {
    const { remote, tag } = repoApprovedBy(undefined);
    const before = remote.refs();
    const error = await refusal(promote(remote.clone));
    expect(error.code).toBe("APPROVAL_UNTRUSTED");
    expect(error.message).toContain(
      `${tag} (tagger Quinn Assurance <qa@example.com>) does not count: it is not signed`,
    );
    expect(remote.refs()).toBe(before);
  });

  it("refuses an approval signed by a GPG key the keyring does not hold, though its uid says QA", async () => {
    const { remote } = repoApprovedBy(gpgKeys().stranger);
    const error = await refusal(promote(remote.clone));
    expect(error.code).toBe("APPROVAL_UNTRUSTED");
    expect(error.message).toContain("it is signed by a GPG key that is not in the keyring");
  });
});
