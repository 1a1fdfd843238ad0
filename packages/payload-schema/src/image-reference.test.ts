import { checkRulePattern } from "@rollway/deploy-rules";
import { describe, expect, it } from "vitest";
import { IMAGE_REFERENCE_PATTERN, parseImageReference } from "./image-reference.js";

const digest = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("parseImageReference", () => {
  it.each([
    [
      "my-registry/image-for-backend-1:tag",
      { registry: undefined, repository: "my-registry/image-for-backend-1", tag: "tag" },
    ],
    ["nginx:1.27", { registry: undefined, repository: "nginx", tag: "1.27" }],
    ["ghcr.io/org/team/app:v1.2.3", { registry: "ghcr.io", repository: "org/team/app", tag: "v1.2.3" }],
    ["localhost:5000/app:main-abc1234", { registry: "localhost:5000", repository: "app", tag: "main-abc1234" }],
    [`127.0.0.1:5000/app@${digest}`, { registry: "127.0.0.1:5000", repository: "app", digest }],
    [`reg.example.com/app:1@${digest}`, { registry: "reg.example.com", repository: "app", tag: "1", digest }],
    ["localhost/app:1", { registry: "localhost", repository: "app", tag: "1" }],
  ])("parses %s", (text, expected) => {
    expect(parseImageReference(text)).toEqual({ ok: true, value: { tag: undefined, digest: undefined, ...expected } });
  });

  it.each(["", "app:", "app@sha256:abc", "Reg/App:1", "app:1:2", "a/../b:1", `app:${"x".repeat(129)}`, "r//a:1"])(
    "refuses %j",
    (text) => {
      expect(parseImageReference(text).ok).toBe(false);
    },
  );

  it("uses a pattern that recheck proves free of catastrophic backtracking", () => {
    expect(checkRulePattern(IMAGE_REFERENCE_PATTERN.source).ok).toBe(true);
  });
});
