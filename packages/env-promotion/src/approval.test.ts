import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STAGING_KUSTOMIZATION } from "./__tests__/fixtures.js";
import { git, gitRemoteResource, QA } from "./__tests__/git-remote-resource.js";
import { recordApproval } from "./approval.js";
import { PromotionError } from "./errors.js";

describe("recordApproval", () => {
  it("records QA's approval as an annotated tag on the remote that git alone can show", async () => {
    const remote = gitRemoteResource();
    const main = remote.remoteGit(["rev-parse", "main"]).trim();
    const approval = await recordApproval({
      repo: remote.clone,
      env: "staging",
      approver: QA,
      note: "Regression suite QA-1234 passed.",
    });
    expect(approval).toMatchObject({
      tag: `qa-approved/staging/${main.slice(0, 12)}`,
      env: "staging",
      commit: main,
      approver: "Quinn Assurance <qa@example.com>",
      created: true,
    });
    expect(approval.images.map((i) => `${i.name}:${i.newTag}`)).toEqual([
      "cartservice:v1.0.1",
      "frontend:v1.0.1",
      "emailservice:v1.0.0",
    ]);
    // What any clone sees, without rollway.
    expect(
      remote.remoteGit(["for-each-ref", "--format=%(objecttype) %(*objectname) %(taggername)", "refs/tags/"]).trim(),
    ).toBe(`tag ${main} Quinn Assurance`);
    // Signed with QA's key (the clone's user.signingkey): the message, then the signature git checks.
    const [message, signature] = remote
      .remoteGit(["tag", "-l", "--format=%(contents)", approval.tag])
      .split("-----BEGIN SSH SIGNATURE-----");
    expect(signature).toContain("-----END SSH SIGNATURE-----");
    expect(message?.trim()).toBe(
      [
        `QA approved staging at ${main.slice(0, 12)}`,
        "",
        "Regression suite QA-1234 passed.",
        "",
        "Images:",
        "  cartservice: registry.digitalocean.com/microservices-demo/cartservice:v1.0.1",
        "  frontend: registry.digitalocean.com/microservices-demo/frontend:v1.0.1",
        "  emailservice: registry.digitalocean.com/microservices-demo/emailservice:v1.0.0",
        "",
        "Approved-by: Quinn Assurance <qa@example.com>",
        "Rollway-Environment: staging",
        `Rollway-Tested-Commit: ${main}`,
      ].join("\n"),
    );
  });

  it("is safe to run twice: the second call finds the first approval", async () => {
    const remote = gitRemoteResource();
    const first = await recordApproval({ repo: remote.clone, env: "staging", approver: QA });
    const second = await recordApproval({
      repo: remote.clone,
      env: "staging",
      approver: { name: "Other", email: "o@x.io" },
    });
    expect(second).toMatchObject({ tag: first.tag, approver: first.approver, created: false });
  });

  it("approves an older commit when given one", async () => {
    const remote = gitRemoteResource();
    const tested = remote.remoteGit(["rev-parse", "main"]).trim();
    remote.commitOnRemote(
      { "kustomize/staging/kustomization.yaml": STAGING_KUSTOMIZATION.replace("v1.0.0", "v1.0.2") },
      "Deploy emailservice v1.0.2 to staging",
    );
    const approval = await recordApproval({
      repo: remote.clone,
      env: "staging",
      approver: QA,
      commit: tested.slice(0, 10),
    });
    expect(approval.commit).toBe(tested);
    expect(approval.images.find((i) => i.name === "emailservice")?.newTag).toBe("v1.0.0");
  });

  it("keeps no local tag when the remote refuses it", async () => {
    const remote = gitRemoteResource();
    writeFileSync(join(remote.bare, "hooks", "pre-receive"), "#!/bin/sh\necho 'tags are protected' >&2\nexit 1\n", {
      mode: 0o755,
    });
    const error = await recordApproval({ repo: remote.clone, env: "staging", approver: QA }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromotionError);
    expect((error as PromotionError).code).toBe("PUSH_REJECTED");
    expect((error as PromotionError).message).toContain("tags are protected");
    expect(git(remote.clone, ["tag", "-l"]).trim()).toBe("");
  });

  it("names the missing overlay", async () => {
    const remote = gitRemoteResource();
    const error = (await recordApproval({ repo: remote.clone, env: "qa", approver: QA }).catch(
      (e: unknown) => e,
    )) as PromotionError;
    expect(error.code).toBe("OVERLAY_NOT_FOUND");
    expect(error.message).toContain(
      "kustomize/qa/kustomization.yaml does not exist (kustomize/ holds base, prod, staging)",
    );
  });

  it("takes the approver from git's configuration when none is given", async () => {
    const remote = gitRemoteResource();
    git(remote.clone, ["config", "user.name", "Casey Configured"]);
    git(remote.clone, ["config", "user.email", "casey@example.com"]);
    const approval = await recordApproval({ repo: remote.clone, env: "staging" });
    expect(approval.approver).toBe("Casey Configured <casey@example.com>");
    expect(remote.remoteGit(["for-each-ref", "--format=%(taggername) %(taggeremail)", "refs/tags/"]).trim()).toBe(
      "Casey Configured <casey@example.com>",
    );
  });

  it("refuses a malformed approver", async () => {
    const error = (await recordApproval({ repo: "/tmp", env: "staging", approver: { name: "", email: "x" } }).catch(
      (e: unknown) => e,
    )) as PromotionError;
    expect(error.code).toBe("INVALID_OPTIONS");
    expect(error.message).toContain("approver.name:");
  });
});
