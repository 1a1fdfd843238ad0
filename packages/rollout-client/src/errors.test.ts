import { describe, expect, it } from "vitest";
import { errorFromResponse, redactSecrets } from "./errors.js";

const rollout = { kind: "Rollout", name: "web", namespace: "shop" };

describe("errorFromResponse maps the API server's Status to a typed error", () => {
  it.each([
    [404, "NotFound", "NOT_FOUND"],
    [403, "Forbidden", "FORBIDDEN"],
    [401, "Unauthorized", "FORBIDDEN"],
    [409, "Conflict", "CONFLICT"],
    [422, "Invalid", "INVALID"],
    [400, "BadRequest", "INVALID"],
    [504, "Timeout", "TIMEOUT"],
    [429, "TooManyRequests", "UNAVAILABLE"],
    [500, "InternalError", "UNAVAILABLE"],
    [503, "ServiceUnavailable", "UNAVAILABLE"],
  ])("HTTP %i %s is %s", (status, reason, code) => {
    const error = errorFromResponse(status, { kind: "Status", reason, message: "the message" }, rollout);
    expect(error.code).toBe(code);
    expect(error.reason).toBe(reason);
    expect(error.httpStatus).toBe(status);
    expect(error.message).toMatch(/^Rollout "web" in namespace "shop": the message/);
  });
  it("says what the server answered when the body is not a Status", () => {
    expect(errorFromResponse(502, undefined, rollout).message).toBe(
      'Rollout "web" in namespace "shop": the API server answered HTTP 502',
    );
  });
});

describe("redactSecrets", () => {
  it.each([
    ["https://admin:s3cret@k8s.example:6443/api", "https://***@k8s.example:6443/api"],
    ["Authorization: Bearer eyJhbGciOi.abc-def_ghi", "Authorization: Bearer ***"],
    ["GET /x?token=abc123&y=1", "GET /x?token=***&y=1"],
  ])("hides the credentials in %s", (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});
