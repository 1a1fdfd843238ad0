/**
 * The one map code → HTTP status and the one map code → exit code: every code of every error class has both (the
 * compiler checks the records below list each code exactly once), and a cluster error met mid-run reaches the
 * caller with the cluster's code at the top (finding 12), against kube-sim.
 */
import type { DeployRulesErrorCode } from "@rollway/deploy-rules";
import type { OConfigErrorCode } from "@rollway/oconfig-versioning";
import type { PayloadErrorCode } from "@rollway/payload-schema";
import type { RolloutClientErrorCode } from "@rollway/rollout-client";
import { describe, expect, it } from "vitest";
import type { EnvironmentErrorCode } from "./environment.js";
import { ERROR_EXIT_CODE, ERROR_HTTP_STATUS, exitCodeOfCode, httpStatusOfCode } from "./error-codes.js";
import { ReleaseError, type ReleaseErrorCode } from "./errors.js";
import { BACKENDS, eventLog, NS, OLD, oldImage, releaseSimResource, seedPayload } from "./test-helpers/release-sim.js";

// Each record must name every code of its union (a missing or unknown key does not compile).
const RELEASE: Record<ReleaseErrorCode, true> = {
  INVALID_PLAN: true,
  LOCKED: true,
  FAILED: true,
  ABORTED: true,
  NOT_FOUND: true,
  INVALID_STATE: true,
  CLUSTER: true,
  NOT_STABLE: true,
  NOT_RUNNING: true,
  TIMEOUT: true,
  NOT_NEWEST: true,
  FORBIDDEN: true,
  CONFLICT: true,
  ALREADY_EXISTS: true,
  GONE: true,
  INVALID: true,
  UNAVAILABLE: true,
};
const ROLLOUT_CLIENT: Record<RolloutClientErrorCode, true> = {
  NOT_FOUND: true,
  FORBIDDEN: true,
  CONFLICT: true,
  ALREADY_EXISTS: true,
  GONE: true,
  INVALID: true,
  TIMEOUT: true,
  UNAVAILABLE: true,
};
const PAYLOAD: Record<PayloadErrorCode, true> = {
  INVALID_JSON: true,
  INVALID_PAYLOAD: true,
  TOO_LARGE: true,
  TOO_DEEP: true,
};
const DEPLOY_RULES: Record<DeployRulesErrorCode, true> = {
  INVALID_PATTERN: true,
  UNSAFE_PATTERN: true,
  UNMATCHED_IMAGE: true,
  CONFLICTING_RULES: true,
  INVALID_NAME: true,
};
const ENVIRONMENT: Record<EnvironmentErrorCode, true> = {
  YAML_SYNTAX: true,
  INVALID_ENVIRONMENT: true,
  INVALID_OCONFIG: true,
  UNSUPPORTED_STRATEGY: true,
  UNKNOWN_REFERENCE: true,
  DUPLICATE: true,
  DISCOVERY: true,
};
const OCONFIG: Record<OConfigErrorCode, true> = {
  INVALID_SHAPE: true,
  INVALID_JSON: true,
  NOT_AN_OBJECT: true,
  UNKNOWN_VERSION: true,
  DUPLICATE_VERSION: true,
  PRODUCTION_MODE_REQUIRED: true,
  INVALID_NAME: true,
  CONTAINER_NOT_FOUND: true,
  INVALID_OPTION: true,
};

describe("the code maps", () => {
  it.each(Object.entries({ RELEASE, ROLLOUT_CLIENT, PAYLOAD, DEPLOY_RULES, ENVIRONMENT, OCONFIG }))(
    "give every %s error code an HTTP status and an exit code",
    (_family, codes) => {
      for (const code of Object.keys(codes)) {
        expect(ERROR_HTTP_STATUS, code).toHaveProperty(code);
        expect(ERROR_EXIT_CODE, code).toHaveProperty(code);
        expect(httpStatusOfCode(code)).toBeGreaterThanOrEqual(400);
        expect([1, 2, 3]).toContain(exitCodeOfCode(code));
      }
    },
  );

  it("says what the documented exit codes and statuses promise", () => {
    expect(
      Object.fromEntries(
        ["INVALID_PLAN", "TIMEOUT", "FAILED", "FORBIDDEN", "INVALID_PAYLOAD"].map((c) => [c, exitCodeOfCode(c)]),
      ),
    ).toEqual({ INVALID_PLAN: 2, TIMEOUT: 3, FAILED: 1, FORBIDDEN: 1, INVALID_PAYLOAD: 2 });
    expect(
      Object.fromEntries(
        ["INVALID_PLAN", "NOT_FOUND", "LOCKED", "TIMEOUT", "FORBIDDEN", "TOO_LARGE"].map((c) => [
          c,
          httpStatusOfCode(c),
        ]),
      ),
    ).toEqual({ INVALID_PLAN: 400, NOT_FOUND: 404, LOCKED: 409, TIMEOUT: 504, FORBIDDEN: 502, TOO_LARGE: 413 });
    // The webhook server's ConfigError: a setting to fix before starting again (2); over HTTP the server's own fault.
    expect([exitCodeOfCode("CONFIG_INVALID"), httpStatusOfCode("CONFIG_INVALID")]).toEqual([2, 500]);
    // A code nobody declared (a Node system error's ENOENT, nothing at all) is a failure, not the caller's fault.
    expect([exitCodeOfCode("ENOENT"), exitCodeOfCode(undefined), httpStatusOfCode("ENOENT")]).toEqual([1, 1, 500]);
    // Only own keys count: `toString` is not a code.
    expect([exitCodeOfCode("toString"), httpStatusOfCode("constructor")]).toEqual([1, 500]);
  });
});

describe("finding 12: a cluster error met mid-run", () => {
  it("reaches the caller as FORBIDDEN at the top when RBAC denies the code-as-data Job: rolled back, record failed, event code FORBIDDEN", async () => {
    const k = await releaseSimResource();
    const denied = k.sim.faults.deny({ verb: "create", resource: "jobs" });
    const log = eventLog();
    const error = await k.engine
      .apply(await k.engine.plan(seedPayload({ noDowntime: { promotionMode: "auto" } }), k.environment), {
        onEvent: log.onEvent,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    denied.clear();
    expect(error).toBeInstanceOf(ReleaseError);
    expect(error).toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("and was rolled back") });
    expect((error as ReleaseError).message).toMatch(/Job|jobs/);
    // Reached mid-run: every preview was ready, then the Job was refused.
    expect(log.types()).toContain("previews-ready");
    expect(log.events.find((e) => e.type === "failed")).toMatchObject({ code: "FORBIDDEN" });
    const record = await k.engine.get((error as ReleaseError).release as string, NS);
    expect(record.state).toBe("failed");
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
    for (const b of BACKENDS) expect((await k.serving(b)).image).toBe(oldImage(b));
  });
});
