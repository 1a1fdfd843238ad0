/**
 * The generic object API, in the manner of client-node's `KubernetesObjectApi`: get, list, create, replace, patch
 * and delete any object by `apiVersion`, `kind`, namespace and name, plus subresources (`status`, `scale`), and
 * `listWatch`, the one list-then-watch loop every caller uses (see list-watch.ts). Paths of well-known kinds are
 * built without a request; any other kind is looked up once through API discovery and cached.
 */
import type { Connection, PatchType } from "./connect.js";
import { type ResourceRef, RolloutClientError } from "./errors.js";
import { type ListWatchEvent, type ListWatchOptions, listWatch } from "./list-watch.js";

/** Which object (or, without a name, which collection): `{ apiVersion: "v1", kind: "ConfigMap", name: "x" }`. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** Default: the connection's namespace, for namespaced kinds. */
  namespace?: string;
  name?: string;
}

export interface NamedObjectRef extends ObjectRef {
  name: string;
}

/** Anything with the usual envelope; other fields pass through untouched. */
export interface AnyObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ReadOptions extends CallOptions {
  /** `status`, `scale`… */
  subresource?: string;
}

export interface ListOptions extends CallOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WriteOptions extends CallOptions {
  subresource?: string;
  /** `All`: validate and answer without storing. */
  dryRun?: "All";
  fieldManager?: string;
  /** Overrides the retry rules' view of whether the write may be sent twice (see retry.ts). */
  idempotent?: boolean;
}

export interface DeleteOptions extends CallOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  /** Delete only this version / this uid: makes a retried delete safe. */
  preconditions?: { resourceVersion?: string; uid?: string };
  gracePeriodSeconds?: number;
}

export interface ObjectApi {
  /** The API path of an object, a collection (no name) or a subresource, as kubectl builds it. */
  path(ref: ObjectRef, subresource?: string): Promise<string>;
  get<T = AnyObject>(ref: NamedObjectRef, options?: ReadOptions): Promise<T>;
  list<T = AnyObject>(ref: ObjectRef, options?: ListOptions): Promise<ObjectList<T>>;
  /** Resolves with the object as stored (`T`: its shape, by default any object). */
  create<T = AnyObject>(object: AnyObject, options?: WriteOptions): Promise<T>;
  /** PUT of the whole object; its `metadata.resourceVersion` makes the write optimistic (409 when it changed). */
  replace<T = AnyObject>(object: AnyObject, options?: WriteOptions): Promise<T>;
  patch<T = AnyObject>(ref: NamedObjectRef, patch: unknown, patchType: PatchType, options?: WriteOptions): Promise<T>;
  /** Resolves with what the server answered (the object being deleted, or a Status). */
  delete(ref: NamedObjectRef, options?: DeleteOptions): Promise<unknown>;
  /** List, then watch from the list's resourceVersion; relist on 410 Gone, resume after a closed stream. */
  listWatch<T extends AnyObject = AnyObject>(
    ref: ObjectRef,
    options: ListWatchOptions,
  ): AsyncGenerator<ListWatchEvent<T>>;
}

interface KindInfo {
  plural: string;
  namespaced: boolean;
}

/** Kinds whose path needs no discovery request. */
const WELL_KNOWN: Record<string, KindInfo> = {
  "v1/ConfigMap": { plural: "configmaps", namespaced: true },
  "v1/Secret": { plural: "secrets", namespaced: true },
  "v1/Service": { plural: "services", namespaced: true },
  "v1/Pod": { plural: "pods", namespaced: true },
  "v1/Event": { plural: "events", namespaced: true },
  "v1/ServiceAccount": { plural: "serviceaccounts", namespaced: true },
  "v1/Endpoints": { plural: "endpoints", namespaced: true },
  "v1/Namespace": { plural: "namespaces", namespaced: false },
  "v1/Node": { plural: "nodes", namespaced: false },
  "apps/v1/Deployment": { plural: "deployments", namespaced: true },
  "apps/v1/ReplicaSet": { plural: "replicasets", namespaced: true },
  "apps/v1/StatefulSet": { plural: "statefulsets", namespaced: true },
  "apps/v1/DaemonSet": { plural: "daemonsets", namespaced: true },
  "batch/v1/Job": { plural: "jobs", namespaced: true },
  "batch/v1/CronJob": { plural: "cronjobs", namespaced: true },
  "coordination.k8s.io/v1/Lease": { plural: "leases", namespaced: true },
  "events.k8s.io/v1/Event": { plural: "events", namespaced: true },
  "argoproj.io/v1alpha1/Rollout": { plural: "rollouts", namespaced: true },
  "argoproj.io/v1alpha1/AnalysisRun": { plural: "analysisruns", namespaced: true },
  "flagger.app/v1beta1/Canary": { plural: "canaries", namespaced: true },
};

interface DiscoveryList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

/** `/api/v1` or `/apis/apps/v1`. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export function createObjectApi(conn: Connection): ObjectApi {
  const discovered = new Map<string, Promise<Map<string, KindInfo>>>();

  async function kindInfo(ref: ObjectRef, signal?: AbortSignal): Promise<KindInfo> {
    const known = WELL_KNOWN[`${ref.apiVersion}/${ref.kind}`];
    if (known) return known;
    let kinds = discovered.get(ref.apiVersion);
    if (!kinds) {
      kinds = conn
        .request<DiscoveryList>({
          method: "GET",
          path: groupVersionPath(ref.apiVersion),
          resource: { kind: `API group version "${ref.apiVersion}"` },
          ...(signal ? { signal } : {}),
        })
        .then((list) => {
          const map = new Map<string, KindInfo>();
          for (const r of list.resources ?? []) {
            if (!r.name.includes("/")) map.set(r.kind, { plural: r.name, namespaced: r.namespaced });
          }
          return map;
        });
      discovered.set(ref.apiVersion, kinds);
      kinds.catch(() => discovered.delete(ref.apiVersion));
    }
    const info = (await kinds).get(ref.kind);
    if (!info) {
      throw new RolloutClientError("NOT_FOUND", `the API server serves no kind "${ref.kind}" in ${ref.apiVersion}`, {
        resource: describe(ref, undefined),
        httpStatus: 404,
      });
    }
    return info;
  }

  function namespaceOf(ref: ObjectRef, info: KindInfo): string | undefined {
    return info.namespaced ? (ref.namespace ?? conn.namespace) : undefined;
  }

  async function pathOf(ref: ObjectRef, subresource?: string, signal?: AbortSignal): Promise<string> {
    const info = await kindInfo(ref, signal);
    const ns = namespaceOf(ref, info);
    let path = groupVersionPath(ref.apiVersion);
    if (ns !== undefined) path += `/namespaces/${encodeURIComponent(ns)}`;
    path += `/${info.plural}`;
    if (ref.name !== undefined) path += `/${encodeURIComponent(ref.name)}`;
    if (subresource) path += `/${subresource}`;
    return path;
  }

  async function target(ref: ObjectRef, subresource: string | undefined, signal: AbortSignal | undefined) {
    const info = await kindInfo(ref, signal);
    return {
      path: await pathOf(ref, subresource, signal),
      resource: describe(ref, namespaceOf(ref, info), subresource),
    };
  }

  function refOf(object: AnyObject): NamedObjectRef {
    const name = object.metadata?.name;
    if (!object.apiVersion || !object.kind) {
      throw new RolloutClientError("INVALID", "the object has no apiVersion or kind", {
        resource: { kind: object.kind ?? "object", ...(name ? { name } : {}) },
      });
    }
    return {
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: name ?? "",
      ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
    };
  }

  const writeQuery = (options: WriteOptions | undefined) => ({
    ...(options?.dryRun ? { dryRun: options.dryRun } : {}),
    ...(options?.fieldManager ? { fieldManager: options.fieldManager } : {}),
  });
  const optional = (options: WriteOptions | CallOptions | undefined) => ({
    ...(options?.signal ? { signal: options.signal } : {}),
    ...(options && "idempotent" in options && options.idempotent !== undefined
      ? { idempotent: options.idempotent }
      : {}),
  });

  return {
    path: (ref, subresource) => pathOf(ref, subresource),
    async get<T>(ref: NamedObjectRef, options?: ReadOptions) {
      const { path, resource } = await target(ref, options?.subresource, options?.signal);
      return conn.request<T>({ method: "GET", path, resource, ...optional(options) });
    },
    async list<T>(ref: ObjectRef, options?: ListOptions) {
      const { path, resource } = await target({ ...ref, name: undefined } as ObjectRef, undefined, options?.signal);
      const query = {
        labelSelector: options?.labelSelector,
        fieldSelector: options?.fieldSelector,
        limit: options?.limit === undefined ? undefined : String(options.limit),
        continue: options?.continue,
        resourceVersion: options?.resourceVersion,
      };
      return conn.request<ObjectList<T>>({ method: "GET", path, query, resource, ...optional(options) });
    },
    async create<T>(object: AnyObject, options?: WriteOptions) {
      const ref = refOf(object);
      const { path, resource } = await target(
        { ...ref, name: undefined } as ObjectRef,
        options?.subresource,
        options?.signal,
      );
      return conn.request<T>({
        method: "POST",
        path,
        query: writeQuery(options),
        body: object,
        resource: { ...resource, ...(ref.name ? { name: ref.name } : {}) },
        ...optional(options),
      });
    },
    async replace<T>(object: AnyObject, options?: WriteOptions) {
      const { path, resource } = await target(refOf(object), options?.subresource, options?.signal);
      return conn.request<T>({
        method: "PUT",
        path,
        query: writeQuery(options),
        body: object,
        resource,
        ...optional(options),
      });
    },
    async patch<T>(ref: NamedObjectRef, patch: unknown, patchType: PatchType, options?: WriteOptions) {
      const { path, resource } = await target(ref, options?.subresource, options?.signal);
      return conn.request<T>({
        method: "PATCH",
        path,
        query: writeQuery(options),
        body: patch,
        patchType,
        resource,
        ...optional(options),
      });
    },
    async delete(ref: NamedObjectRef, options?: DeleteOptions) {
      const { path, resource } = await target(ref, undefined, options?.signal);
      const body =
        options?.propagationPolicy || options?.preconditions || options?.gracePeriodSeconds !== undefined
          ? {
              apiVersion: "v1",
              kind: "DeleteOptions",
              ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
              ...(options.preconditions ? { preconditions: options.preconditions } : {}),
              ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
            }
          : undefined;
      return conn.request<unknown>({
        method: "DELETE",
        path,
        resource,
        ...(body ? { body } : {}),
        ...optional(options),
      });
    },
    async *listWatch<T extends AnyObject>(ref: ObjectRef, options: ListWatchOptions) {
      const { path, resource } = await target({ ...ref, name: undefined } as ObjectRef, undefined, options.signal);
      // One named object is a collection of at most one: selected by name, as kubectl's `get --watch NAME` does.
      const byName = ref.name && !options.fieldSelector ? { fieldSelector: `metadata.name=${ref.name}` } : {};
      yield* listWatch<T>(
        conn,
        path,
        { ...resource, ...(ref.name ? { name: ref.name } : {}) },
        { ...options, ...byName },
      );
    },
  };
}

function describe(ref: ObjectRef, namespace: string | undefined, subresource?: string): ResourceRef {
  return {
    kind: subresource ? `${ref.kind} ${subresource}` : ref.kind,
    ...(ref.name ? { name: ref.name } : {}),
    ...(namespace ? { namespace } : {}),
  };
}
