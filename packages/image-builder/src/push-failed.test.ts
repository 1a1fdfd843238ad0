import { describe, expect, it } from "vitest";
import { pushFailed } from "./engine.js";

describe("pushFailed", () => {
  it("calls an unreachable registry a push failure even when a digest in the message holds 401", () => {
    const text = "writing blob sha256:8a4015c2e9d1f401ab: dial tcp 127.0.0.1:1: connect: connection refused";
    expect(pushFailed("127.0.0.1:1/team/app:tag", text, undefined, []).code).toBe("PUSH_FAILED");
  });

  it("calls a refusal by the registry an authentication failure", () => {
    for (const text of ["unauthorized: authentication required", "denied: requested access is denied", "HTTP 401"]) {
      expect(pushFailed("127.0.0.1:5000/team/app:tag", text, undefined, []).code).toBe("AUTH_FAILED");
    }
  });
});
