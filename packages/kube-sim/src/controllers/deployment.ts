/**
 * The Deployment controller (pkg/controller/deployment), for the RollingUpdate and Recreate strategies:
 * - the new ReplicaSet is the one whose template equals the Deployment's (ignoring `pod-template-hash`); it is
 *   named `<deployment>-<hash>` and carries the `deployment.kubernetes.io/revision` annotation (an old
 *   ReplicaSet that matches again, as after `kubectl rollout undo`, gets the next revision);
 * - RollingUpdate scales the new ReplicaSet up within `maxSurge` and old ones down within `maxUnavailable`
 *   (percentages: surge rounds up, unavailable down; both 0 means 1 unavailable), old unhealthy pods first;
 * - Recreate scales old ReplicaSets to 0 and waits for their pods to go before scaling the new one up;
 * - `spec.paused` stops the rollout; old ReplicaSets beyond `revisionHistoryLimit` are deleted;
 * - status and conditions are those `kubectl rollout status` reads: observedGeneration, replicas,
 *   updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas, Available and Progressing (with
 *   NewReplicaSetCreated, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused).
 */
import type { KubeObject } from "../crds.js";
import type { Store } from "../store.js";
import { type ControllerContext, defineController } from "./runtime.js";
import {
  type Condition,
  controllerRef,
  isControlledBy,
  type Obj,
  scaledValue,
  setCondition,
  toTimestamp,
  typeOf,
} from "./workload.js";

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
export const POD_TEMPLATE_HASH = "pod-template-hash";
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
/** Upstream's getSkippedAnnotations: Deployment annotations never copied to its ReplicaSets. */
const SKIPPED_ANNOTATIONS = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  "deprecated.daemonset.template.generation",
]);

/**
 * Upstream's copyDeploymentAnnotationsToReplicaSet: the Deployment's annotations (e.g. `kubernetes.io/change-cause`,
 * which `kubectl rollout history` prints) that the ReplicaSet lacks or holds another value for.
 */
function annotationsToCopy(d: KubeObject, rs: KubeObject | undefined): Record<string, string> {
  const have = rs?.metadata.annotations ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {}))
    if (!SKIPPED_ANNOTATIONS.has(k) && have[k] !== v) out[k] = v;
  return out;
}
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with sorted keys, so equal objects print equal whatever order patches left their keys in. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** FNV-32a of the template (and collision count), encoded like rand.SafeEncodeString: a 6-10 char suffix. */
export function podTemplateHash(template: unknown, collisionCount?: number): string {
  let h = 0x811c9dc5;
  const text = canonical(template) + (collisionCount ? String(collisionCount) : "");
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((d) => ALPHANUMS[d.charCodeAt(0) % ALPHANUMS.length]).join("");
}

function withoutHash(template: Obj): string {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels[POD_TEMPLATE_HASH];
  return canonical(t);
}

function revisionOf(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) || 0;
}

function specReplicas(rs: KubeObject): number {
  return ((rs.spec as Obj)?.replicas as number | undefined) ?? 0;
}

function statusOf(rs: KubeObject | undefined): Obj {
  return (rs?.status ?? {}) as Obj;
}

interface Limits {
  maxSurge: number;
  maxUnavailable: number;
}

function limits(d: Obj, replicas: number): Limits {
  if (d.spec.strategy?.type !== "RollingUpdate") return { maxSurge: 0, maxUnavailable: 0 };
  const ru = d.spec.strategy.rollingUpdate ?? {};
  const maxSurge = scaledValue(ru.maxSurge ?? "25%", replicas, true);
  let maxUnavailable = scaledValue(ru.maxUnavailable ?? "25%", replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

function scale(ctx: ControllerContext, d: KubeObject, rs: KubeObject, to: number, maxReplicas: number): void {
  const from = specReplicas(rs);
  const desired = (d.spec as Obj).replicas ?? 1;
  const annotations = rs.metadata.annotations ?? {};
  if (
    from === to &&
    annotations[DESIRED_REPLICAS_ANNOTATION] === String(desired) &&
    annotations[MAX_REPLICAS_ANNOTATION] === String(maxReplicas)
  )
    return;
  const rsType = typeOf(ctx.store, "apps", "replicasets");
  ctx.store.patch(rsType, rs.metadata.namespace, rs.metadata.name as string, "merge", {
    metadata: {
      annotations: { [DESIRED_REPLICAS_ANNOTATION]: String(desired), [MAX_REPLICAS_ANNOTATION]: String(maxReplicas) },
    },
    spec: { replicas: to },
  });
  if (from !== to) {
    const verb = to > from ? "up" : "down";
    ctx.recordEvent(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${to}`,
      "deployment-controller",
    );
  }
}

function ownedPods(store: Store, rs: KubeObject): KubeObject[] {
  const podType = typeOf(store, "", "pods");
  // Terminating pods count: Recreate waits until old pods are really gone, as oldPodsRunning does upstream.
  return store.listRaw(podType, rs.metadata.namespace).items.filter((p) => {
    const phase = (p.status as Obj)?.phase;
    return isControlledBy(p, rs) && phase !== "Succeeded" && phase !== "Failed";
  });
}

export const deploymentController = defineController({
  name: "deployment",
  for: { apiVersion: "apps/v1", kind: "Deployment" },
  owns: [{ apiVersion: "apps/v1", kind: "ReplicaSet" }],
  reconcile(ctx, key) {
    const { store } = ctx;
    const dType = typeOf(store, "apps", "deployments");
    const rsType = typeOf(store, "apps", "replicasets");
    const d = store.peek(dType, key.namespace, key.name);
    if (!d || d.metadata.deletionTimestamp) return undefined;
    const spec = d.spec as Obj;
    const replicas: number = spec.replicas ?? 1;
    const previous = (d.status ?? {}) as Obj;
    const collisionCount: number | undefined = previous.collisionCount;
    const all = () => store.listRaw(rsType, key.namespace).items.filter((rs) => isControlledBy(rs, d));
    let owned = all();
    const wanted = withoutHash(spec.template);
    let newRS = owned.find((rs) => withoutHash((rs.spec as Obj).template) === wanted);
    const maxOldRevision = Math.max(0, ...owned.filter((rs) => rs !== newRS).map(revisionOf));
    const { maxSurge, maxUnavailable } = limits(d, replicas);
    const maxReplicas = replicas + maxSurge;
    let createdNew = false;

    if (!newRS && !spec.paused) {
      const hash = podTemplateHash(spec.template, collisionCount);
      const name = `${d.metadata.name}-${hash}`;
      const clash = store.peek(rsType, key.namespace, name);
      if (clash) {
        // Same name, different template: bump collisionCount to get a new hash, as the real controller does.
        store.update(
          dType,
          key.namespace,
          key.name,
          { ...d, status: { ...previous, collisionCount: (collisionCount ?? 0) + 1 } },
          { subresource: "status" },
        );
        return { requeueAfterMs: 0 };
      }
      const template = structuredClone(spec.template ?? {});
      template.metadata ??= {};
      template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
      const selector = structuredClone(spec.selector ?? {});
      selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
      const oldActive = owned.reduce((n, rs) => n + specReplicas(rs), 0);
      let initial = 0;
      if (spec.strategy?.type === "RollingUpdate") initial = Math.max(0, Math.min(replicas, maxReplicas - oldActive));
      else if (oldActive === 0 && owned.every((rs) => ownedPods(store, rs).length === 0)) initial = replicas;
      newRS = store.create(rsType, key.namespace, {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name,
          labels: { ...(spec.template?.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
          annotations: {
            ...annotationsToCopy(d, undefined),
            [DESIRED_REPLICAS_ANNOTATION]: String(replicas),
            [MAX_REPLICAS_ANNOTATION]: String(maxReplicas),
            [REVISION_ANNOTATION]: String(maxOldRevision + 1),
          },
          ownerReferences: [controllerRef(d)],
        },
        spec: { replicas: initial, minReadySeconds: spec.minReadySeconds ?? 0, selector, template },
      }).object;
      createdNew = true;
      if (initial > 0)
        ctx.recordEvent(
          d,
          "Normal",
          "ScalingReplicaSet",
          `Scaled up replica set ${name} from 0 to ${initial}`,
          "deployment-controller",
        );
    } else if (newRS && !spec.paused) {
      // SetNewReplicaSetAnnotations: the Deployment's annotations follow it onto the new ReplicaSet; an old template
      // that came back (rollback) becomes the newest revision, its former revision kept in revision-history.
      const annotations: Record<string, string> = annotationsToCopy(d, newRS);
      const old = revisionOf(newRS);
      if (old <= maxOldRevision) {
        annotations[REVISION_ANNOTATION] = String(maxOldRevision + 1);
        if (old > 0) {
          const history = newRS.metadata.annotations?.[REVISION_HISTORY_ANNOTATION];
          annotations[REVISION_HISTORY_ANNOTATION] = history ? `${history},${old}` : String(old);
        }
      }
      if (Object.keys(annotations).length > 0)
        newRS = store.patch(rsType, key.namespace, newRS.metadata.name as string, "merge", {
          metadata: { annotations },
        }).object;
    }
    if (newRS && (newRS.spec as Obj).minReadySeconds !== (spec.minReadySeconds ?? 0)) {
      newRS = store.patch(rsType, key.namespace, newRS.metadata.name as string, "merge", {
        spec: { minReadySeconds: spec.minReadySeconds ?? 0 },
      }).object;
    }
    const revision = newRS ? String(revisionOf(newRS)) : d.metadata.annotations?.[REVISION_ANNOTATION];
    if (revision && d.metadata.annotations?.[REVISION_ANNOTATION] !== revision) {
      store.patch(dType, key.namespace, key.name, "merge", {
        metadata: { annotations: { [REVISION_ANNOTATION]: revision } },
      });
    }

    owned = all();
    newRS = newRS ? owned.find((rs) => rs.metadata.uid === newRS?.metadata.uid) : undefined;
    const olds = owned.filter((rs) => rs !== newRS);

    if (!spec.paused && newRS) {
      if (spec.strategy?.type === "Recreate") {
        for (const rs of olds) if (specReplicas(rs) > 0) scale(ctx, d, rs, 0, maxReplicas);
        const oldPodsLeft = olds.some((rs) => ownedPods(store, rs).length > 0);
        if (!oldPodsLeft) scale(ctx, d, newRS, replicas, maxReplicas);
      } else {
        rollingUpdate(ctx, d, newRS, olds, replicas, maxSurge, maxUnavailable, maxReplicas);
      }
    } else if (spec.paused && newRS && olds.every((rs) => specReplicas(rs) === 0)) {
      // Paused with nothing left to roll: still follow scaling.
      scale(ctx, d, newRS, replicas, maxReplicas);
    }

    cleanup(
      ctx,
      d,
      all().filter((rs) => rs.metadata.uid !== newRS?.metadata.uid),
    );
    return syncStatus(
      ctx,
      d,
      newRS ? store.peek(rsType, key.namespace, newRS.metadata.name as string) : undefined,
      createdNew,
      maxUnavailable,
    );
  },
});

function rollingUpdate(
  ctx: ControllerContext,
  d: KubeObject,
  newRS: KubeObject,
  olds: KubeObject[],
  replicas: number,
  maxSurge: number,
  maxUnavailable: number,
  maxReplicas: number,
): void {
  const total = () => [newRS, ...olds].reduce((n, rs) => n + specReplicas(rs), 0);
  // Scale up the new ReplicaSet within maxSurge.
  const newReplicas = specReplicas(newRS);
  if (newReplicas > replicas) scale(ctx, d, newRS, replicas, maxReplicas);
  else if (newReplicas < replicas) {
    const room = replicas + maxSurge - total();
    if (room > 0) scale(ctx, d, newRS, newReplicas + Math.min(room, replicas - newReplicas), maxReplicas);
  }
  const rsType = typeOf(ctx.store, "apps", "replicasets");
  const fresh = (rs: KubeObject) => ctx.store.peek(rsType, rs.metadata.namespace, rs.metadata.name as string) ?? rs;
  const currentNew = fresh(newRS);
  let oldRSs = olds.map(fresh).filter((rs) => specReplicas(rs) > 0);
  if (oldRSs.length === 0) return;
  // Scale down old ReplicaSets within maxUnavailable: unhealthy old pods first, then oldest first.
  const minAvailable = replicas - maxUnavailable;
  const allPods = [currentNew, ...oldRSs].reduce((n, rs) => n + specReplicas(rs), 0);
  const newUnavailable = specReplicas(currentNew) - (statusOf(currentNew).availableReplicas ?? 0);
  let maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return;
  oldRSs.sort(
    (a, b) =>
      Date.parse(a.metadata.creationTimestamp ?? "") - Date.parse(b.metadata.creationTimestamp ?? "") ||
      revisionOf(a) - revisionOf(b),
  );
  for (const rs of oldRSs) {
    if (maxScaledDown <= 0) break;
    const unhealthy = specReplicas(rs) - (statusOf(rs).availableReplicas ?? 0);
    if (unhealthy <= 0) continue;
    const by = Math.min(maxScaledDown, unhealthy);
    scale(ctx, d, rs, specReplicas(rs) - by, maxReplicas);
    maxScaledDown -= by;
  }
  oldRSs = oldRSs.map(fresh).filter((rs) => specReplicas(rs) > 0);
  const available = [fresh(currentNew), ...oldRSs].reduce((n, rs) => n + (statusOf(rs).availableReplicas ?? 0), 0);
  let canScaleDown = available - minAvailable;
  for (const rs of oldRSs) {
    if (canScaleDown <= 0) break;
    const by = Math.min(specReplicas(rs), canScaleDown);
    scale(ctx, d, rs, specReplicas(rs) - by, maxReplicas);
    canScaleDown -= by;
  }
}

function cleanup(ctx: ControllerContext, d: KubeObject, olds: KubeObject[]): void {
  const limit = ((d.spec as Obj).revisionHistoryLimit as number | undefined) ?? 10;
  const idle = olds
    .filter((rs) => specReplicas(rs) === 0 && (statusOf(rs).replicas ?? 0) === 0)
    .sort((a, b) => revisionOf(a) - revisionOf(b));
  const rsType = typeOf(ctx.store, "apps", "replicasets");
  for (const rs of idle.slice(0, Math.max(0, idle.length - limit)))
    ctx.store.delete(rsType, rs.metadata.namespace, rs.metadata.name as string);
}

function syncStatus(
  ctx: ControllerContext,
  d: KubeObject,
  newRS: KubeObject | undefined,
  createdNew: boolean,
  maxUnavailable: number,
) {
  const { store } = ctx;
  const dType = typeOf(store, "apps", "deployments");
  const rsType = typeOf(store, "apps", "replicasets");
  const current = store.peek(dType, d.metadata.namespace, d.metadata.name as string) as KubeObject;
  const spec = current.spec as Obj;
  const replicas: number = spec.replicas ?? 1;
  const owned = store.listRaw(rsType, d.metadata.namespace).items.filter((rs) => isControlledBy(rs, d));
  const sum = (f: (s: Obj) => number | undefined) => owned.reduce((n, rs) => n + (f(statusOf(rs)) ?? 0), 0);
  const previous = (current.status ?? {}) as Obj;
  const now = toTimestamp(ctx.clock.now());
  const status: Obj = {
    observedGeneration: current.metadata.generation,
    replicas: sum((s) => s.replicas),
    updatedReplicas: statusOf(newRS).replicas ?? 0,
    readyReplicas: sum((s) => s.readyReplicas),
    availableReplicas: sum((s) => s.availableReplicas),
    unavailableReplicas: Math.max(
      0,
      owned.reduce((n, rs) => n + specReplicas(rs), 0) - sum((s) => s.availableReplicas),
    ),
  };
  for (const k of ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"])
    if (status[k] === 0) delete status[k];
  if (previous.collisionCount !== undefined) status.collisionCount = previous.collisionCount;
  const conditions: Condition[] = structuredClone(previous.conditions ?? []);
  const availableOk = (status.availableReplicas ?? 0) >= replicas - maxUnavailable;
  setCondition(
    conditions,
    availableOk
      ? {
          type: "Available",
          status: "True",
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
        }
      : {
          type: "Available",
          status: "False",
          reason: "MinimumReplicasUnavailable",
          message: "Deployment does not have minimum availability.",
        },
    now,
    true,
  );
  const rsName = newRS?.metadata.name;
  const progressing = conditions.find((c) => c.type === "Progressing");
  const complete =
    newRS !== undefined &&
    (status.updatedReplicas ?? 0) === replicas &&
    (status.replicas ?? 0) === replicas &&
    (status.availableReplicas ?? 0) === replicas &&
    (statusOf(newRS).observedGeneration ?? 0) >= (newRS.metadata.generation ?? 1);
  const madeProgress =
    (status.updatedReplicas ?? 0) > (previous.updatedReplicas ?? 0) ||
    (status.readyReplicas ?? 0) > (previous.readyReplicas ?? 0) ||
    (status.availableReplicas ?? 0) > (previous.availableReplicas ?? 0) ||
    (status.replicas ?? 0) - (status.updatedReplicas ?? 0) < (previous.replicas ?? 0) - (previous.updatedReplicas ?? 0);
  const deadlineSeconds: number | undefined = spec.progressDeadlineSeconds;
  let requeueAfterMs: number | undefined;
  if (spec.paused) {
    if (progressing?.reason !== "DeploymentPaused")
      setCondition(
        conditions,
        { type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused" },
        now,
        true,
      );
  } else if (complete) {
    setCondition(
      conditions,
      {
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetAvailable",
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
      },
      now,
      true,
    );
  } else if (createdNew) {
    setCondition(
      conditions,
      {
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetCreated",
        message: `Created new replica set "${rsName}"`,
      },
      now,
      true,
    );
  } else if (
    madeProgress ||
    progressing === undefined ||
    progressing.reason === "DeploymentPaused" ||
    progressing.reason === "NewReplicaSetAvailable"
  ) {
    const c: Condition = {
      type: "Progressing",
      status: "True",
      reason: "ReplicaSetUpdated",
      message: `ReplicaSet "${rsName}" is progressing.`,
    };
    const i = conditions.findIndex((x) => x.type === "Progressing");
    const prev = conditions[i];
    const next = {
      ...c,
      lastUpdateTime: now,
      lastTransitionTime: prev?.status === "True" ? prev.lastTransitionTime : now,
    };
    if (i >= 0) conditions[i] = next;
    else conditions.push(next);
  }
  const p = conditions.find((c) => c.type === "Progressing");
  if (
    !spec.paused &&
    !complete &&
    deadlineSeconds !== undefined &&
    p &&
    p.reason !== "ProgressDeadlineExceeded" &&
    p.lastUpdateTime
  ) {
    const deadline = Date.parse(p.lastUpdateTime) + deadlineSeconds * 1000;
    if (ctx.clock.now() >= deadline) {
      setCondition(
        conditions,
        {
          type: "Progressing",
          status: "False",
          reason: "ProgressDeadlineExceeded",
          message: `ReplicaSet "${rsName}" has timed out progressing.`,
        },
        now,
        true,
      );
      ctx.recordEvent(
        current,
        "Warning",
        "ProgressDeadlineExceeded",
        `ReplicaSet "${rsName}" has timed out progressing.`,
        "deployment-controller",
      );
    } else requeueAfterMs = deadline - ctx.clock.now();
  }
  // Conditions in the order the real controller ends up with: Available, then Progressing.
  conditions.sort((a, b) => (a.type === "Available" ? -1 : b.type === "Available" ? 1 : 0));
  status.conditions = conditions;
  store.update(
    dType,
    d.metadata.namespace,
    d.metadata.name as string,
    { ...current, status },
    { subresource: "status" },
  );
  return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
}
