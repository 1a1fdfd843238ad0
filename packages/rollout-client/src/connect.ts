/**
 * The connection to one cluster: the kubeconfig's settings (`kubeconfig.ts`: every auth method kubectl supports,
 * through @kubernetes/client-node where rollway does not apply them itself), one keep-alive agent, JSON requests and
 * raw watch streams. Everything else in the package talks to the cluster only through a `Connection`.
 */
import http from "node:http";
import https from "node:https";
import { createInterface } from "node:readline";
import {
  errorFromResponse,
  type KubeStatusBody,
  type ResourceRef,
  RolloutClientError,
  redactSecrets,
} from "./errors.js";
import { type KubeconfigAccess, type KubeconfigSource, readKubeconfig } from "./kubeconfig.js";
import { createObjectApi, type ObjectApi } from "./objects.js";
import { isTransientSocketError, type RetryOptions, resolveRetry, retryDelay } from "./retry.js";

export type { KubeconfigSource };

/** Time, injectable so tests drive it instead of sleeping; the same shape as kube-sim's clock. */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): { cancel(): void };
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(timer) };
  },
};

export interface ConnectOptions {
  kubeconfig?: KubeconfigSource;
  /** A context of the kubeconfig; default: its `current-context`. */
  context?: string;
  /** Default namespace for targets; default: the context's namespace, then `default`. */
  namespace?: string;
  /** How long one non-watch request may take before it fails with TIMEOUT. Default 30 s. */
  requestTimeoutMs?: number;
  /** How many times a write that answers 409 Conflict is retried after a fresh read. Default 5. */
  conflictRetries?: number;
  /** Time for waitFor timeouts, watch reconnect back-off and restart timestamps. Default: the wall clock. */
  clock?: Clock;
  /** Called for every HTTP request sent (each attempt of a retried one), watches included: for metrics and counting. */
  onRequest?: (request: { method: string; path: string }) => void;
  /** How transient failures (429, 5xx, resets) are retried: attempts, back-off, and an injectable sleep. */
  retry?: RetryOptions;
}

export type PatchType = "merge" | "json" | "strategic";

/** Content types of the three patch kinds, as kubectl sends them. */
export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  patchType?: PatchType;
  /** What the request is about, for error messages. */
  resource: ResourceRef;
  signal?: AbortSignal;
  /**
   * Whether sending the request twice is harmless, when the caller knows better than the rules of `retry.ts`
   * (reads, writes with a resourceVersion precondition, named creates). `false` turns retries of 5xx and resets off.
   */
  idempotent?: boolean;
}

/** One line of a watch stream. */
export interface RawWatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Record<string, unknown>;
}

export interface Connection {
  readonly namespace: string;
  readonly context: string;
  readonly server: string;
  readonly conflictRetries: number;
  readonly clock: Clock;
  request<T>(spec: RequestSpec): Promise<T>;
  /**
   * Opens a watch and yields its events until the server closes the stream (the iterator then ends) or the signal
   * aborts. A non-200 answer throws a RolloutClientError.
   */
  watchStream(
    path: string,
    query: Record<string, string | undefined>,
    resource: ResourceRef,
    signal: AbortSignal,
  ): AsyncIterable<RawWatchEvent>;
  /** Any object of any kind: get, list, create, replace, patch, delete, their subresources, and list-then-watch. */
  readonly objects: ObjectApi;
  close(): void;
}

export async function openConnection(options: ConnectOptions = {}): Promise<Connection> {
  const kubeconfig = await readKubeconfig(options);
  const server = kubeconfig.server.replace(/\/+$/, "");
  const base = new URL(server);
  const secure = base.protocol === "https:";
  const contextName = kubeconfig.context;
  const namespace = options.namespace ?? kubeconfig.namespace ?? "default";
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const clock = options.clock ?? realClock;
  const retry = resolveRetry(options.retry, (ms, signal) => sleepOn(clock, ms, signal));

  // TLS material (CA data or file, client certificate and key, tls-server-name, insecure-skip-tls-verify) is read
  // once into one keep-alive agent; credentials (tokens from exec plugins and OIDC expire) are applied per request.
  const agent = createAgent(kubeconfig, secure);
  const basicAuth = kubeconfig.basicAuth;

  function sendOnce(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    credentials: Record<string, string>,
  ): Promise<http.IncomingMessage> {
    options.onRequest?.({ method, path: url.pathname + url.search });
    const requestFn = secure ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = requestFn(
        url,
        {
          method,
          agent,
          headers: { Accept: "application/json", ...credentials, ...headers },
          ...(basicAuth ? { auth: basicAuth } : {}),
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      req.on("error", reject);
      if (body !== undefined) req.end(body);
      else req.end();
    });
  }

  function urlOf(path: string, query: Record<string, string | undefined> | undefined): URL {
    const url = new URL(base.pathname.replace(/\/$/, "") + path, base);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
    return url;
  }

  function unreachable(cause: unknown, spec: RequestSpec, attempts: number): RolloutClientError {
    const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
    return new RolloutClientError(
      "UNAVAILABLE",
      `cannot reach the API server at ${redactSecrets(server)}: ${redactSecrets((cause as Error).message)}${tries}`,
      { resource: spec.resource, method: spec.method, attempts, cause },
    );
  }

  /**
   * Sends a request until it gets an answer worth returning: retries transient failures as `retry.ts` decides.
   * `read` consumes the answer of one attempt (a whole body, or a watch stream); a socket error while reading a
   * whole body counts as a failed attempt too.
   */
  async function exchange<R>(
    spec: RequestSpec,
    read: (res: http.IncomingMessage, signal: AbortSignal) => Promise<R>,
    perAttemptTimeout: boolean,
  ): Promise<R> {
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers["Content-Type"] = spec.patchType ? PATCH_CONTENT_TYPES[spec.patchType] : "application/json";
      // Always framed: Node sends a DELETE body with neither Content-Length nor chunking, which the server then reads
      // as the start of the next request and answers 400 (the `DELETE Lease … HTTP 400` of issue #13).
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    const url = urlOf(spec.path, spec.query);
    const credentials = await kubeconfig.headers();
    for (let attempt = 1; ; attempt++) {
      const timeout = perAttemptTimeout ? AbortSignal.timeout(requestTimeoutMs) : undefined;
      const signal = timeout ? (spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout) : spec.signal;
      let outcome: { res: http.IncomingMessage; value: R } | { error: unknown };
      try {
        const res = await sendOnce(spec.method, url, headers, body, signal, credentials);
        outcome = { res, value: await read(res, signal ?? new AbortController().signal) };
      } catch (error) {
        outcome = { error };
      }
      if ("res" in outcome) {
        const status = outcome.res.statusCode ?? 0;
        if (status >= 200 && status <= 299) return outcome.value;
        const retryAfter = outcome.res.headers["retry-after"];
        const delay = retryDelay(retry, attempt, { status, retryAfter }, spec);
        if (delay === undefined) {
          throw errorFromResponse(status, outcome.value as KubeStatusBody | undefined, spec.resource, {
            method: spec.method,
            attempts: attempt,
          });
        }
        await retry.sleep(delay, spec.signal);
      } else {
        const { error } = outcome;
        if (spec.signal?.aborted) throw spec.signal.reason ?? error;
        if (timeout?.aborted) {
          throw new RolloutClientError("TIMEOUT", `the API server did not answer within ${requestTimeoutMs} ms`, {
            resource: spec.resource,
            method: spec.method,
            attempts: attempt,
            cause: error,
          });
        }
        if (error instanceof RolloutClientError) throw error;
        const delay = retryDelay(retry, attempt, { socketError: error }, spec);
        if (delay === undefined) throw unreachable(error, spec, attempt);
        await retry.sleep(delay, spec.signal);
      }
      if (spec.signal?.aborted) throw spec.signal.reason;
    }
  }

  /** Reads a whole answer: the parsed JSON of a success, or of an error Status (then `exchange` throws). */
  const readJson = async (res: http.IncomingMessage) => parseJson(await readAll(res));

  async function request<T>(spec: RequestSpec): Promise<T> {
    return (await exchange(spec, readJson, true)) as T;
  }

  async function* watchStream(
    path: string,
    query: Record<string, string | undefined>,
    resource: ResourceRef,
    signal: AbortSignal,
  ): AsyncIterable<RawWatchEvent> {
    const spec: RequestSpec = { method: "GET", path, query: { ...query, watch: "true" }, resource, signal };
    // The start of a watch is retried like any read; the stream itself is then the caller's to resume.
    const res = await exchange(
      spec,
      async (r) => ((r.statusCode ?? 0) >= 200 && (r.statusCode ?? 0) <= 299 ? r : readJson(r)),
      false,
    );
    const stream = res as http.IncomingMessage;
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    // readline's iterator only ends on `close`: make an abort and a cut connection both close it.
    const end = () => lines.close();
    signal.addEventListener("abort", end, { once: true });
    stream.once("close", end);
    stream.once("error", end);
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        const event = parseJson(line) as RawWatchEvent | undefined;
        if (event && typeof event.type === "string" && event.object) yield event;
      }
    } catch (cause) {
      if (signal.aborted) return;
      // A stream cut mid-way ends the watch like a server close: the caller resumes from its last resourceVersion.
      if (isTransientSocketError(cause) || (cause as Error).message === "aborted") return;
      throw cause;
    } finally {
      signal.removeEventListener("abort", end);
      lines.close();
      stream.destroy();
    }
  }

  const conn: Connection = {
    namespace,
    context: contextName,
    server,
    conflictRetries: options.conflictRetries ?? 5,
    clock,
    request,
    watchStream,
    objects: undefined as unknown as ObjectApi,
    close: () => agent.destroy(),
  };
  (conn as { objects: ObjectApi }).objects = createObjectApi(conn);
  return conn;
}

/**
 * One keep-alive agent with every TLS setting of the kubeconfig's cluster and user, as client-node applies them
 * (`applyToHTTPSOptions`): CA data or file, client certificate and key (data or file), `tls-server-name`,
 * `insecure-skip-tls-verify`, and `proxy-url` (HTTP(S) or SOCKS, through client-node's own agent factory).
 */
function createAgent(kubeconfig: KubeconfigAccess, secure: boolean): http.Agent {
  const agentOptions: https.AgentOptions = { keepAlive: true, ...kubeconfig.tls };
  const proxied = kubeconfig.proxyAgent(agentOptions);
  if (proxied) return proxied;
  return secure ? new https.Agent(agentOptions) : new http.Agent({ keepAlive: true });
}

/** Resolves after `ms` on the clock, or at once when the signal aborts. */
export function sleepOn(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener("abort", done);
      resolve();
    });
    signal?.addEventListener("abort", done, { once: true });
  });
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
