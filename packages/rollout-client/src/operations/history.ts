/**
 * Revision history: the ReplicaSets a workload owns, as `kubectl rollout history` and the plugin's undo find them
 * (listed by the workload's selector, kept only when the workload is their controller).
 */
import type { Connection } from "../connect.js";
import {
  CHANGE_CAUSE_ANNOTATION,
  DEPLOYMENT_REVISION_ANNOTATION,
  type KubeObject,
  type LabelSelector,
  type ListObject,
  type ReplicaSetObject,
  ROLLOUT_REVISION_ANNOTATION,
  resourcePath,
  selectorToString,
} from "../resources.js";
import { type ContainerImage, templateImages } from "../status.js";
import type { Target } from "../targets/target.js";
import { readObject } from "./shared.js";

export interface Revision {
  revision: number;
  images: ContainerImage[];
  /** The `kubernetes.io/change-cause` annotation, when someone set one. */
  changeCause?: string;
  /** When the revision's ReplicaSet was created (ISO 8601). */
  createdAt?: string;
  podTemplateHash?: string;
  /** Pods of this revision that are ready now. */
  readyReplicas: number;
}

/** The object whose ReplicaSets make the history: the Rollout (also with workloadRef), else the Deployment. */
export async function historyOwner(
  conn: Connection,
  target: Target,
): Promise<{ owner: KubeObject & { spec: { selector?: LabelSelector } }; kind: "Rollout" | "Deployment" }> {
  const kind = target.kind === "Rollout" ? "Rollout" : "Deployment";
  const name = target.kind === "Rollout" ? target.name : target.workload.name;
  const owner = await readObject<KubeObject & { spec: { selector?: LabelSelector } }>(
    conn,
    kind,
    target.namespace,
    name,
  );
  return { owner, kind };
}

export async function ownedReplicaSets(
  conn: Connection,
  owner: KubeObject & { spec: { selector?: LabelSelector } },
  namespace: string,
): Promise<ReplicaSetObject[]> {
  const list = await conn.request<ListObject<ReplicaSetObject>>({
    method: "GET",
    path: resourcePath("ReplicaSet", namespace),
    query: { labelSelector: selectorToString(owner.spec.selector) || undefined },
    resource: { kind: "ReplicaSet", namespace },
  });
  return (list.items ?? []).filter((rs) =>
    rs.metadata.ownerReferences?.some((ref) => ref.controller && ref.uid === owner.metadata.uid),
  );
}

export function revisionAnnotation(kind: "Rollout" | "Deployment"): string {
  return kind === "Rollout" ? ROLLOUT_REVISION_ANNOTATION : DEPLOYMENT_REVISION_ANNOTATION;
}

export function replicaSetRevision(rs: ReplicaSetObject, kind: "Rollout" | "Deployment"): number | undefined {
  const value = rs.metadata.annotations?.[revisionAnnotation(kind)];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export async function history(conn: Connection, target: Target): Promise<Revision[]> {
  const { owner, kind } = await historyOwner(conn, target);
  const replicaSets = await ownedReplicaSets(conn, owner, target.namespace);
  const revisions: Revision[] = [];
  for (const rs of replicaSets) {
    const revision = replicaSetRevision(rs, kind);
    if (revision === undefined) continue;
    const entry: Revision = {
      revision,
      images: templateImages(rs.spec.template),
      readyReplicas: rs.status?.readyReplicas ?? 0,
    };
    const cause = rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION];
    if (cause !== undefined) entry.changeCause = cause;
    if (rs.metadata.creationTimestamp) entry.createdAt = rs.metadata.creationTimestamp;
    const hash = rs.metadata.labels?.["rollouts-pod-template-hash"] ?? rs.metadata.labels?.["pod-template-hash"];
    if (hash) entry.podTemplateHash = hash;
    revisions.push(entry);
  }
  return revisions.sort((a, b) => a.revision - b.revision);
}
