/**
 * Which failed requests are sent again, and after how long: client-go's rules (`rest.Request`'s `checkWait` and
 * `IsRetryableFn`), extended to the writes that are safe to repeat.
 * - 429 Too Many Requests: the server did not process the request, so any request is sent again, after the
 *   `Retry-After` it asked for.
 * - 500, 502, 503, 504 and a cut connection (ECONNRESET, socket hang up, refused): the request may or may not have
 *   been processed, so only requests whose repetition does no harm are sent again: reads (GET, LIST, the start of a
 *   WATCH), PUT and PATCH that carry a resourceVersion precondition (a repeat of one that did apply answers 409
 *   Conflict, and the caller's conflict loop reads again), DELETE with preconditions, and POST of a named object (a repeat of one that did apply answers 409 AlreadyExists, which the
 *   error says with `attempts > 1`, for the caller to resolve). A POST with `generateName` is never repeated.
 * - Any other 4xx is the answer, never retried.
 * Attempts are bounded; delays grow exponentially with jitter, and a `Retry-After` longer than that is honoured.
 */
import type { PatchType } from "./connect.js";

export interface RetryOptions {
  /** How many times one request may be sent in all. Default 5; 1 turns retries off. */
  attempts?: number;
  /** The delay before the first retry; each next one doubles, up to `maxDelayMs`. Default 200 ms. */
  baseDelayMs?: number;
  /** Default 5 s. A `Retry-After` is honoured up to `maxRetryAfterMs`. */
  maxDelayMs?: number;
  /** The longest `Retry-After` honoured. Default 30 s. */
  maxRetryAfterMs?: number;
  /** A number in [0, 1); jitter spreads retries of many clients apart. Default Math.random. */
  random?: () => number;
  /**
   * Waits before a retry; resolves early (and the request then fails) if the signal aborts. Default: a timer on the
   * connection's clock. Tests pass one that records the delay and returns at once.
   */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

export interface ResolvedRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

export function resolveRetry(options: RetryOptions | undefined, defaultSleep: ResolvedRetry["sleep"]): ResolvedRetry {
  return {
    attempts: Math.max(1, options?.attempts ?? 5),
    baseDelayMs: options?.baseDelayMs ?? 200,
    maxDelayMs: options?.maxDelayMs ?? 5_000,
    maxRetryAfterMs: options?.maxRetryAfterMs ?? 30_000,
    random: options?.random ?? Math.random,
    sleep: options?.sleep ?? defaultSleep,
  };
}

/** The parts of a request that decide whether sending it twice is harmless. */
export interface RetryableRequest {
  method: string;
  body?: unknown;
  patchType?: PatchType | undefined;
  /** Set by a caller that knows better, either way. */
  idempotent?: boolean | undefined;
}

/** HTTP statuses after which the request may be sent again (if it is safe to repeat). */
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);
/** Socket errors that mean the connection broke, before or after the server got the request. */
const TRANSIENT_SOCKET_ERRORS = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN"]);

/** Whether a socket-level failure is a transient one (a reset, a refused or hung-up connection). */
export function isTransientSocketError(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  return (
    (e?.code !== undefined && TRANSIENT_SOCKET_ERRORS.has(e.code)) ||
    e?.message === "socket hang up" ||
    e?.code === "UND_ERR_SOCKET"
  );
}

/** Whether the request may be sent again after an answer that says nothing about whether it was processed. */
export function isSafeToRepeat(request: RetryableRequest): boolean {
  if (request.idempotent !== undefined) return request.idempotent;
  switch (request.method) {
    case "GET":
    case "HEAD":
      return true;
    case "PUT":
      return hasResourceVersion(request.body);
    case "PATCH":
      // Without a precondition a repeat could undo a change made between the two attempts (a promote patch sent
      // twice could skip a pause step): not repeated.
      return request.patchType === "json" ? hasResourceVersionTest(request.body) : hasResourceVersion(request.body);
    case "DELETE":
      return hasPreconditions(request.body);
    case "POST": {
      const meta = (request.body as { metadata?: { name?: unknown } } | undefined)?.metadata;
      return typeof meta?.name === "string" && meta.name !== "";
    }
    default:
      return false;
  }
}

/**
 * What to do after a failed attempt: `undefined` to give up, or how long to wait before the next attempt.
 * `status` is the HTTP status answered (undefined for a socket error).
 */
export function retryDelay(
  policy: ResolvedRetry,
  attempt: number,
  failure: { status?: number; retryAfter?: string | undefined; socketError?: unknown },
  request: RetryableRequest,
): number | undefined {
  if (attempt >= policy.attempts) return undefined;
  const backoff = backoffDelay(policy, attempt);
  if (failure.status === 429) {
    const asked = parseRetryAfter(failure.retryAfter);
    return asked === undefined ? backoff : Math.min(asked, policy.maxRetryAfterMs);
  }
  const transient =
    failure.status === undefined ? isTransientSocketError(failure.socketError) : TRANSIENT_STATUSES.has(failure.status);
  if (!transient || !isSafeToRepeat(request)) return undefined;
  const asked = parseRetryAfter(failure.retryAfter);
  return asked === undefined ? backoff : Math.max(backoff, Math.min(asked, policy.maxRetryAfterMs));
}

/** Exponential back-off with "equal jitter": half the delay fixed, half random, so retries spread apart. */
export function backoffDelay(policy: ResolvedRetry, attempt: number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * policy.random());
}

/** `Retry-After` in seconds (as the API server sends it) or as an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function hasResourceVersion(body: unknown): boolean {
  const rv = (body as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
  return typeof rv === "string" && rv !== "";
}

function hasResourceVersionTest(body: unknown): boolean {
  return (
    Array.isArray(body) &&
    body.some((op: { op?: unknown; path?: unknown }) => op?.op === "test" && op.path === "/metadata/resourceVersion")
  );
}

function hasPreconditions(body: unknown): boolean {
  const p = (body as { preconditions?: { resourceVersion?: unknown; uid?: unknown } } | undefined)?.preconditions;
  return Boolean(p && (p.resourceVersion || p.uid));
}
