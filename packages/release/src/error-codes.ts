/**
 * The one map from an error's `code` to the HTTP status the server answers, and the one map to the exit code the
 * CLI (and the Action) ends with, for every rollway error class with a code: ReleaseError, RolloutClientError,
 * PayloadError, DeployRulesError, EnvironmentError, OConfigError, and the codes of the image builder, snapshooter,
 * environment promotion, notifications, kube-sim, the webhook server and the CLI itself. Codes that several classes share mean the
 * same thing in each (NOT_FOUND, TIMEOUT, LOCKED, ABORTED, INVALID_OPTIONS…), so the code alone decides.
 *
 * This module has no runtime imports: `@rollway/release/error-codes` loads nothing else, so the CLI can print an
 * error without loading the engine.
 */
import type { DeployRulesErrorCode } from "@rollway/deploy-rules";
import type { OConfigErrorCode } from "@rollway/oconfig-versioning";
import type { PayloadErrorCode } from "@rollway/payload-schema";
import type { RolloutClientErrorCode } from "@rollway/rollout-client";
import type { EnvironmentErrorCode } from "./environment.js";
import type { ReleaseErrorCode } from "./errors.js";

/** The CLI's documented exit codes (its README): 1 failed, 2 bad input (fix and run again), 3 timed out. */
const EXIT_FAILED = 1;
const EXIT_BAD_INPUT = 2;
const EXIT_TIMED_OUT = 3;
export type ErrorExitCode = typeof EXIT_FAILED | typeof EXIT_BAD_INPUT | typeof EXIT_TIMED_OUT;

/** Codes of the packages the release engine is built on: the compiler checks that each one has both entries. */
export type EngineErrorCode =
  | ReleaseErrorCode
  | RolloutClientErrorCode
  | PayloadErrorCode
  | DeployRulesErrorCode
  | EnvironmentErrorCode
  | OConfigErrorCode;

/**
 * Codes of the other packages and apps (image-builder, snapshooter, env-promotion, notifications, kube-sim, the
 * webhook server's CONFIG_INVALID, the CLI's USAGE), listed here as strings so that this module stays free of their
 * dependencies. The compiler cannot see those packages from here: the CLI's and the webhook server's
 * `error-codes.test.ts` (which depend on them) fail to compile when one of their codes is missing below.
 */
export type OtherErrorCode =
  // image-builder
  | "INVALID_OPTIONS"
  | "SOURCES_NOT_FOUND"
  | "DOCKERFILE_NOT_FOUND"
  | "DOCKER_CONFIG_INVALID"
  | "CREDENTIAL_HELPER_FAILED"
  | "ENGINE_UNREACHABLE"
  | "BUILD_FAILED"
  | "PUSH_FAILED"
  | "AUTH_FAILED"
  | "GIT_FAILED"
  // snapshooter
  | "CONFIG_NOT_FOUND"
  | "INVALID_CONFIG"
  | "UNKNOWN_ENTRY"
  | "SOURCE_UNAVAILABLE"
  | "INVALID_EXPORT"
  | "UNKNOWN_ROOT"
  | "INVALID_PATCHES"
  | "WRITE_FAILED"
  | "PUSH_REJECTED"
  | "TOO_MANY_REMOVED"
  // env-promotion
  | "NOT_A_GIT_REPO"
  | "REMOTE_FAILED"
  | "BRANCH_NOT_FOUND"
  | "OVERLAY_NOT_FOUND"
  | "KUSTOMIZATION_INVALID"
  | "IMAGE_NOT_IN_TARGET"
  | "APPROVAL_MISSING"
  | "APPROVAL_UNTRUSTED"
  | "SIGNING_FAILED"
  | "BRANCH_EXISTS"
  | "GITHUB_CONFIG_MISSING"
  | "GITHUB_REQUEST_FAILED"
  | "PROMOTION_NOT_FOUND"
  | "REVERT_CONFLICT"
  | "EDIT_CHECK_FAILED"
  | "IMAGE_NOT_IN_REGISTRY"
  | "REGISTRY_REQUEST_FAILED"
  | "SOURCE_UNHEALTHY"
  | "ARGOCD_REQUEST_FAILED"
  | "PULL_REQUEST_CLOSED"
  | "TARGET_DEGRADED"
  | "WAIT_TIMEOUT"
  // notifications
  | "SECRET"
  | "DELIVERY"
  // kube-sim
  | "CRD_LOAD_FAILED"
  | "START_FAILED"
  | "CLOSED"
  // the webhook server: a setting it cannot start with (ConfigError)
  | "CONFIG_INVALID"
  // the CLI's own
  | "USAGE";

export type KnownErrorCode = EngineErrorCode | OtherErrorCode;

/** code → HTTP status of the server's answer. A cluster's refusal seen by the server is a bad gateway (502). */
export const ERROR_HTTP_STATUS = {
  // release engine
  INVALID_PLAN: 400,
  LOCKED: 409,
  FAILED: 409,
  ABORTED: 409,
  NOT_FOUND: 404,
  INVALID_STATE: 409,
  CLUSTER: 502,
  NOT_STABLE: 409,
  NOT_RUNNING: 409,
  TIMEOUT: 504,
  NOT_NEWEST: 409,
  // the cluster (rollout-client), also at the top of a release that met them
  FORBIDDEN: 502,
  CONFLICT: 502,
  ALREADY_EXISTS: 502,
  GONE: 502,
  INVALID: 502,
  UNAVAILABLE: 502,
  // payload
  INVALID_JSON: 400,
  INVALID_PAYLOAD: 400,
  TOO_LARGE: 413,
  TOO_DEEP: 400,
  // deploy rules
  INVALID_PATTERN: 400,
  UNSAFE_PATTERN: 400,
  UNMATCHED_IMAGE: 400,
  CONFLICTING_RULES: 400,
  INVALID_NAME: 400,
  // environment: on the server it is discovered from the cluster, so the cluster must change (409)
  YAML_SYNTAX: 409,
  INVALID_ENVIRONMENT: 409,
  INVALID_OCONFIG: 409,
  UNSUPPORTED_STRATEGY: 409,
  UNKNOWN_REFERENCE: 409,
  DUPLICATE: 409,
  DISCOVERY: 502,
  // oConfig
  INVALID_SHAPE: 400,
  NOT_AN_OBJECT: 400,
  UNKNOWN_VERSION: 400,
  DUPLICATE_VERSION: 400,
  PRODUCTION_MODE_REQUIRED: 400,
  CONTAINER_NOT_FOUND: 400,
  INVALID_OPTION: 400,
  // image-builder
  INVALID_OPTIONS: 400,
  SOURCES_NOT_FOUND: 400,
  DOCKERFILE_NOT_FOUND: 400,
  DOCKER_CONFIG_INVALID: 400,
  CREDENTIAL_HELPER_FAILED: 500,
  ENGINE_UNREACHABLE: 503,
  BUILD_FAILED: 422,
  PUSH_FAILED: 502,
  AUTH_FAILED: 502,
  GIT_FAILED: 500,
  // snapshooter
  CONFIG_NOT_FOUND: 400,
  INVALID_CONFIG: 400,
  UNKNOWN_ENTRY: 400,
  SOURCE_UNAVAILABLE: 502,
  INVALID_EXPORT: 502,
  UNKNOWN_ROOT: 400,
  INVALID_PATCHES: 400,
  WRITE_FAILED: 500,
  PUSH_REJECTED: 409,
  TOO_MANY_REMOVED: 409,
  // env-promotion
  NOT_A_GIT_REPO: 400,
  REMOTE_FAILED: 502,
  BRANCH_NOT_FOUND: 400,
  OVERLAY_NOT_FOUND: 400,
  KUSTOMIZATION_INVALID: 400,
  IMAGE_NOT_IN_TARGET: 409,
  APPROVAL_MISSING: 403,
  APPROVAL_UNTRUSTED: 403,
  SIGNING_FAILED: 500,
  BRANCH_EXISTS: 409,
  GITHUB_CONFIG_MISSING: 400,
  GITHUB_REQUEST_FAILED: 502,
  PROMOTION_NOT_FOUND: 404,
  REVERT_CONFLICT: 409,
  EDIT_CHECK_FAILED: 422,
  IMAGE_NOT_IN_REGISTRY: 409,
  REGISTRY_REQUEST_FAILED: 502,
  SOURCE_UNHEALTHY: 409,
  ARGOCD_REQUEST_FAILED: 502,
  PULL_REQUEST_CLOSED: 409,
  TARGET_DEGRADED: 409,
  WAIT_TIMEOUT: 504,
  // notifications
  SECRET: 400,
  DELIVERY: 502,
  // kube-sim
  CRD_LOAD_FAILED: 500,
  START_FAILED: 500,
  CLOSED: 500,
  // the webhook server: its own settings are wrong, not the caller's request
  CONFIG_INVALID: 500,
  // the CLI
  USAGE: 400,
} as const satisfies Record<KnownErrorCode, number>;

/** code → the CLI's exit code: 2 when the user can fix the input and run again, 3 for a time limit, else 1. */
export const ERROR_EXIT_CODE = {
  // release engine
  INVALID_PLAN: EXIT_BAD_INPUT,
  LOCKED: EXIT_FAILED,
  FAILED: EXIT_FAILED,
  ABORTED: EXIT_FAILED,
  NOT_FOUND: EXIT_BAD_INPUT,
  INVALID_STATE: EXIT_BAD_INPUT,
  CLUSTER: EXIT_FAILED,
  NOT_STABLE: EXIT_FAILED,
  NOT_RUNNING: EXIT_FAILED,
  TIMEOUT: EXIT_TIMED_OUT,
  // Nothing changed and the fix is in the arguments: name the releases it undoes (--undoing) or roll back the newest.
  NOT_NEWEST: EXIT_BAD_INPUT,
  // the cluster
  FORBIDDEN: EXIT_FAILED,
  CONFLICT: EXIT_FAILED,
  ALREADY_EXISTS: EXIT_FAILED,
  GONE: EXIT_FAILED,
  INVALID: EXIT_BAD_INPUT,
  UNAVAILABLE: EXIT_FAILED,
  // payload
  INVALID_JSON: EXIT_BAD_INPUT,
  INVALID_PAYLOAD: EXIT_BAD_INPUT,
  TOO_LARGE: EXIT_BAD_INPUT,
  TOO_DEEP: EXIT_BAD_INPUT,
  // deploy rules
  INVALID_PATTERN: EXIT_BAD_INPUT,
  UNSAFE_PATTERN: EXIT_BAD_INPUT,
  UNMATCHED_IMAGE: EXIT_BAD_INPUT,
  CONFLICTING_RULES: EXIT_BAD_INPUT,
  INVALID_NAME: EXIT_BAD_INPUT,
  // environment
  YAML_SYNTAX: EXIT_BAD_INPUT,
  INVALID_ENVIRONMENT: EXIT_BAD_INPUT,
  INVALID_OCONFIG: EXIT_BAD_INPUT,
  UNSUPPORTED_STRATEGY: EXIT_BAD_INPUT,
  UNKNOWN_REFERENCE: EXIT_BAD_INPUT,
  DUPLICATE: EXIT_BAD_INPUT,
  DISCOVERY: EXIT_BAD_INPUT,
  // oConfig
  INVALID_SHAPE: EXIT_BAD_INPUT,
  NOT_AN_OBJECT: EXIT_BAD_INPUT,
  UNKNOWN_VERSION: EXIT_BAD_INPUT,
  DUPLICATE_VERSION: EXIT_BAD_INPUT,
  PRODUCTION_MODE_REQUIRED: EXIT_BAD_INPUT,
  CONTAINER_NOT_FOUND: EXIT_BAD_INPUT,
  INVALID_OPTION: EXIT_BAD_INPUT,
  // image-builder
  INVALID_OPTIONS: EXIT_BAD_INPUT,
  SOURCES_NOT_FOUND: EXIT_BAD_INPUT,
  DOCKERFILE_NOT_FOUND: EXIT_BAD_INPUT,
  DOCKER_CONFIG_INVALID: EXIT_BAD_INPUT,
  CREDENTIAL_HELPER_FAILED: EXIT_FAILED,
  ENGINE_UNREACHABLE: EXIT_FAILED,
  BUILD_FAILED: EXIT_FAILED,
  PUSH_FAILED: EXIT_FAILED,
  AUTH_FAILED: EXIT_FAILED,
  GIT_FAILED: EXIT_FAILED,
  // snapshooter
  CONFIG_NOT_FOUND: EXIT_BAD_INPUT,
  INVALID_CONFIG: EXIT_BAD_INPUT,
  UNKNOWN_ENTRY: EXIT_BAD_INPUT,
  SOURCE_UNAVAILABLE: EXIT_FAILED,
  INVALID_EXPORT: EXIT_FAILED,
  UNKNOWN_ROOT: EXIT_FAILED,
  INVALID_PATCHES: EXIT_FAILED,
  WRITE_FAILED: EXIT_FAILED,
  PUSH_REJECTED: EXIT_FAILED,
  TOO_MANY_REMOVED: EXIT_FAILED,
  // env-promotion
  NOT_A_GIT_REPO: EXIT_BAD_INPUT,
  REMOTE_FAILED: EXIT_FAILED,
  BRANCH_NOT_FOUND: EXIT_BAD_INPUT,
  OVERLAY_NOT_FOUND: EXIT_BAD_INPUT,
  KUSTOMIZATION_INVALID: EXIT_BAD_INPUT,
  IMAGE_NOT_IN_TARGET: EXIT_FAILED,
  APPROVAL_MISSING: EXIT_FAILED,
  APPROVAL_UNTRUSTED: EXIT_FAILED,
  SIGNING_FAILED: EXIT_FAILED,
  BRANCH_EXISTS: EXIT_FAILED,
  GITHUB_CONFIG_MISSING: EXIT_FAILED,
  GITHUB_REQUEST_FAILED: EXIT_FAILED,
  PROMOTION_NOT_FOUND: EXIT_FAILED,
  REVERT_CONFLICT: EXIT_FAILED,
  EDIT_CHECK_FAILED: EXIT_FAILED,
  IMAGE_NOT_IN_REGISTRY: EXIT_FAILED,
  REGISTRY_REQUEST_FAILED: EXIT_FAILED,
  SOURCE_UNHEALTHY: EXIT_FAILED,
  ARGOCD_REQUEST_FAILED: EXIT_FAILED,
  PULL_REQUEST_CLOSED: EXIT_FAILED,
  TARGET_DEGRADED: EXIT_FAILED,
  WAIT_TIMEOUT: EXIT_TIMED_OUT,
  // notifications
  SECRET: EXIT_FAILED,
  DELIVERY: EXIT_FAILED,
  // kube-sim
  CRD_LOAD_FAILED: EXIT_FAILED,
  START_FAILED: EXIT_FAILED,
  CLOSED: EXIT_FAILED,
  // the webhook server: fix the setting and start again
  CONFIG_INVALID: EXIT_BAD_INPUT,
  // the CLI
  USAGE: EXIT_BAD_INPUT,
} as const satisfies Record<KnownErrorCode, ErrorExitCode>;

const known = (code: unknown): code is KnownErrorCode =>
  typeof code === "string" && Object.hasOwn(ERROR_HTTP_STATUS, code);

export type ErrorHttpStatus = (typeof ERROR_HTTP_STATUS)[KnownErrorCode] | 500;

/** The HTTP status for an error's code; 500 for a code nobody declared (a bug, not the caller's fault). */
export function httpStatusOfCode(code: unknown): ErrorHttpStatus {
  return known(code) ? ERROR_HTTP_STATUS[code] : 500;
}

/** The CLI's exit code for an error's code; 1 (failed) for a code nobody declared. */
export function exitCodeOfCode(code: unknown): ErrorExitCode {
  return known(code) ? ERROR_EXIT_CODE[code] : EXIT_FAILED;
}
