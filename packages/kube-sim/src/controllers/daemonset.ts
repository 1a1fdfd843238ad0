/**
 * The DaemonSet controller (pkg/controller/daemon), simply: one pod per node whose labels match the template's
 * `nodeSelector` (kube-sim has one node, `kube-sim-node`), bound to that node, labelled with
 * `controller-revision-hash` (a hash of the template) and `pod-template-generation`. A template change replaces
 * the pods as RollingUpdate does with `maxUnavailable` (default 1, no surge): an outdated pod is deleted only while
 * no more than `maxUnavailable` pods are unavailable, and the new one is created once it is gone; `OnDelete`
 * replaces a pod only when it is deleted. Status: desired/current/updated NumberScheduled, numberReady,
 * numberAvailable (ready for minReadySeconds), numberUnavailable, numberMisscheduled, observedGeneration.
 * Not simulated: taints and tolerations, node affinity, maxSurge, ControllerRevision objects.
 */
import type { KubeObject } from "../crds.js";
import { podTemplateHash } from "./deployment.js";
import { defineController } from "./runtime.js";
import {
  controllerRef,
  isControlledBy,
  isPodActive,
  isPodReady,
  msUntilAvailable,
  type Obj,
  scaledValue,
  typeOf,
} from "./workload.js";

const REVISION_HASH = "controller-revision-hash";

function nodeMatches(node: KubeObject, nodeSelector: Record<string, string> | undefined): boolean {
  const labels = node.metadata.labels ?? {};
  return Object.entries(nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
}

export const daemonSetController = defineController({
  name: "daemonset",
  for: { apiVersion: "apps/v1", kind: "DaemonSet" },
  owns: [{ apiVersion: "v1", kind: "Pod" }],
  reconcile(ctx, key) {
    const dsType = typeOf(ctx.store, "apps", "daemonsets");
    const podType = typeOf(ctx.store, "", "pods");
    const nodeType = typeOf(ctx.store, "", "nodes");
    const ds = ctx.store.peek(dsType, key.namespace, key.name);
    if (!ds || ds.metadata.deletionTimestamp) return undefined;
    const spec = ds.spec as Obj;
    const template = (spec.template ?? {}) as Obj;
    const hash = podTemplateHash(template);
    const nodes = ctx.store
      .listRaw(nodeType, undefined)
      .items.filter((n) => nodeMatches(n, template.spec?.nodeSelector));
    const strategy = (spec.updateStrategy ?? {}) as Obj;
    const onDelete = strategy.type === "OnDelete";
    const owned = () =>
      ctx.store.listRaw(podType, key.namespace).items.filter((p) => isControlledBy(p, ds) && isPodActive(p));
    const now = ctx.clock.now();
    const minReadySeconds: number = spec.minReadySeconds ?? 0;
    const isAvailable = (p: KubeObject) => msUntilAvailable(p, minReadySeconds, now) === 0;

    let pods = owned();
    for (const node of nodes) {
      const nodeName = node.metadata.name as string;
      if (pods.some((p) => (p.spec as Obj)?.nodeName === nodeName)) continue;
      const pod = ctx.store.create(podType, key.namespace, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          generateName: `${ds.metadata.name}-`,
          labels: {
            ...(template.metadata?.labels ?? {}),
            [REVISION_HASH]: hash,
            "pod-template-generation": String(ds.metadata.generation ?? 1),
          },
          ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
          ownerReferences: [controllerRef(ds)],
        },
        spec: { ...structuredClone(template.spec ?? {}), nodeName },
      }).object;
      ctx.recordEvent(ds, "Normal", "SuccessfulCreate", `Created pod: ${pod.metadata.name}`, "daemonset-controller");
    }
    // Pods on nodes that no longer run the daemon go.
    for (const p of owned()) {
      if (nodes.some((n) => n.metadata.name === (p.spec as Obj)?.nodeName)) continue;
      ctx.store.delete(podType, key.namespace, p.metadata.name as string);
      ctx.recordEvent(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata.name}`, "daemonset-controller");
    }
    pods = owned();
    if (!onDelete) {
      const maxUnavailable = Math.max(1, scaledValue(strategy.rollingUpdate?.maxUnavailable ?? 1, nodes.length, true));
      let unavailable = nodes.length - pods.filter(isAvailable).length;
      for (const p of pods) {
        if (p.metadata.labels?.[REVISION_HASH] === hash) continue;
        // An outdated pod that is not available anyway costs nothing to replace.
        if (isAvailable(p) && unavailable >= maxUnavailable) continue;
        ctx.store.delete(podType, key.namespace, p.metadata.name as string);
        ctx.recordEvent(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${p.metadata.name}`, "daemonset-controller");
        if (isAvailable(p)) unavailable++;
      }
      pods = owned();
    }
    let nextAvailableIn: number | undefined;
    for (const p of pods) {
      const wait = msUntilAvailable(p, minReadySeconds, now);
      if (wait !== undefined && wait > 0) nextAvailableIn = Math.min(nextAvailableIn ?? wait, wait);
    }
    const available = pods.filter(isAvailable).length;
    const status: Obj = {
      currentNumberScheduled: pods.length,
      desiredNumberScheduled: nodes.length,
      numberMisscheduled: 0,
      numberReady: pods.filter(isPodReady).length,
      numberAvailable: available,
      numberUnavailable: nodes.length - available,
      updatedNumberScheduled: pods.filter((p) => p.metadata.labels?.[REVISION_HASH] === hash).length,
      observedGeneration: ds.metadata.generation,
    };
    for (const k of ["numberAvailable", "numberUnavailable", "updatedNumberScheduled"])
      if (status[k] === 0) delete status[k];
    const current = ctx.store.peek(dsType, key.namespace, key.name) as KubeObject;
    ctx.store.update(dsType, key.namespace, key.name, { ...current, status }, { subresource: "status" });
    return nextAvailableIn === undefined ? undefined : { requeueAfterMs: nextAvailableIn };
  },
});
