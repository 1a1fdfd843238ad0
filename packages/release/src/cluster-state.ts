/**
 * The snapshot `plan()` is computed from: for every component of the environment, the workload rollway drives,
 * the images and oConfig ConfigMap users are served (read from status, see served.ts: never the spec, which may
 * name a preview nobody approved), and its phase; plus what the last promoted release
 * recorded as each service's current oConfig version. `readClusterState` is the only effect; the types are data.
 */
import { referencedConfigMap } from "@rollway/oconfig-versioning";
import {
  type Connection,
  type FoundTargets,
  findTargets,
  type Phase,
  type PodTemplate,
  type RolloutClient,
  rolloutStatus,
  type Target,
  type Strategy as TargetStrategy,
  type WorkloadStatus,
} from "@rollway/rollout-client";
import type { Environment } from "./environment.js";
import { unlessMissing, workloadRef } from "./kinds.js";
import { imagesOf, listReplicaSetsOnce, readServed } from "./served.js";

export interface WorkloadState {
  /** The object rollway drives (a Flagger Canary drives its target Deployment). */
  kind: Target["kind"];
  name: string;
  strategy: TargetStrategy;
  /** The object holding the pod template. */
  workload: Target["workload"];
  /** Container name → image users are served (the spec's template when nothing serves yet). */
  images: Record<string, string>;
  /** The oConfig ConfigMap the served template mounts, if any. */
  configMap: string | undefined;
  phase: Phase;
  /** The whole template users are served: what an abort or rollback puts back. */
  served?: PodTemplate | undefined;
  /** Undefined when users get one version only; else what else is going on (a preview, a rolling update). */
  unsettled?: string | undefined;
}

export interface ClusterState {
  namespace: string;
  /** By component name; absent when the workload does not exist. */
  workloads: Record<string, WorkloadState>;
  /** Service → the oConfig version the last promoted release made current. */
  currentOConfig: Record<string, string>;
}

/** The pod template as rollout-client types it: one definition for every package. */
export type { PodTemplate };

export interface WorkloadObject {
  metadata: { name: string; resourceVersion?: string };
  spec: { template?: PodTemplate; replicas?: number };
}

export { imagesOf };

/** Every component of the environment with its workload reference. */
export function componentsOf(
  environment: Environment,
): { name: string; role: "frontend" | "backend" | "platform"; kind: string; workloadName: string }[] {
  const out: { name: string; role: "frontend" | "backend" | "platform"; kind: string; workloadName: string }[] = [];
  if (environment.frontend)
    out.push({
      name: "frontend",
      role: "frontend",
      kind: environment.frontend.workload.kind,
      workloadName: environment.frontend.workload.name,
    });
  for (const [name, c] of Object.entries(environment.backends))
    out.push({ name, role: "backend", kind: c.workload.kind, workloadName: c.workload.name });
  for (const p of environment.platform)
    out.push({ name: p.name, role: "platform", kind: p.workload.kind, workloadName: p.workload.name });
  return out;
}

/**
 * Reads the snapshot: the targets of every component from one list of Rollouts (rollout-client's findTargets), and
 * the ReplicaSets from one list; a Rollout's template, status and served version come from those lists, other
 * kinds' from one read of the object and rollout-client's status. All components in parallel.
 */
export async function readClusterState(
  client: RolloutClient,
  api: Connection,
  environment: Environment,
  options: { currentOConfig?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<ClusterState> {
  const ns = environment.namespace;
  const workloads: Record<string, WorkloadState> = {};
  const replicaSets = listReplicaSetsOnce(api, ns, options.signal);
  const components = componentsOf(environment);
  const { targets, rollouts } = await findTargets(
    api,
    components.map((c) => c.workloadName),
    ns,
  );
  const listed = new Map(rollouts.map((r) => [r.metadata.name, r]));
  await Promise.all(
    components.map(async ({ name, workloadName }) => {
      const target = targets.get(workloadName);
      if (!target) return;
      // A Rollout that is its own workload: the list has it whole, and the shared ReplicaSet list gives its status.
      const rollout = target.workload.kind === "Rollout" ? listed.get(target.name) : undefined;
      const [object, status] = rollout
        ? [rollout as unknown as WorkloadObject, ownStatus(rollout, await replicaSets())]
        : await Promise.all([
            unlessMissing(
              api.objects.get<WorkloadObject>(
                workloadRef(target.workload.kind, ns, target.workload.name),
                options.signal ? { signal: options.signal } : {},
              ),
            ),
            client.status(target),
          ]);
      if (!object) return;
      const template = object.spec.template;
      const served = await readServed(api, target, status, {
        replicaSets,
        ...(rollout ? { rollout } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      workloads[name] = {
        kind: target.kind,
        name: target.name,
        strategy: target.strategy,
        workload: target.workload,
        images: served ? served.images : imagesOf(template),
        configMap: served ? served.configMap : template ? referencedConfigMap(template as never) : undefined,
        phase: status.phase,
        served: served?.template,
        unsettled: served
          ? served.settled
            ? undefined
            : served.unsettled
          : `${target.kind} "${target.name}" serves no version yet`,
      };
    }),
  );
  return { namespace: ns, workloads, currentOConfig: options.currentOConfig ?? {} };
}

type ListedRollout = FoundTargets["rollouts"][number];

/**
 * rollout-client's status of the components' Rollouts, read once for all of them: one list of Rollouts and one of
 * ReplicaSets (where reading each alone costs two lists per Rollout). Other kinds, and a Rollout whose workload is a
 * Deployment, are read by rollout-client's own `status`.
 */
export function statusesOnce(client: RolloutClient, ns: string): (target: Target) => Promise<WorkloadStatus> {
  let lists: Promise<[Map<string, ListedRollout>, { metadata: object }[]]> | undefined;
  return async (target) => {
    if (target.kind !== "Rollout" || target.workload.kind !== "Rollout" || target.namespace !== ns)
      return client.status(target);
    lists ??= Promise.all([
      findTargets(client.connection, [], ns).then(({ rollouts }) => new Map(rollouts.map((r) => [r.metadata.name, r]))),
      listReplicaSetsOnce(client.connection, ns)(),
    ]);
    const [rollouts, replicaSets] = await lists;
    const rollout = rollouts.get(target.name);
    return rollout ? ownStatus(rollout, replicaSets) : client.status(target);
  };
}

/** rollout-client's status of a Rollout from the ReplicaSets it owns (as its watch computes it), with no request. */
function ownStatus(rollout: ListedRollout, replicaSets: { metadata: object }[]): WorkloadStatus {
  const uid = rollout.metadata.uid;
  const owned = replicaSets.filter(
    (rs) =>
      !uid || (rs.metadata as { ownerReferences?: { uid?: string }[] }).ownerReferences?.some((o) => o.uid === uid),
  );
  return rolloutStatus({ rollout, replicaSets: owned as never });
}
