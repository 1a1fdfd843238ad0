import { describe, expect, it } from "vitest";
import { redact } from "./redact.js";

describe("redact", () => {
  it.each([
    [
      "credentials in an https remote",
      "fatal: unable to access 'https://bot:s3cret@github.com/acme/gitops.git/'",
      "fatal: unable to access 'https://***@github.com/acme/gitops.git/'",
    ],
    [
      "a token as the user of a URL",
      "https://ghp_abcdefghijklmnopqrstuvwxyz@github.com/a/b",
      "https://***@github.com/a/b",
    ],
    ["a classic GitHub token anywhere", "token ghp_abcdefghijklmnopqrstuvwxyz0123 rejected", "token *** rejected"],
    ["a fine-grained GitHub token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "***"],
    ["an authorization header", "authorization: token abc.def", "authorization: ***"],
    [
      "an ssh scp-like remote, which holds no secret",
      "git@github.com:acme/gitops.git",
      "git@github.com:acme/gitops.git",
    ],
    [
      "plain text",
      "! [remote rejected] main -> main (pre-receive hook declined)",
      "! [remote rejected] main -> main (pre-receive hook declined)",
    ],
  ])("hides %s", (_, text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it("hides secrets it is told about, wherever they appear", () => {
    expect(redact("sent opaque-token-value to the server", ["opaque-token-value", undefined])).toBe(
      "sent *** to the server",
    );
  });
});
