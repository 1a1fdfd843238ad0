/**
 * The one error class of the release engine, in the style of TRPCError: a `code` saying what went wrong and the
 * facts a person needs (environment, release, component, resource), with the original error kept as `cause`.
 */
export type ReleaseErrorCode =
  /** The payload and the environment do not make a release (a routed backend missing, a workload of the wrong kind). */
  | "INVALID_PLAN"
  /** Another release holds the environment's Lease. */
  | "LOCKED"
  /** A preview never became ready, a Job failed or timed out, a promotion failed: the release was aborted. */
  | "FAILED"
  /** The caller's signal aborted the release (every component was rolled back to stable). */
  | "ABORTED"
  /** No such release record, or nothing to roll back to. */
  | "NOT_FOUND"
  /** An approval for a release that is not waiting for one, or a state change that does not apply. */
  | "INVALID_STATE"
  /** The cluster refused or could not be reached. */
  | "CLUSTER"
  /** A component the release changes is not settled (a version in preview, an update under way): nothing was changed. */
  | "NOT_STABLE"
  /**
   * A decision (promote, approve, abort) on a release that no engine runs (its engine stopped and its Lease
   * expired): nothing was decided; `rollway recover <environment>` takes it over.
   */
  | "NOT_RUNNING"
  /** The caller's time limit ran out: the release was rolled back (or is left as the message says). */
  | "TIMEOUT"
  /** A rollback of a release that is not the newest promoted one, without naming the releases it would undo. */
  | "NOT_NEWEST"
  /*
   * The cluster's own codes (rollout-client's RolloutClientError), kept at the top when a release met them mid-run
   * and was rolled back: RBAC or authentication said no (FORBIDDEN), the object changed under every retry
   * (CONFLICT), a create found the name taken (ALREADY_EXISTS), a resourceVersion expired (GONE), the object was
   * refused as invalid (INVALID), the API server stayed unavailable after the retries (UNAVAILABLE).
   */
  | "FORBIDDEN"
  | "CONFLICT"
  | "ALREADY_EXISTS"
  | "GONE"
  | "INVALID"
  | "UNAVAILABLE";

/** One thing wrong with a release, where: `backend-2`, `frontend.image`, `hooks.preRelease[0]`. */
export interface PlanProblem {
  path: string;
  message: string;
}

export interface ReleaseErrorFacts {
  environment?: string;
  release?: string;
  component?: string;
  /** `Kind/name` in `namespace`. */
  resource?: string;
  /** For LOCKED: the release that holds the environment. */
  holder?: string;
  /** For CLUSTER: the HTTP status the API server answered (404, 409…), when it answered. */
  httpStatus?: number;
  /** For INVALID_PLAN: every problem, structured (the message lists them too, for people). */
  problems?: PlanProblem[];
  /** For NOT_STABLE: what `component` is doing instead of serving one settled version (`Rollout "web" is Progressing`). */
  detail?: string;
  cause?: unknown;
}

export class ReleaseError extends Error {
  override readonly name = "ReleaseError";
  readonly code: ReleaseErrorCode;
  readonly environment: string | undefined;
  readonly release: string | undefined;
  readonly component: string | undefined;
  readonly resource: string | undefined;
  readonly holder: string | undefined;
  readonly httpStatus: number | undefined;
  readonly problems: PlanProblem[] | undefined;
  readonly detail: string | undefined;

  constructor(code: ReleaseErrorCode, message: string, facts: ReleaseErrorFacts = {}) {
    super(message, facts.cause === undefined ? {} : { cause: facts.cause });
    this.code = code;
    this.environment = facts.environment;
    this.release = facts.release;
    this.component = facts.component;
    this.resource = facts.resource;
    this.holder = facts.holder;
    this.httpStatus = facts.httpStatus;
    this.problems = facts.problems;
    this.detail = facts.detail;
  }
}
