/**
 * The snapshot `plan()` is computed from: for every component of the environment, the workload rollway drives,
 * the images and oConfig ConfigMap users are served (read from status, see served.ts: never the spec, which may
 * name a preview nobody approved), and its phase; plus what the last promoted release
 * recorded as each service's current oConfig version. `readClusterState` is the only effect; the types are data.
 */
import { referencedConfigMap } from "@rollway/oconfig-versioning";
import type {
  Connection,
  Phase,
  PodTemplate,
  RolloutClient,
  Target,
  Strategy as TargetStrategy,
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
 * Reads the snapshot: per component one target lookup (rollout-client), one read of the pod template and one
 * status, all components in parallel.
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
  await Promise.all(
    componentsOf(environment).map(async ({ name, workloadName }) => {
      let target: Target;
      try {
        target = await client.target(workloadName, ns);
      } catch (error) {
        if ((error as { code?: string }).code === "NOT_FOUND") return;
        throw error;
      }
      const [object, status] = await Promise.all([
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
