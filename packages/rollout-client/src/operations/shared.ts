/** Helpers every operation shares: reads, writes, the conflict retry loop, and merge-patch diffs. */
import type { Connection, PatchType } from "../connect.js";
import { RolloutClientError } from "../errors.js";
import { type KindName, resourcePath } from "../resources.js";
import type { Target } from "../targets/target.js";

export async function readObject<T>(conn: Connection, kind: KindName, namespace: string, name: string): Promise<T> {
  return conn.request<T>({
    method: "GET",
    path: resourcePath(kind, namespace, name),
    resource: { kind, name, namespace },
  });
}

export async function patchObject<T>(
  conn: Connection,
  kind: KindName,
  namespace: string,
  name: string,
  patchType: PatchType,
  body: unknown,
  subresource?: "status",
): Promise<T> {
  return conn.request<T>({
    method: "PATCH",
    path: resourcePath(kind, namespace, name, subresource),
    patchType,
    body,
    resource: { kind: subresource ? `${kind} status` : kind, name, namespace },
  });
}

/**
 * Runs a read-decide-write step again, from a fresh read, when the write answers 409 Conflict, at most
 * `conn.conflictRetries` more times (client-go's `retry.RetryOnConflict` does the same).
 *
 * `redecideOnTransient`: also run it again when a write failed transiently (5xx or a cut connection, which the
 * connection does not repeat for a write without a precondition: it may have applied). Only for steps whose fresh
 * read sees an applied write and then decides to write nothing or the same again (setImages, a blue-green promote,
 * abort); never for a canary promote, whose second decision would skip a step.
 */
export async function withConflictRetry<T>(
  conn: Connection,
  step: () => Promise<T>,
  options: { redecideOnTransient?: boolean } = {},
): Promise<T> {
  let transient = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof RolloutClientError)) throw error;
      if (error.code === "CONFLICT" && attempt < conn.conflictRetries) continue;
      if (options.redecideOnTransient && isTransientWriteFailure(error) && transient < TRANSIENT_REDECISIONS) {
        transient++;
        continue;
      }
      throw error;
    }
  }
}

/** How many times a step is decided again after transient write failures (each read itself is retried too). */
const TRANSIENT_REDECISIONS = 3;

function isTransientWriteFailure(error: RolloutClientError): boolean {
  if (error.code !== "UNAVAILABLE" || error.method === "GET") return false;
  return error.httpStatus === undefined || (error.httpStatus >= 500 && error.httpStatus <= 504);
}

export function unsupported(target: Target, operation: string, hint: string): RolloutClientError {
  return new RolloutClientError("INVALID", `${operation} does not apply to a ${target.kind}; ${hint}`, {
    resource: { kind: target.kind, name: target.name, namespace: target.namespace },
  });
}

/** RFC 7386 merge patch turning `from` into `to`: removed keys become null, arrays are replaced whole. */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (!isPlainObject(from) || !isPlainObject(to)) return to;
  const patch: Record<string, unknown> = {};
  // Own keys only, and defineProperty, so keys like "constructor" or "__proto__" (annotations can be anything) are
  // plain data here.
  const set = (key: string, value: unknown) =>
    Object.defineProperty(patch, key, { value, enumerable: true, writable: true, configurable: true });
  for (const key of Object.keys(from)) if (!Object.hasOwn(to, key)) set(key, null);
  for (const [key, value] of Object.entries(to)) {
    if (!Object.hasOwn(from, key)) set(key, value);
    else if (!deepEqual(from[key], value)) set(key, createMergePatch(from[key], value));
  }
  return patch;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Go's `time.RFC3339` in UTC, as the plugin and kubectl format timestamps: `2026-11-27T10:48:38Z`. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
