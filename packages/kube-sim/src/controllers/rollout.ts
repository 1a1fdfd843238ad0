/**
 * The Argo Rollouts controller (argoproj.io/v1alpha1 Rollout) on the kube-sim controller runtime: blue-green and
 * canary strategies, `workloadRef`, abort/retry/promote/promoteFull, undo and restart, with the status fields,
 * phases, messages and conditions the real controller writes. The reconcile logic lives in `rollout-reconcile.ts`;
 * this file only connects it to the store, the clock and the work queue. ReplicaSets it creates are run by the
 * built-in ReplicaSet controller, so Pods and their readiness come from the same simulation as Deployments.
 */
import type { KubeObject } from "../crds.js";
import { KubeApiError } from "../errors.js";
import type { ResourceType } from "../resources.js";
import type { Store } from "../store.js";
import type { AnalysisRun } from "./analysisrun.js";
import {
  type Deployment,
  MANAGED_BY_ROLLOUTS_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  type Pod,
  type ReplicaSet,
  type Rollout,
  type Service,
} from "./argo-rollout-types.js";
import { referencedServices } from "./argo-rollout-validation.js";
import type { Experiment } from "./experiment.js";
import { type AnalysisTemplateObject, referencedAnalyses } from "./rollout-analysis.js";
import { type RolloutWorld, reconcileRollout } from "./rollout-reconcile.js";
import { type ControllerContext, defineController, type ObjectKey } from "./runtime.js";

const ROLLOUT = { apiVersion: "argoproj.io/v1alpha1", kind: "Rollout" };
const REMOVE_SELECTOR_AND_MANAGED_BY_PATCH = {
  metadata: { annotations: { [MANAGED_BY_ROLLOUTS_ANNOTATION]: null } },
  spec: { selector: { [POD_TEMPLATE_HASH_LABEL]: null } },
};
const REPLICA_SET = { apiVersion: "apps/v1", kind: "ReplicaSet" };
const SERVICE = { apiVersion: "v1", kind: "Service" };
const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" };
const POD = { apiVersion: "v1", kind: "Pod" };
const ANALYSIS_RUN = { apiVersion: "argoproj.io/v1alpha1", kind: "AnalysisRun" };
const ANALYSIS_TEMPLATE = { apiVersion: "argoproj.io/v1alpha1", kind: "AnalysisTemplate" };
const CLUSTER_ANALYSIS_TEMPLATE = { apiVersion: "argoproj.io/v1alpha1", kind: "ClusterAnalysisTemplate" };
const EXPERIMENT = { apiVersion: "argoproj.io/v1alpha1", kind: "Experiment" };

/**
 * Which Rollouts reference a Service or a Deployment, filled in by each reconcile. Watch mappings get only the
 * changed object, so they look the referrers up here. Keyed by namespace/kind/name; an entry left by another
 * simulator in the same process only causes a harmless reconcile of a Rollout that is not there.
 */
const referrers = new Map<string, Set<string>>();

/** UIDs of the Rollouts each simulator's controller has seen (for RolloutAddedToInformer). */
const seen = new WeakMap<Store, Set<string>>();

function refKey(namespace: string | undefined, kind: string, name: string): string {
  return `${namespace ?? ""}/${kind}/${name}`;
}

function rememberReferences(rollout: Rollout): void {
  const ns = rollout.metadata.namespace;
  const names: string[] = [];
  const bg = rollout.spec?.strategy?.blueGreen;
  const canary = rollout.spec?.strategy?.canary;
  for (const svc of [bg?.activeService, bg?.previewService, canary?.stableService, canary?.canaryService]) {
    if (svc) names.push(refKey(ns, "Service", svc));
  }
  if (rollout.spec?.workloadRef?.name) names.push(refKey(ns, "Deployment", rollout.spec.workloadRef.name));
  if (rollout.spec?.strategy) {
    for (const ref of referencedAnalyses(rollout.spec)) {
      for (const t of ref.analysis.templates ?? []) {
        names.push(
          t.clusterScope
            ? refKey(undefined, "ClusterAnalysisTemplate", t.templateName)
            : refKey(ns, "AnalysisTemplate", t.templateName),
        );
      }
    }
  }
  for (const key of names) {
    const set = referrers.get(key) ?? new Set<string>();
    set.add(`${ns ?? ""}\u0000${rollout.metadata.name}`);
    referrers.set(key, set);
  }
}

function referrersOf(obj: KubeObject): ObjectKey[] {
  const set = referrers.get(refKey(obj.metadata.namespace, obj.kind, obj.metadata.name ?? ""));
  return [...(set ?? [])].map((entry) => {
    const [namespace, name] = entry.split("\u0000") as [string, string];
    return { namespace: namespace || undefined, name };
  });
}

function typeOf(store: Store, ref: { apiVersion: string; kind: string }): ResourceType {
  const type = store.types.byKind(ref.apiVersion, ref.kind);
  if (!type)
    throw new Error(`kube-sim has no ${ref.kind} (${ref.apiVersion}) type: are the Argo Rollouts CRDs installed?`);
  return type;
}

function clone<T>(obj: unknown): T {
  return structuredClone(obj) as T;
}

/** The store seen through the `RolloutWorld` interface; every read is a copy. */
export function rolloutWorld(ctx: ControllerContext): RolloutWorld {
  const { store } = ctx;
  const peek = (ref: { apiVersion: string; kind: string }, ns: string, name: string) =>
    store.peek(typeOf(store, ref), ns, name);
  return {
    now: () => new Date(ctx.clock.now()),
    listReplicaSets: async (ns) => clone<ReplicaSet[]>(store.listRaw(typeOf(store, REPLICA_SET), ns).items),
    listPods: async (ns) => clone<Pod[]>(store.listRaw(typeOf(store, POD), ns).items),
    getService: async (ns, name) => clone<Service | undefined>(peek(SERVICE, ns, name)),
    getDeployment: async (ns, name) => clone<Deployment | undefined>(peek(DEPLOYMENT, ns, name)),
    createReplicaSet: async (ns, rs) => {
      try {
        return clone<ReplicaSet>(store.create(typeOf(store, REPLICA_SET), ns, rs).object);
      } catch (error) {
        if (error instanceof KubeApiError && error.reason === "AlreadyExists") return undefined;
        throw error;
      }
    },
    patchReplicaSet: async (ns, name, patch) =>
      clone<ReplicaSet>(store.patch(typeOf(store, REPLICA_SET), ns, name, "merge", patch).object),
    deleteReplicaSet: async (ns, name) => {
      store.delete(typeOf(store, REPLICA_SET), ns, name);
    },
    patchService: async (ns, name, patch) => {
      store.patch(typeOf(store, SERVICE), ns, name, "merge", patch);
    },
    patchDeployment: async (ns, name, patch) => {
      store.patch(typeOf(store, DEPLOYMENT), ns, name, "merge", patch);
    },
    patchRollout: async (ns, name, patch) => {
      store.patch(typeOf(store, ROLLOUT), ns, name, "merge", patch);
    },
    patchRolloutStatus: async (ns, name, patch) => {
      store.patch(typeOf(store, ROLLOUT), ns, name, "merge", patch, { subresource: "status" });
    },
    deletePod: async (ns, name) => {
      store.delete(typeOf(store, POD), ns, name);
    },
    getAnalysisTemplate: async (ns, name) =>
      clone<AnalysisTemplateObject | undefined>(peek(ANALYSIS_TEMPLATE, ns, name)),
    getClusterAnalysisTemplate: async (name) =>
      clone<AnalysisTemplateObject | undefined>(store.peek(typeOf(store, CLUSTER_ANALYSIS_TEMPLATE), undefined, name)),
    listAnalysisRuns: async (ns) => clone<AnalysisRun[]>(store.listRaw(typeOf(store, ANALYSIS_RUN), ns).items),
    createAnalysisRun: async (ns, run) => {
      try {
        return clone<AnalysisRun>(store.create(typeOf(store, ANALYSIS_RUN), ns, run).object);
      } catch (error) {
        if (error instanceof KubeApiError && error.reason === "AlreadyExists") return undefined;
        throw error;
      }
    },
    patchAnalysisRun: async (ns, name, patch) => {
      store.patch(typeOf(store, ANALYSIS_RUN), ns, name, "merge", patch);
    },
    listExperiments: async (ns) => clone<Experiment[]>(store.listRaw(typeOf(store, EXPERIMENT), ns).items),
    createExperiment: async (ns, ex) => {
      try {
        return clone<Experiment>(store.create(typeOf(store, EXPERIMENT), ns, ex as unknown as KubeObject).object);
      } catch (error) {
        if (error instanceof KubeApiError && error.reason === "AlreadyExists") return undefined;
        throw error;
      }
    },
    patchExperiment: async (ns, name, patch) => {
      store.patch(typeOf(store, EXPERIMENT), ns, name, "merge", patch);
    },
  };
}

/**
 * The service controller's syncService (argo-rollouts service/service.go): a Service the Rollout marked as managed
 * but no longer references (e.g. after a blue-green → canary switch, or once the Rollout is gone) loses the hash
 * selector and the managed-by annotation, with upstream's removeSelectorAndManagedByPatch.
 */
function releaseServices(ctx: ControllerContext, ns: string | undefined, rollout: string, keep: Set<string>): void {
  const services = typeOf(ctx.store, SERVICE);
  for (const svc of ctx.store.listRaw(services, ns).items) {
    if (svc.metadata.annotations?.[MANAGED_BY_ROLLOUTS_ANNOTATION] !== rollout) continue;
    if (keep.has(svc.metadata.name as string)) continue;
    ctx.store.patch(services, ns, svc.metadata.name as string, "merge", REMOVE_SELECTOR_AND_MANAGED_BY_PATCH);
  }
}

/** `rolloutWorld` whose events are recorded on the given Rollout as the rollouts-controller does. */
function worldFor(ctx: ControllerContext, rollout: Rollout): RolloutWorld {
  return {
    ...rolloutWorld(ctx),
    event: (type, reason, message) =>
      ctx.recordEvent(rollout as unknown as KubeObject, type, reason, message, "rollouts-controller"),
  };
}

/** Reconciles Rollouts; owns the ReplicaSets it creates and watches the Services and Deployments they name. */
export const rolloutController = defineController({
  name: "argo-rollouts",
  for: ROLLOUT,
  owns: [REPLICA_SET, ANALYSIS_RUN, EXPERIMENT],
  watches: [
    { ref: SERVICE, map: referrersOf },
    { ref: ANALYSIS_TEMPLATE, map: referrersOf },
    { ref: CLUSTER_ANALYSIS_TEMPLATE, map: referrersOf },
    { ref: DEPLOYMENT, map: referrersOf },
  ],
  async reconcile(ctx, key) {
    const type = ctx.store.types.byKind(ROLLOUT.apiVersion, ROLLOUT.kind);
    if (!type) return undefined;
    const stored = ctx.store.peek(type, key.namespace, key.name);
    if (!stored) {
      releaseServices(ctx, key.namespace, key.name, new Set());
      return undefined;
    }
    const rollout = clone<Rollout>(stored);
    rememberReferences(rollout);
    // The informer's AddFunc: the first time this controller sees a Rollout (also each one found at start).
    const known = seen.get(ctx.store) ?? new Set<string>();
    seen.set(ctx.store, known);
    if (!known.has(rollout.metadata.uid ?? "")) {
      known.add(rollout.metadata.uid ?? "");
      ctx.recordEvent(
        stored,
        "Normal",
        "RolloutAddedToInformer",
        `Rollout resource added to informer: ${rollout.metadata.namespace}/${rollout.metadata.name}`,
        "rollouts-controller",
      );
    }
    const outcome = await reconcileRollout(worldFor(ctx, rollout), rollout);
    if (rollout.spec?.strategy) {
      const still = new Set(referencedServices(rollout.spec).map((r) => r.name));
      releaseServices(ctx, key.namespace, key.name, still);
    }
    return outcome;
  },
});
