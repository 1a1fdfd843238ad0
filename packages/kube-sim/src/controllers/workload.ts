/** Helpers shared by the built-in workload controllers: pod readiness, owner references, conditions, intstr. */
import type { KubeObject, OwnerReference } from "../crds.js";
import type { ResourceType } from "../resources.js";
import type { Store } from "../store.js";

// biome-ignore lint/suspicious/noExplicitAny: controllers read and write arbitrary nested Kubernetes fields
export type Obj = any;

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  [key: string]: unknown;
}

export function typeOf(store: Store, group: string, resource: string): ResourceType {
  const t = store.types.get(group, resource);
  if (!t) throw new Error(`kube-sim has no ${group ? `${resource}.${group}` : resource} type`);
  return t;
}

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return controllerOf(obj)?.uid === owner.metadata.uid;
}

export function controllerRef(owner: KubeObject): OwnerReference {
  return controllerRefTo(owner.apiVersion, owner.kind, owner.metadata.name as string, owner.metadata.uid as string);
}

/** The reference a controller writes on what it makes: `controller` and `blockOwnerDeletion` set. */
export function controllerRefTo(apiVersion: string, kind: string, name: string, uid: string): OwnerReference {
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

export function toTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export function podCondition(pod: KubeObject, type: string): Condition | undefined {
  return ((pod.status as Obj)?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
}

export function isPodActive(pod: KubeObject): boolean {
  const phase = (pod.status as Obj)?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata.deletionTimestamp;
}

export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, "Ready")?.status === "True";
}

/**
 * Milliseconds until a ready pod counts as available (ready for minReadySeconds): 0 when it already is,
 * undefined when it is not ready at all. As podutil.IsPodAvailable.
 */
export function msUntilAvailable(pod: KubeObject, minReadySeconds: number, now: number): number | undefined {
  const ready = podCondition(pod, "Ready");
  if (ready?.status !== "True") return undefined;
  if (!minReadySeconds) return 0;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : now;
  return Math.max(0, since + minReadySeconds * 1000 - now);
}

/**
 * Sets a condition in place, keeping lastTransitionTime unless the status flips. Returns the list.
 * `lastUpdateTime` is only touched for conditions that carry it (Deployment conditions).
 */
export function setCondition(list: Condition[], next: Condition, now: string, withUpdateTime = false): Condition[] {
  const i = list.findIndex((c) => c.type === next.type);
  const current = i >= 0 ? list[i] : undefined;
  const merged: Condition = { ...next };
  if (withUpdateTime) merged.lastUpdateTime = now;
  merged.lastTransitionTime = current && current.status === next.status ? current.lastTransitionTime : now;
  if (
    current &&
    withUpdateTime &&
    current.status === next.status &&
    current.reason === next.reason &&
    current.message === next.message
  ) {
    merged.lastUpdateTime = current.lastUpdateTime;
  }
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

/** Resolves an int-or-percent against a total, as intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  if (typeof value === "string") {
    const m = /^(\d+)%$/.exec(value);
    if (m) {
      const v = (Number(m[1]) * total) / 100;
      return roundUp ? Math.ceil(v) : Math.floor(v);
    }
    if (/^\d+$/.test(value)) return Number(value);
  }
  throw new Error(`invalid int-or-percent value ${JSON.stringify(value)}`);
}
