/**
 * Small ConfigMaps the release lifecycle keeps beside the records (event logs, idempotency claims): read, create
 * (a 409 AlreadyExists means another process got there first: the atomic claim), read-modify-write with the
 * resourceVersion (a 409 reads again), delete, and follow one by name through rollout-client's one list-then-watch.
 */
import type { AnyObject } from "@rollway/rollout-client";
import { isStatus, type KubeApi, paths } from "./kube-api.js";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "rollway" } as const;
const CONFIG_MAP = { apiVersion: "v1", kind: "ConfigMap" } as const;
const MAX_CONFLICTS = 20;

export interface SmallConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export async function getConfigMap(
  api: KubeApi,
  ns: string,
  name: string,
  signal?: AbortSignal,
): Promise<SmallConfigMap | undefined> {
  try {
    return await api.request<SmallConfigMap>({
      method: "GET",
      path: paths.configMap(ns, name),
      what: `ConfigMap "${name}"`,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** True when this call created it; false when it existed already. */
export async function createConfigMap(api: KubeApi, ns: string, cm: SmallConfigMap): Promise<boolean> {
  try {
    await api.request({
      method: "POST",
      path: paths.configMaps(ns),
      body: { ...CONFIG_MAP, ...cm },
      what: `ConfigMap "${cm.metadata.name}"`,
    });
    return true;
  } catch (error) {
    if (isStatus(error, 409)) return false;
    throw error;
  }
}

/** Read-modify-write; `change` returns undefined to leave the object alone. Creates it when absent. */
export async function updateConfigMap(
  api: KubeApi,
  ns: string,
  name: string,
  change: (cm: SmallConfigMap | undefined) => SmallConfigMap | undefined,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = await getConfigMap(api, ns, name);
    const next = change(current);
    if (!next) return;
    try {
      if (!current) {
        if (await createConfigMap(api, ns, next)) return;
        continue; // created meanwhile by another process: change that one
      }
      await api.request({
        method: "PUT",
        path: paths.configMap(ns, name),
        body: {
          ...CONFIG_MAP,
          ...next,
          metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion },
        },
        what: `ConfigMap "${name}"`,
      });
      return;
    } catch (error) {
      if (!isStatus(error, 409) || attempt >= MAX_CONFLICTS) throw error;
    }
  }
}

export async function deleteConfigMap(api: KubeApi, ns: string, name: string): Promise<void> {
  try {
    await api.request({ method: "DELETE", path: paths.configMap(ns, name), what: `ConfigMap "${name}"` });
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
}

/**
 * One ConfigMap as it changes: its current version (undefined while absent), then every later one (undefined when
 * deleted), through rollout-client's `listWatch` (resumes, relists on 410, backs off on transient errors). Until
 * the signal aborts.
 */
export async function* followConfigMap(
  api: KubeApi,
  ns: string,
  name: string,
  signal: AbortSignal,
): AsyncIterable<SmallConfigMap | undefined> {
  try {
    for await (const event of api.connection.objects.listWatch<SmallConfigMap & AnyObject>(
      { ...CONFIG_MAP, namespace: ns, name },
      { signal },
    )) {
      if (event.type === "LISTED") yield event.objects[0];
      else if (event.type === "DELETED") yield undefined;
      else if (event.type !== "INTERRUPTED") yield event.object;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}
