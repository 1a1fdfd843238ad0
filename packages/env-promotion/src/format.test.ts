import { describe, expect, it } from "vitest";
import type { PromotionResult } from "./deliver.js";
import { formatApproval, formatPromotion } from "./format.js";

const base: PromotionResult = {
  action: "promote",
  status: "pull-request",
  from: "staging",
  to: "prod",
  base: "main",
  remote: "origin",
  overlay: "kustomize/prod/kustomization.yaml",
  baseCommit: "0123456789abcdef0123456789abcdef01234567",
  images: [
    {
      name: "frontend",
      before: { name: "frontend", newName: "reg/frontend", newTag: "v1.0.0" },
      after: { name: "frontend", newName: "reg/frontend", newTag: "v1.0.1" },
      change: "updated",
    },
    { name: "cart", before: null, after: { name: "cart", newTag: "v1.0.1" }, change: "added" },
  ],
  untouched: ["redis"],
  approval: {
    tag: "qa-approved/staging/0123456789ab",
    env: "staging",
    commit: "0123456789abcdef0123456789abcdef01234567",
    approver: "Quinn <qa@example.com>",
    date: "2026-11-27T10:00:00+00:00",
    images: [],
    created: false,
  },
  forced: false,
  branch: "promote/staging-to-prod-0123456789ab",
  commit: "fedcba9876543210fedcba9876543210fedcba98",
  pullRequest: { number: 42, url: "https://github.com/acme/gitops/pull/42" },
};

describe("formatPromotion", () => {
  it("shows a proposed promotion with its image table", () => {
    expect(formatPromotion(base)).toBe(
      [
        "Promotion of staging to prod proposed in pull request #42: https://github.com/acme/gitops/pull/42",
        "  overlay      kustomize/prod/kustomization.yaml",
        "  base         origin/main at 0123456789ab",
        "  branch       promote/staging-to-prod-0123456789ab",
        "  commit       fedcba9876543210fedcba9876543210fedcba98",
        "  QA approval  qa-approved/staging/0123456789ab by Quinn <qa@example.com> (2026-11-27T10:00:00+00:00)",
        "",
        "  IMAGE     CHANGE   PROD BEFORE          AFTER",
        "  frontend  updated  reg/frontend:v1.0.0  reg/frontend:v1.0.1",
        "  cart      added    (not in prod)        cart:v1.0.1",
        "",
        "  Left as they are (not in staging): redis",
      ].join("\n"),
    );
  });

  it.each<[Partial<PromotionResult>, string]>([
    [{ status: "pushed" }, "Promoted staging to prod: pushed to origin/main."],
    [{ status: "planned" }, "Dry run: would promote staging to prod."],
    [{ status: "up-to-date" }, "prod already runs what staging runs: nothing to promote, nothing committed."],
    [{ action: "revert", status: "pushed", reverted: "abc" }, "Rolled back prod: pushed to origin/main."],
    [
      { action: "revert", status: "up-to-date", reverted: "abcdef0123456789" },
      "Reverting abcdef012345 changes nothing in prod: nothing committed.",
    ],
  ])("says what happened: %o", (change, firstLine) => {
    expect(formatPromotion({ ...base, ...change }).split("\n")[0]).toBe(firstLine);
  });
});

describe("formatApproval", () => {
  it("shows who approved which images", () => {
    expect(
      formatApproval({
        tag: "qa-approved/staging/0123456789ab",
        env: "staging",
        commit: "0123456789abcdef0123456789abcdef01234567",
        approver: "Quinn <qa@example.com>",
        date: "2026-11-27T10:00:00+00:00",
        images: [
          { name: "frontend", newName: "reg/frontend", newTag: "v1.0.1" },
          { name: "cart", digest: "sha256:0123456789abcdef0123456789abcdef" },
        ],
        created: true,
      }),
    ).toBe(
      [
        "Recorded: QA approval of staging at 0123456789ab",
        "  tag       qa-approved/staging/0123456789ab",
        "  approver  Quinn <qa@example.com>",
        "  date      2026-11-27T10:00:00+00:00",
        "",
        "  IMAGE     APPROVED",
        "  frontend  reg/frontend:v1.0.1",
        "  cart      cart@sha256:0123456789abcdef0123456789abcdef",
      ].join("\n"),
    );
  });
});
