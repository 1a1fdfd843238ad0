/**
 * The kinds the engine reads and writes itself (records, oConfig and lifecycle ConfigMaps, the Lease, Jobs, the
 * workloads' own objects), as rollout-client object references: every request goes through the connection's generic
 * object API (`connection.objects`), so the path, the retries and the error (`ConfigMap "x" in namespace "prod"`, the
 * namespace of the request actually made) are rollout-client's, as on every other path.
 */
import { hasHttpStatus, type NamedObjectRef } from "@rollway/rollout-client";

export const CONFIG_MAP = { apiVersion: "v1", kind: "ConfigMap" } as const;
export const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;
export const JOB = { apiVersion: "batch/v1", kind: "Job" } as const;
export const REPLICA_SET = { apiVersion: "apps/v1", kind: "ReplicaSet" } as const;
export const ROLLOUT = { apiVersion: "argoproj.io/v1alpha1", kind: "Rollout" } as const;
export const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" } as const;

/** A component's workload object: an Argo Rollout or a Deployment. */
export function workloadRef(kind: "Rollout" | "Deployment", namespace: string, name: string): NamedObjectRef {
  return { ...(kind === "Rollout" ? ROLLOUT : DEPLOYMENT), namespace, name };
}

/** A read that may find nothing: 404 is `undefined`, every other failure is thrown as it came. */
export async function unlessMissing<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (hasHttpStatus(error, 404)) return undefined;
    throw error;
  }
}
