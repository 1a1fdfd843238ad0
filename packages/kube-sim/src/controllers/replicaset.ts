/**
 * The ReplicaSet controller (pkg/controller/replicaset): keeps `spec.replicas` pods that it controls, creating
 * them from the template (generateName `<rs>-`) and deleting the least useful first on scale-down (unscheduled,
 * then pending, then not ready, then ready for the shortest time, then most restarts, then newest), and reports
 * replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for minReadySeconds) and observedGeneration.
 */
import type { KubeObject } from "../crds.js";
import { fromLabelSelectorObject, matchesLabels } from "../selectors.js";
import { defineController } from "./runtime.js";
import {
  controllerRef,
  isControlledBy,
  isPodActive,
  isPodReady,
  msUntilAvailable,
  type Obj,
  podCondition,
  typeOf,
} from "./workload.js";

function deletionRank(pod: KubeObject): number[] {
  const status = (pod.status ?? {}) as Obj;
  const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
  const readySince = podCondition(pod, "Ready")?.lastTransitionTime;
  const restarts = ((status.containerStatuses ?? []) as Obj[]).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  return [
    (pod.spec as Obj)?.nodeName ? 1 : 0,
    phaseRank[status.phase as string] ?? 1,
    isPodReady(pod) ? 1 : 0,
    // Ready for a shorter time goes first: later timestamps rank lower.
    isPodReady(pod) && readySince ? -Date.parse(readySince) : 0,
    -restarts,
    -Date.parse(pod.metadata.creationTimestamp ?? "1970-01-01T00:00:00Z"),
  ];
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

export const replicaSetController = defineController({
  name: "replicaset",
  for: { apiVersion: "apps/v1", kind: "ReplicaSet" },
  owns: [{ apiVersion: "v1", kind: "Pod" }],
  reconcile(ctx, key) {
    const rsType = typeOf(ctx.store, "apps", "replicasets");
    const podType = typeOf(ctx.store, "", "pods");
    const rs = ctx.store.peek(rsType, key.namespace, key.name);
    if (!rs || rs.metadata.deletionTimestamp) return undefined;
    const spec = rs.spec as Obj;
    const desired: number = spec.replicas ?? 1;
    const owned = () =>
      ctx.store.listRaw(podType, key.namespace).items.filter((p) => isControlledBy(p, rs) && isPodActive(p));
    let pods = owned();
    const diff = pods.length - desired;
    if (diff < 0) {
      const template = (spec.template ?? {}) as Obj;
      for (let i = 0; i < -diff; i++) {
        const pod = ctx.store.create(podType, key.namespace, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            generateName: `${rs.metadata.name}-`,
            labels: { ...(template.metadata?.labels ?? {}) },
            ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
            ownerReferences: [controllerRef(rs)],
          },
          spec: structuredClone(template.spec ?? {}),
        }).object;
        ctx.recordEvent(rs, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`, "replicaset-controller");
      }
    } else if (diff > 0) {
      const victims = [...pods].sort((a, b) => compareRanks(deletionRank(a), deletionRank(b))).slice(0, diff);
      for (const pod of victims) {
        ctx.store.delete(podType, key.namespace, pod.metadata.name as string);
        ctx.recordEvent(rs, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name}`, "replicaset-controller");
      }
    }
    pods = owned();
    const now = ctx.clock.now();
    const minReadySeconds: number = spec.minReadySeconds ?? 0;
    const templateLabels = fromLabelSelectorObject({ matchLabels: spec.template?.metadata?.labels ?? {} });
    let available = 0;
    let nextAvailableIn: number | undefined;
    for (const p of pods) {
      const wait = msUntilAvailable(p, minReadySeconds, now);
      if (wait === 0) available++;
      else if (wait !== undefined) nextAvailableIn = Math.min(nextAvailableIn ?? wait, wait);
    }
    const status: Obj = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.filter((p) => matchesLabels(templateLabels, p.metadata.labels)).length,
      readyReplicas: pods.filter(isPodReady).length,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    };
    for (const k of ["readyReplicas", "availableReplicas", "fullyLabeledReplicas"])
      if (status[k] === 0) delete status[k];
    const current = ctx.store.peek(rsType, key.namespace, key.name) as KubeObject;
    ctx.store.update(rsType, key.namespace, key.name, { ...current, status }, { subresource: "status" });
    return nextAvailableIn === undefined ? undefined : { requeueAfterMs: nextAvailableIn };
  },
});
