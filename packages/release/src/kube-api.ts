/**
 * The engine's requests for what rollout-client's operations do not cover (ConfigMaps for oConfig versions and
 * release records, the environment's Lease, Jobs), as a thin adapter over rollout-client's one cluster layer: the
 * connection (kubeconfig, TLS, auth, proxy), the retries of transient errors and the error class all come from
 * there. What this file adds is only the engine's shape of a request (`what` for messages) and the API paths.
 * Errors are rollout-client's `RolloutClientError`: a 403 is `FORBIDDEN` here as on every other path, with the
 * Kubernetes reason, the HTTP status and the namespace of the request actually made.
 */
import {
  type Connection,
  type ConnectOptions,
  hasHttpStatus,
  openConnection,
  type ResourceRef,
  redactSecrets,
} from "@rollway/rollout-client";

export interface ApiRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | undefined>;
  /** A PATCH body is sent as a JSON merge patch (`application/merge-patch+json`). */
  body?: unknown;
  /** What the request is about, for error messages: `ConfigMap "x"`. */
  what: string;
  signal?: AbortSignal;
}

export interface KubeApi {
  readonly namespace: string;
  /**
   * rollout-client's connection underneath: `connection.objects` (any kind, subresources) and
   * `connection.objects.listWatch` (the one list-then-watch loop: relists on 410, resumes, backs off).
   */
  readonly connection: Connection;
  request<T>(spec: ApiRequest): Promise<T>;
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

/** Credentials in URLs, bearer tokens and token query parameters never reach a message (rollout-client's rule). */
export const redact = (text: string): string => redactSecrets(text);

export interface KubeApiOptions
  extends Pick<ConnectOptions, "kubeconfig" | "context" | "namespace" | "requestTimeoutMs" | "retry" | "clock"> {
  /** Called for every request sent (each attempt of a retried one): for metrics and request counting. */
  onRequest?: (request: { method: string; path: string }) => void;
  /** An open connection to share (a RolloutClient's `client.connection`) instead of opening one from the kubeconfig. */
  connection?: Connection;
}

export async function openKubeApi(options: KubeApiOptions = {}): Promise<KubeApi> {
  const { connection, ...connectOptions } = options;
  const conn = connection ?? (await openConnection(connectOptions));
  return kubeApiOver(conn, { owned: connection === undefined });
}

/** The engine's request shape over an open rollout-client connection. */
export function kubeApiOver(conn: Connection, options: { owned?: boolean } = {}): KubeApi {
  return {
    namespace: conn.namespace,
    connection: conn,
    request<T>(spec: ApiRequest): Promise<T> {
      return conn.request<T>({
        method: spec.method,
        path: spec.path,
        ...(spec.query ? { query: spec.query } : {}),
        ...(spec.body === undefined ? {} : { body: spec.body }),
        ...(spec.method === "PATCH" ? { patchType: "merge" as const } : {}),
        resource: resourceOf(spec.what, spec.path),
        ...(spec.signal ? { signal: spec.signal } : {}),
      });
    },
    close: () => {
      if (options.owned !== false) conn.close();
    },
  };
}

/** Whether a request failed with this HTTP status (404 missing, 409 conflict or already there, 410 expired). */
export const isStatus = (error: unknown, status: number): boolean => hasHttpStatus(error, status);

/**
 * The object of a request for messages: `ConfigMap "x"` in the namespace of the path actually requested (never the
 * kubeconfig's default namespace, which may belong to another environment).
 */
export function resourceOf(what: string, path: string): ResourceRef {
  const named = /^([A-Za-z][\w.-]*) "([^"]+)"$/.exec(what);
  const namespace = /\/namespaces\/([^/]+)\//.exec(path)?.[1];
  const inWhat = what.includes(" in namespace ");
  return {
    kind: named ? (named[1] as string) : what,
    ...(named ? { name: named[2] as string } : {}),
    ...(namespace && !inWhat ? { namespace: decodeURIComponent(namespace) } : {}),
  };
}
