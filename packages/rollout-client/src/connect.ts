/**
 * The connection to one cluster: kubeconfig loading (through @kubernetes/client-node, so every auth method kubectl
 * supports works), one keep-alive agent, JSON requests and raw watch streams. Everything else in the package talks
 * to the cluster only through a `Connection`.
 */
import http from "node:http";
import https from "node:https";
import { createInterface } from "node:readline";
import { KubeConfig } from "@kubernetes/client-node";
import {
  errorFromResponse,
  type KubeStatusBody,
  type ResourceRef,
  RolloutClientError,
  redactSecrets,
} from "./errors.js";

/** Where the cluster credentials come from. Without one, the default chain: `$KUBECONFIG`, `~/.kube/config`, in-cluster. */
export type KubeconfigSource =
  | { file: string }
  | { yaml: string }
  | { kubeConfig: KubeConfig }
  | { inCluster: true; pathPrefix?: string };

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
  /** Called for every HTTP request sent, watches included: for metrics and request counting. */
  onRequest?: (request: { method: string; path: string }) => void;
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
  close(): void;
}

export function loadKubeConfig(options: ConnectOptions = {}): KubeConfig {
  const source = options.kubeconfig;
  let kc: KubeConfig;
  if (source && "kubeConfig" in source) {
    kc = source.kubeConfig;
  } else {
    kc = new KubeConfig();
    try {
      if (!source) kc.loadFromDefault();
      else if ("file" in source) kc.loadFromFile(source.file);
      else if ("yaml" in source) kc.loadFromString(source.yaml);
      else kc.loadFromCluster(source.pathPrefix);
    } catch (cause) {
      throw new RolloutClientError("INVALID", `cannot load the kubeconfig: ${redactSecrets(String(cause))}`, {
        resource: { kind: "kubeconfig", name: source && "file" in source ? source.file : undefined },
        cause,
      });
    }
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new RolloutClientError(
        "INVALID",
        `the kubeconfig has no context "${options.context}" (it has: ${known.join(", ") || "none"})`,
        { resource: { kind: "kubeconfig" } },
      );
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new RolloutClientError(
      "INVALID",
      `the kubeconfig's current context "${kc.getCurrentContext()}" names no cluster; pass a context or fix the file`,
      { resource: { kind: "kubeconfig" } },
    );
  }
  return kc;
}

export async function openConnection(options: ConnectOptions = {}): Promise<Connection> {
  const kc = loadKubeConfig(options);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("unreachable: loadKubeConfig checked the cluster");
  const server = cluster.server.replace(/\/+$/, "");
  const base = new URL(server);
  const secure = base.protocol === "https:";
  const contextName = kc.getCurrentContext();
  const namespace = options.namespace ?? kc.getContextObject(contextName)?.namespace ?? "default";
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  // TLS material is read once; credentials (tokens from exec plugins may expire) are applied to every request.
  const tlsOptions: https.RequestOptions = {};
  await applyCredentials(kc, tlsOptions, secure);
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        ca: tlsOptions.ca,
        cert: tlsOptions.cert,
        key: tlsOptions.key,
        pfx: tlsOptions.pfx,
        passphrase: tlsOptions.passphrase,
        servername: tlsOptions.servername,
        ...(tlsOptions.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tlsOptions.rejectUnauthorized }),
      })
    : new http.Agent({ keepAlive: true });

  async function send(
    method: string,
    path: string,
    query: Record<string, string | undefined> | undefined,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    resource: ResourceRef,
  ): Promise<http.IncomingMessage> {
    const url = new URL(base.pathname.replace(/\/$/, "") + path, base);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
    const auth: https.RequestOptions = {};
    await applyCredentials(kc, auth, secure);
    const authHeaders: Record<string, string> = {};
    for (const [key, value] of Object.entries(auth.headers ?? {})) {
      if (typeof value === "string" || typeof value === "number") authHeaders[key] = String(value);
    }
    options.onRequest?.({ method, path: url.pathname + url.search });
    const requestFn = secure ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = requestFn(
        url,
        {
          method,
          agent,
          headers: { Accept: "application/json", ...authHeaders, ...headers },
          ...(auth.auth ? { auth: auth.auth } : {}),
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      req.on("error", (cause: Error & { code?: string }) => {
        if (signal?.aborted) {
          reject(signal.reason ?? cause);
          return;
        }
        reject(
          new RolloutClientError(
            "UNAVAILABLE",
            `cannot reach the API server at ${redactSecrets(server)}: ${cause.message}`,
            {
              resource,
              cause,
            },
          ),
        );
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async function request<T>(spec: RequestSpec): Promise<T> {
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers["Content-Type"] = spec.patchType ? PATCH_CONTENT_TYPES[spec.patchType] : "application/json";
    }
    let text: string;
    let status: number;
    try {
      const res = await send(spec.method, spec.path, spec.query, headers, body, signal, spec.resource);
      status = res.statusCode ?? 0;
      text = await readAll(res);
    } catch (cause) {
      if (timeout.aborted && !spec.signal?.aborted) {
        throw new RolloutClientError("TIMEOUT", `${spec.method} took longer than ${requestTimeoutMs} ms`, {
          resource: spec.resource,
          cause,
        });
      }
      throw cause;
    }
    const parsed = parseJson(text);
    if (status < 200 || status > 299) {
      throw errorFromResponse(status, parsed as KubeStatusBody | undefined, spec.resource);
    }
    return parsed as T;
  }

  async function* watchStream(
    path: string,
    query: Record<string, string | undefined>,
    resource: ResourceRef,
    signal: AbortSignal,
  ): AsyncIterable<RawWatchEvent> {
    const res = await send("GET", path, { ...query, watch: "true" }, {}, undefined, signal, resource);
    if (res.statusCode !== 200) {
      const text = await readAll(res);
      throw errorFromResponse(res.statusCode ?? 0, parseJson(text) as KubeStatusBody | undefined, resource);
    }
    const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
    // readline's iterator only ends on `close`: make an abort and a cut connection both close it.
    const end = () => lines.close();
    signal.addEventListener("abort", end, { once: true });
    res.once("close", end);
    res.once("error", end);
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        const event = parseJson(line) as RawWatchEvent | undefined;
        if (event && typeof event.type === "string" && event.object) yield event;
      }
    } catch (cause) {
      if (signal.aborted) return;
      // A stream cut mid-way ends the watch like a server close: the caller resumes from its last resourceVersion.
      if ((cause as { code?: string }).code === "ECONNRESET" || (cause as Error).message === "aborted") return;
      throw cause;
    } finally {
      signal.removeEventListener("abort", end);
      lines.close();
      res.destroy();
    }
  }

  return {
    namespace,
    context: contextName,
    server,
    conflictRetries: options.conflictRetries ?? 5,
    clock: options.clock ?? realClock,
    request,
    watchStream,
    close: () => agent.destroy(),
  };
}

/**
 * Fills TLS options and auth headers from the kubeconfig. client-node's public `applyToHTTPSOptions` also builds an
 * agent and refuses plain-HTTP servers, which kubectl accepts (a local API server, kube-sim); for those we call the
 * part of it that only applies certificates and headers.
 */
async function applyCredentials(kc: KubeConfig, opts: https.RequestOptions, secure: boolean): Promise<void> {
  if (secure) {
    await kc.applyToHTTPSOptions(opts);
    return;
  }
  const inner = kc as unknown as { applyOptions?: (o: https.RequestOptions) => Promise<void> };
  if (typeof inner.applyOptions !== "function") {
    throw new RolloutClientError("INVALID", "this @kubernetes/client-node cannot talk to a plain-HTTP API server", {
      resource: { kind: "kubeconfig" },
    });
  }
  await inner.applyOptions.call(kc, opts);
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
