/**
 * The engine's own door to the API server for what rollout-client does not cover: ConfigMaps (oConfig versions and
 * release records), the environment's Lease and Jobs (hooks, code as data). Same kubeconfig loading as
 * rollout-client (its exported `loadKubeConfig`), one keep-alive agent, JSON in and out, and a watch stream.
 */
import http from "node:http";
import https from "node:https";
import { createInterface } from "node:readline";
import type { KubeConfig } from "@kubernetes/client-node";
import { type ConnectOptions, loadKubeConfig } from "@rollway/rollout-client";
import { ReleaseError } from "./errors.js";

export const PATCH_MERGE = "application/merge-patch+json";

export interface ApiRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** What the request is about, for error messages: `ConfigMap "x"`. */
  what: string;
  signal?: AbortSignal;
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface KubeApi {
  readonly namespace: string;
  request<T>(spec: ApiRequest): Promise<T>;
  /** Events of a watch until the server ends the stream or the signal aborts. */
  watch<T>(
    path: string,
    query: Record<string, string | undefined>,
    what: string,
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent<T>>;
  close(): void;
}

/** API paths, named here so a reader sees what reaches the cluster. */
export const paths = {
  configMaps: (ns: string) => `/api/v1/namespaces/${ns}/configmaps`,
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
  replicaSets: (ns: string) => `/apis/apps/v1/namespaces/${ns}/replicasets`,
  jobs: (ns: string) => `/apis/batch/v1/namespaces/${ns}/jobs`,
  job: (ns: string, name: string) => `/apis/batch/v1/namespaces/${ns}/jobs/${name}`,
  workload: (ns: string, kind: "Rollout" | "Deployment", name: string) =>
    kind === "Rollout"
      ? `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/${name}`
      : `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
} as const;

/** Credentials in URLs and bearer tokens never reach a message. */
export const redact = (text: string): string =>
  text.replace(/(\/\/)[^/@\s]+@/g, "$1***@").replace(/(bearer\s+)[\w.~+/-]+=*/gi, "$1***");

export interface KubeApiOptions extends Pick<ConnectOptions, "kubeconfig" | "context" | "namespace"> {
  requestTimeoutMs?: number;
  /** Called for every request sent: for metrics and request counting. */
  onRequest?: (request: { method: string; path: string }) => void;
}

export async function openKubeApi(options: KubeApiOptions = {}): Promise<KubeApi> {
  const kc = loadKubeConfig(options);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ReleaseError("CLUSTER", "the kubeconfig names no cluster");
  const base = new URL(cluster.server.replace(/\/+$/, ""));
  const secure = base.protocol === "https:";
  const namespace = options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const tls: https.RequestOptions = {};
  await applyCredentials(kc, tls, secure);
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
      })
    : new http.Agent({ keepAlive: true });

  async function send(
    method: string,
    path: string,
    query: ApiRequest["query"],
    body: string | undefined,
    contentType: string | undefined,
    signal: AbortSignal,
    what: string,
  ): Promise<http.IncomingMessage> {
    const url = new URL(base.pathname.replace(/\/$/, "") + path, base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const auth: https.RequestOptions = {};
    await applyCredentials(kc, auth, secure);
    const headers: Record<string, string> = { Accept: "application/json" };
    for (const [k, v] of Object.entries(auth.headers ?? {}))
      if (typeof v === "string" || typeof v === "number") headers[k] = String(v);
    if (contentType) headers["Content-Type"] = contentType;
    options.onRequest?.({ method, path: url.pathname + url.search });
    return new Promise((resolve, reject) => {
      const req = (secure ? https.request : http.request)(
        url,
        { method, agent, headers, signal, ...(auth.auth ? { auth: auth.auth } : {}) },
        resolve,
      );
      req.on("error", (cause) => {
        if (signal.aborted) reject(signal.reason ?? cause);
        else
          reject(
            new ReleaseError(
              "CLUSTER",
              `${what}: cannot reach the API server at ${redact(base.origin)}: ${cause.message}`,
              { cause },
            ),
          );
      });
      if (body !== undefined) req.end(body);
      else req.end();
    });
  }

  return {
    namespace,
    async request<T>(spec: ApiRequest): Promise<T> {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
      const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
      const contentType = body === undefined ? undefined : spec.method === "PATCH" ? PATCH_MERGE : "application/json";
      const res = await send(spec.method, spec.path, spec.query, body, contentType, signal, spec.what);
      const text = await readAll(res);
      const parsed = parseJson(text) as { message?: string; reason?: string } | undefined;
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const message = parsed?.message ? redact(parsed.message) : `HTTP ${status}`;
        throw new ReleaseError("CLUSTER", `${spec.method} ${spec.what} in namespace "${namespace}": ${message}`, {
          httpStatus: status,
          resource: spec.what,
        });
      }
      return parsed as T;
    },
    async *watch<T>(
      path: string,
      query: Record<string, string | undefined>,
      what: string,
      signal: AbortSignal,
    ): AsyncIterable<WatchEvent<T>> {
      const res = await send(
        "GET",
        path,
        { ...query, watch: "true", allowWatchBookmarks: "true" },
        undefined,
        undefined,
        signal,
        what,
      );
      if (res.statusCode !== 200) {
        const parsed = parseJson(await readAll(res)) as { message?: string } | undefined;
        throw new ReleaseError("CLUSTER", `watch ${what}: ${redact(parsed?.message ?? `HTTP ${res.statusCode}`)}`, {
          httpStatus: res.statusCode ?? 0,
          resource: what,
        });
      }
      const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
      try {
        for await (const line of lines) {
          const event = line.trim() ? (parseJson(line) as WatchEvent<T> | undefined) : undefined;
          if (event?.type) yield event;
        }
      } catch (cause) {
        if (
          signal.aborted ||
          (cause as { code?: string }).code === "ECONNRESET" ||
          (cause as Error).message === "aborted"
        )
          return;
        throw cause;
      } finally {
        lines.close();
        res.destroy();
      }
    },
    close: () => agent.destroy(),
  };
}

/** Whether a request failed because the object is missing (404) or already exists / changed underneath (409). */
export const isStatus = (error: unknown, status: number): boolean =>
  error instanceof ReleaseError && error.httpStatus === status;

/**
 * TLS material and auth headers from the kubeconfig. client-node's `applyToHTTPSOptions` refuses plain-HTTP
 * servers that kubectl accepts (a local API server, kube-sim); for those, the part that only sets headers.
 */
async function applyCredentials(kc: KubeConfig, opts: https.RequestOptions, secure: boolean): Promise<void> {
  if (secure) return kc.applyToHTTPSOptions(opts);
  const inner = kc as unknown as { applyOptions?: (o: https.RequestOptions) => Promise<void> };
  if (typeof inner.applyOptions !== "function")
    throw new ReleaseError("CLUSTER", "this @kubernetes/client-node cannot talk to a plain-HTTP API server");
  await inner.applyOptions.call(kc, opts);
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
