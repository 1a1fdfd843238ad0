/**
 * What users are served now, per workload kind, read from status and the objects it names, never from the spec
 * (the spec of a workload in preview, or of one whose engine died, names a version nobody approved):
 * - Argo Rollout, blue-green: `status.blueGreen.activeSelector` → the ReplicaSet with that pod-template hash;
 * - Argo Rollout, canary: `status.stableRS` → its ReplicaSet (the canary's share is what is not settled);
 * - Flagger Canary: the `<target>-primary` Deployment's template;
 * - Deployment: the newest complete ReplicaSet (mid-rollout users get old and new: not settled).
 * The template comes back without the controllers' hash labels, so writing it back to the workload's spec makes
 * the controller find that very ReplicaSet again: abort and rollback reach the old state byte for byte, config
 * volume included.
 */
import { referencedConfigMap } from "@rollway/oconfig-versioning";
import type { Connection, NamedObjectRef, Target, WorkloadStatus } from "@rollway/rollout-client";
import type { PodTemplate } from "./cluster-state.js";
import { REPLICA_SET, unlessMissing, workloadRef } from "./kinds.js";

export const ROLLOUT_HASH_LABEL = "rollouts-pod-template-hash";
export const DEPLOYMENT_HASH_LABEL = "pod-template-hash";
const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";

export interface Served {
  /** The pod template users get (hash labels removed): what abort and rollback write back. */
  template: PodTemplate;
  /** Container name → image, from that template. */
  images: Record<string, string>;
  /** The oConfig ConfigMap the template mounts, if any. */
  configMap: string | undefined;
  /** Whether users get this one version only; when not, `unsettled` says what else is going on. */
  settled: boolean;
  unsettled?: string;
}

interface ReplicaSetObject {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec: { replicas?: number; template?: PodTemplate };
  status?: { availableReplicas?: number; replicas?: number };
}

interface RolloutObject {
  metadata: { name: string; generation?: number };
  spec: { strategy?: { blueGreen?: unknown; canary?: unknown } };
  status?: {
    stableRS?: string;
    currentPodHash?: string;
    observedGeneration?: string | number;
    abort?: boolean;
    phase?: string;
    blueGreen?: { activeSelector?: string };
  };
}

interface DeploymentObject {
  metadata: { name: string; generation?: number; annotations?: Record<string, string> };
  spec: { replicas?: number; template?: PodTemplate };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

export function imagesOf(template: PodTemplate | undefined): Record<string, string> {
  const images: Record<string, string> = {};
  for (const c of [...(template?.spec?.initContainers ?? []), ...(template?.spec?.containers ?? [])]) {
    if (c.image) images[c.name] = c.image;
  }
  return images;
}

/** A ReplicaSet's template as the workload's spec had it: without the hash label the controller added. */
export function withoutHashLabel(template: PodTemplate | undefined, label: string): PodTemplate {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels && label in t.metadata.labels) {
    const { [label]: _, ...rest } = t.metadata.labels;
    t.metadata = { ...t.metadata, labels: rest };
    if (Object.keys(rest).length === 0) delete t.metadata.labels;
  }
  return t;
}

/** Canonical JSON (sorted keys) of a template: two templates are the same version when these are equal. */
export function templateKey(template: PodTemplate | undefined): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .filter(([, x]) => x !== undefined)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return JSON.stringify(sort(template ?? {}));
}

const served = (template: PodTemplate, settled: boolean, unsettled?: string): Served => ({
  template,
  images: imagesOf(template),
  configMap: referencedConfigMap(template as never),
  settled,
  ...(unsettled ? { unsettled } : {}),
});

function get<T>(api: Connection, ref: NamedObjectRef, signal?: AbortSignal): Promise<T | undefined> {
  return unlessMissing(api.objects.get<T>(ref, signal ? { signal } : {}));
}

/** Every ReplicaSet of a namespace, read once and shared by the components of one reading. */
export type ReplicaSetLister = () => Promise<ReplicaSetObject[]>;

export function listReplicaSetsOnce(api: Connection, ns: string, signal?: AbortSignal): ReplicaSetLister {
  let list: Promise<ReplicaSetObject[]> | undefined;
  return () => {
    list ??= api.objects
      .list<ReplicaSetObject>({ ...REPLICA_SET, namespace: ns }, signal ? { signal } : {})
      .then((x) => x.items);
    return list;
  };
}

async function ownedReplicaSets(list: ReplicaSetLister, kind: string, name: string): Promise<ReplicaSetObject[]> {
  return (await list()).filter((rs) =>
    (rs.metadata.ownerReferences ?? []).some((o) => o.kind === kind && o.name === name && o.controller !== false),
  );
}

/**
 * Reads what a component's users are served. `status` is rollout-client's reading of the same workload, for the
 * phase; undefined when the workload serves nothing yet (no stable ReplicaSet).
 */
export async function readServed(
  api: Connection,
  target: Target,
  /** rollout-client's status: needed for a Canary; a Rollout's and a Deployment's are read from the object. */
  status: WorkloadStatus | undefined,
  options: {
    signal?: AbortSignal;
    replicaSets?: ReplicaSetLister;
    /** The Rollout as the caller read it already (one LIST for the environment): not read again. */
    rollout?: unknown;
  } = {},
): Promise<Served | undefined> {
  const ns = target.namespace;
  const { signal } = options;
  const replicaSets = options.replicaSets ?? listReplicaSetsOnce(api, ns, signal);
  if (target.kind === "Rollout") {
    const rollout =
      (options.rollout as RolloutObject | undefined) ??
      (await get<RolloutObject>(api, workloadRef("Rollout", ns, target.name), signal));
    if (!rollout) return undefined;
    const s = rollout.status ?? {};
    const blueGreen = rollout.spec.strategy?.blueGreen !== undefined;
    const hash = blueGreen ? (s.blueGreen?.activeSelector ?? s.stableRS) : s.stableRS;
    if (!hash) return undefined;
    const rs = (await ownedReplicaSets(replicaSets, "Rollout", target.name)).find(
      (x) => x.metadata.labels?.[ROLLOUT_HASH_LABEL] === hash,
    );
    if (!rs) return undefined;
    const template = withoutHashLabel(rs.spec.template, ROLLOUT_HASH_LABEL);
    const phase = status?.phase ?? s.phase ?? "Progressing";
    const settled = s.stableRS === hash && s.currentPodHash === hash && !s.abort && phase === "Healthy";
    return served(
      template,
      settled,
      settled
        ? undefined
        : `${target.kind} "${target.name}" is ${phase}${s.currentPodHash !== hash ? " with another version in preview" : ""}`,
    );
  }
  if (target.kind === "Canary") {
    const primary = await get<DeploymentObject>(
      api,
      workloadRef("Deployment", ns, `${target.workload.name}-primary`),
      signal,
    );
    if (!primary?.spec.template) return undefined;
    // Flagger copies the target's template to the primary with its own labels: what is restored to the target is
    // the primary's pod spec under the target's own metadata.
    const targetObject = await get<DeploymentObject>(api, workloadRef("Deployment", ns, target.workload.name), signal);
    const template: PodTemplate = {
      ...(targetObject?.spec.template?.metadata ? { metadata: targetObject.spec.template.metadata } : {}),
      ...(primary.spec.template.spec ? { spec: primary.spec.template.spec } : {}),
    };
    const settled = status?.phase === "Healthy";
    return served(template, settled, settled ? undefined : `Canary "${target.name}" is ${status?.phase ?? "unknown"}`);
  }
  // Deployment: the newest complete ReplicaSet.
  const deployment = await get<DeploymentObject>(api, workloadRef("Deployment", ns, target.name), signal);
  if (!deployment) return undefined;
  const owned = await ownedReplicaSets(replicaSets, "Deployment", target.name);
  const revision = (rs: ReplicaSetObject) => Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);
  const d = deployment.status ?? {};
  const wanted = deployment.spec.replicas ?? 1;
  const complete =
    (d.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 0) &&
    d.updatedReplicas === wanted &&
    d.replicas === wanted &&
    d.availableReplicas === wanted;
  const desired = owned.find(
    (rs) => rs.metadata.annotations?.[REVISION_ANNOTATION] === deployment.metadata.annotations?.[REVISION_ANNOTATION],
  );
  if (complete && desired) return served(withoutHashLabel(desired.spec.template, DEPLOYMENT_HASH_LABEL), true);
  const serving = owned
    .filter((rs) => (rs.status?.availableReplicas ?? 0) > 0)
    .sort((a, b) => revision(b) - revision(a))
    .find((rs) => rs !== desired);
  const rs = serving ?? desired;
  if (!rs) return undefined;
  return served(
    withoutHashLabel(rs.spec.template, DEPLOYMENT_HASH_LABEL),
    false,
    `Deployment "${target.name}" is rolling out (${d.updatedReplicas ?? 0} of ${wanted} updated, ${d.availableReplicas ?? 0} available)`,
  );
}
