/**
 * The one error class of rollout-client. Every failure that reaches a caller is a RolloutClientError with a `code`,
 * the resource and namespace it concerns, and the API server's own reason when there was one.
 */
export type RolloutClientErrorCode =
  | "NOT_FOUND"
  /** 401 or 403: RBAC or authentication said no. The same code on every path, never "internal". */
  | "FORBIDDEN"
  /** 409 Conflict: the object changed since it was read (a resourceVersion precondition failed). */
  | "CONFLICT"
  /** 409 AlreadyExists: a create found the name taken (after a retried create, perhaps by the first attempt). */
  | "ALREADY_EXISTS"
  /** 410 Gone / Expired: a watch or list continued from a resourceVersion the server no longer has. */
  | "GONE"
  | "INVALID"
  | "TIMEOUT"
  /** 429, 5xx, a reset or unreachable server, after the retries the request was allowed. */
  | "UNAVAILABLE";

/** What a request was about: `Rollout/web` in `shop`. */
export interface ResourceRef {
  kind: string;
  name?: string;
  namespace?: string;
}

export interface RolloutClientErrorOptions {
  resource: ResourceRef;
  /** The HTTP status the API server answered, when it answered. */
  httpStatus?: number;
  /** The API server's `Status.reason` (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...). */
  reason?: string;
  /** The HTTP method of the request that failed, when one did: it prefixes the message (`PATCH Rollout "web" …`). */
  method?: string;
  /** How many times the request was sent (more than 1 when transient errors were retried). */
  attempts?: number;
  cause?: unknown;
}

export class RolloutClientError extends Error {
  override readonly name = "RolloutClientError";
  readonly code: RolloutClientErrorCode;
  readonly resource: ResourceRef;
  readonly httpStatus: number | undefined;
  readonly reason: string | undefined;
  readonly method: string | undefined;
  readonly attempts: number;

  constructor(code: RolloutClientErrorCode, message: string, options: RolloutClientErrorOptions) {
    super(
      `${options.method ? `${options.method} ` : ""}${describeResource(options.resource)}: ${message}`,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.code = code;
    this.resource = options.resource;
    this.httpStatus = options.httpStatus;
    this.reason = options.reason;
    this.method = options.method;
    this.attempts = options.attempts ?? 1;
  }
}

/**
 * Whether an error is the API server's answer with this HTTP status (404, 409, 410…), whatever path it came by.
 * Reads `httpStatus`, so it also accepts errors of other packages that carry one.
 */
export function hasHttpStatus(error: unknown, status: number): boolean {
  return typeof error === "object" && error !== null && (error as { httpStatus?: unknown }).httpStatus === status;
}

export function describeResource(ref: ResourceRef): string {
  const what = ref.name ? `${ref.kind} "${ref.name}"` : ref.kind;
  return ref.namespace ? `${what} in namespace "${ref.namespace}"` : what;
}

/** The fields of a Kubernetes `Status` object that explain a failure. */
export interface KubeStatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/**
 * Maps an API server answer to our codes, following the reasons `k8s.io/apimachinery/pkg/api/errors` defines:
 * 404 NotFound, 401/403 Forbidden, 409 Conflict/AlreadyExists, 400/422 Invalid/BadRequest, 408/504 Timeout, 410 Gone
 * and 429/5xx Unavailable.
 */
export function errorFromResponse(
  httpStatus: number,
  body: KubeStatusBody | undefined,
  resource: ResourceRef,
  request: { method?: string; attempts?: number } = {},
) {
  const reason = body?.reason;
  const serverMessage = body?.message ? redactSecrets(body.message) : `the API server answered HTTP ${httpStatus}`;
  const code = codeForStatus(httpStatus, reason);
  const hint = HINTS[code];
  const tries = request.attempts && request.attempts > 1 ? ` (after ${request.attempts} attempts)` : "";
  return new RolloutClientError(code, `${hint ? `${serverMessage} (${hint})` : serverMessage}${tries}`, {
    resource,
    httpStatus,
    reason,
    ...request,
  });
}

function codeForStatus(httpStatus: number, reason: string | undefined): RolloutClientErrorCode {
  if (httpStatus === 404) return "NOT_FOUND";
  if (httpStatus === 401 || httpStatus === 403) return "FORBIDDEN";
  if (httpStatus === 409) return reason === "AlreadyExists" ? "ALREADY_EXISTS" : "CONFLICT";
  if (httpStatus === 410) return "GONE";
  if (httpStatus === 408 || httpStatus === 504) return "TIMEOUT";
  if (httpStatus === 400 || httpStatus === 415 || httpStatus === 422) return "INVALID";
  return "UNAVAILABLE";
}

const HINTS: Partial<Record<RolloutClientErrorCode, string>> = {
  FORBIDDEN: "check the RBAC rules of the user or service account in the kubeconfig",
  CONFLICT: "the object kept changing while rollway tried to write it; try again",
};

/** Removes credentials from anything that may end up in a message: `https://user:pass@host` and bearer tokens. */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, "$1***@")
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, "$1***")
    .replace(/((?:token|password)=)[^&\s]+/gi, "$1***");
}
