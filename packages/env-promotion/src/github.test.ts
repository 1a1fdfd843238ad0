import { describe, expect, it } from "vitest";
import { PromotionError } from "./errors.js";
import { parseGitHubRemote, resolveGitHub } from "./github.js";

describe("parseGitHubRemote", () => {
  it.each([
    ["https://github.com/acme/gitops.git", { owner: "acme", repo: "gitops" }],
    ["https://x-access-token:abc@github.com/acme/gitops", { owner: "acme", repo: "gitops" }],
    ["git@github.com:acme/gitops.git", { owner: "acme", repo: "gitops" }],
    ["ssh://git@github.example.com:2222/acme/gitops.git", { owner: "acme", repo: "gitops" }],
    ["/srv/git/gitops.git", undefined],
  ])("reads %s", (url, expected) => {
    expect(parseGitHubRemote(url)).toEqual(expected);
  });
});

describe("resolveGitHub", () => {
  it("asks for owner and repo when the remote is not on GitHub, without showing credentials", () => {
    let error: unknown;
    try {
      resolveGitHub({ token: "t0ken-value" }, "https://bot:pa55word@/srv/git", "origin");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PromotionError);
    expect((error as PromotionError).message).toBe(
      'Cannot tell the GitHub repository from the URL of remote "origin" (https://***@/srv/git).\n  Fix: pass github.owner and github.repo.',
    );
  });
});
