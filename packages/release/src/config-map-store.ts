/**
 * Small ConfigMaps the release lifecycle keeps beside the records (event logs, idempotency claims): read, create
 * (a 409 AlreadyExists means another process got there first: the atomic claim), read-modify-write with the
 * resourceVersion (a 409 reads again), delete, and follow one by name through rollout-client's one list-then-watch.
 */
import { type AnyObject, type Connection, hasHttpStatus } from "@rollway/rollout-client";
import { CONFIG_MAP, unlessMissing } from "./kinds.js";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "rollway" } as const;
const MAX_CONFLICTS = 20;

export interface SmallConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export async function getConfigMap(
  api: Connection,
  ns: string,
  name: string,
  signal?: AbortSignal,
): Promise<SmallConfigMap | undefined> {
  return unlessMissing(
    api.objects.get<SmallConfigMap>({ ...CONFIG_MAP, namespace: ns, name }, signal ? { signal } : {}),
  );
}

/** True when this call created it; false when it existed already. */
export async function createConfigMap(api: Connection, ns: string, cm: SmallConfigMap): Promise<boolean> {
  try {
    await api.objects.create({ ...CONFIG_MAP, ...cm, metadata: { ...cm.metadata, namespace: ns } });
    return true;
  } catch (error) {
    if (hasHttpStatus(error, 409)) return false;
    throw error;
  }
}

/** Read-modify-write; `change` returns undefined to leave the object alone. Creates it when absent. */
export async function updateConfigMap(
  api: Connection,
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
      await api.objects.replace({
        ...CONFIG_MAP,
        ...next,
        metadata: { ...next.metadata, name, namespace: ns, resourceVersion: current.metadata.resourceVersion },
      });
      return;
    } catch (error) {
      if (!hasHttpStatus(error, 409) || attempt >= MAX_CONFLICTS) throw error;
    }
  }
}

export async function deleteConfigMap(api: Connection, ns: string, name: string): Promise<void> {
  await unlessMissing(api.objects.delete({ ...CONFIG_MAP, namespace: ns, name }));
}

/**
 * One ConfigMap as it changes: its current version (undefined while absent), then every later one (undefined when
 * deleted), through rollout-client's `listWatch` (resumes, relists on 410, backs off on transient errors). Until
 * the signal aborts.
 */
export async function* followConfigMap(
  api: Connection,
  ns: string,
  name: string,
  signal: AbortSignal,
): AsyncIterable<SmallConfigMap | undefined> {
  try {
    for await (const event of api.objects.listWatch<SmallConfigMap & AnyObject>(
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
