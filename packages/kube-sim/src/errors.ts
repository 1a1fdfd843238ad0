/**
 * Errors. `KubeApiError` is what the API server answers with: it carries the exact Kubernetes `Status` object
 * (kind Status, apiVersion v1, reason, details, code) that a real kube-apiserver would send for the same failure.
 * `KubeSimError` is for mistakes in using the simulator itself (bad options, unreadable CRD files).
 */

export type StatusReason =
  | "BadRequest"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "Forbidden"
  | "Gone"
  | "Expired"
  | "TooManyRequests"
  | "InternalError"
  | "MethodNotAllowed"
  | "UnsupportedMediaType"
  | "NotAcceptable"
  | "Timeout"
  | "ServiceUnavailable"
  | "RequestEntityTooLarge";

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The `Status` object of the Kubernetes API (meta/v1), as the server writes it for failures. */
export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message: string;
  reason: StatusReason | "";
  details?: StatusDetails;
  code: number;
}

export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(
    code: number,
    reason: StatusReason,
    message: string,
    details?: StatusDetails,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): KubeStatus {
    const status: KubeStatus = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

/** What a resource is called in messages: `deployments.apps`, `pods`, `rollouts.argoproj.io`. */
export interface QualifiedResource {
  group: string;
  resource: string;
  kind: string;
}

function qualified(r: QualifiedResource): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

function groupKind(r: QualifiedResource): string {
  return r.group ? `${r.kind}.${r.group}` : r.kind;
}

// Messages below follow k8s.io/apimachinery/pkg/api/errors so that clients matching on them keep working.
export const apiErrors = {
  notFound(r: QualifiedResource, name: string): KubeApiError {
    return new KubeApiError(404, "NotFound", `${qualified(r)} "${name}" not found`, {
      name,
      group: r.group,
      kind: r.resource,
    });
  },
  alreadyExists(r: QualifiedResource, name: string): KubeApiError {
    return new KubeApiError(409, "AlreadyExists", `${qualified(r)} "${name}" already exists`, {
      name,
      group: r.group,
      kind: r.resource,
    });
  },
  conflict(r: QualifiedResource, name: string, why: string): KubeApiError {
    return new KubeApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
      name,
      group: r.group,
      kind: r.resource,
    });
  },
  invalid(r: QualifiedResource, name: string, causes: StatusCause[]): KubeApiError {
    const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    const joined = list.length === 1 ? (list[0] ?? "") : `[${list.join(", ")}]`;
    return new KubeApiError(422, "Invalid", `${groupKind(r)} "${name}" is invalid: ${joined}`, {
      name,
      group: r.group,
      kind: r.kind,
      causes: causes.map((c) => ({ reason: c.reason ?? "FieldValueInvalid", message: c.message, field: c.field })),
    });
  },
  badRequest(message: string, causes?: StatusCause[]): KubeApiError {
    return new KubeApiError(400, "BadRequest", message, causes ? { causes } : undefined);
  },
  forbidden(r: QualifiedResource, name: string, why: string): KubeApiError {
    return new KubeApiError(403, "Forbidden", `${qualified(r)} "${name}" is forbidden: ${why}`, {
      name,
      group: r.group,
      kind: r.resource,
    });
  },
  methodNotAllowed(message: string): KubeApiError {
    return new KubeApiError(405, "MethodNotAllowed", message);
  },
  unsupportedMediaType(contentType: string): KubeApiError {
    return new KubeApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got "${contentType}")`,
    );
  },
  gone(message: string): KubeApiError {
    return new KubeApiError(410, "Expired", message);
  },
  tooManyRequests(retryAfterSeconds: number): KubeApiError {
    return new KubeApiError(
      429,
      "TooManyRequests",
      "the server has received too many requests and has asked us to try again later",
      {
        retryAfterSeconds,
      },
    );
  },
  internal(message: string, cause?: unknown): KubeApiError {
    return new KubeApiError(
      500,
      "InternalError",
      `Internal error occurred: ${message}`,
      { causes: [{ message }] },
      { cause },
    );
  },
};

export type KubeSimErrorCode = "INVALID_OPTIONS" | "CRD_LOAD_FAILED" | "START_FAILED" | "CLOSED";

/** A mistake in how the simulator is used or set up (not an API answer). */
export class KubeSimError extends Error {
  override readonly name = "KubeSimError";
  readonly code: KubeSimErrorCode;
  /** The file the problem is in, when there is one. */
  readonly path: string | undefined;

  constructor(code: KubeSimErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options?.path;
  }
}
