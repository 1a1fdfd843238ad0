/**
 * The kubelet and scheduler, simulated: a new pod is bound to the one node, starts at once, and becomes Ready
 * `timing.readyDelayMs` later (or per pod: annotation `kube-sim.rollway.dev/ready-after-ms`). Pods with
 * restartPolicy Never/OnFailure run for `timing.jobRunMs` and then succeed. Injected faults make pods crash
 * (CrashLoopBackOff), fail to pull their image, never become ready, or (run-to-completion pods) fail.
 * Every timestamp is derived from the pod's start time, so re-running the reconcile writes nothing new.
 * Events as the scheduler and kubelet write them (`kubectl describe pod`): Scheduled, then per container
 * Pulled/Created/Started, BackOff per restart of a crash-looping container, Pulling/Failed/BackOff for a failed pull.
 * Each is recorded on a change of the pod's status, so a repeated reconcile records nothing.
 * Readiness gates as the kubelet evaluates them (status/generate.go GeneratePodReadyCondition): a pod whose
 * containers are ready stays not Ready (`ReadinessGatesNotReady`) until every `spec.readinessGates[].conditionType`
 * is a `True` condition in its status; conditions the kubelet does not own are kept (mergePodStatus).
 */
import { createHash } from "node:crypto";
import type { KubeObject } from "../crds.js";
import { type ControllerContext, defineController, type ReconcileResult } from "./runtime.js";
import { type Condition, type Obj, toTimestamp, typeOf } from "./workload.js";

export const NODE_NAME = "kube-sim-node";
export const READY_AFTER_ANNOTATION = "kube-sim.rollway.dev/ready-after-ms";
const IMAGE_PULL_BACKOFF_AFTER_MS = 5_000;
/** kubetypes.PodConditionByKubelet: the conditions the kubelet writes; every other condition is someone else's. */
const KUBELET_CONDITIONS = new Set([
  "PodScheduled",
  "Ready",
  "Initialized",
  "ContainersReady",
  "PodReadyToStartContainers",
]);

/** The readiness gates of the pod that its conditions do not satisfy, worded as the kubelet words them. */
export function unreadyGates(pod: Obj, conditions: Condition[]): string[] {
  const messages: string[] = [];
  for (const gate of ((pod.spec as Obj)?.readinessGates ?? []) as Array<{ conditionType: string }>) {
    const c = conditions.find((x) => x.type === gate.conditionType);
    if (!c)
      messages.push(
        `corresponding condition of pod readiness gate ${JSON.stringify(gate.conditionType)} does not exist.`,
      );
    else if (c.status !== "True")
      messages.push(
        `the status of pod readiness gate ${JSON.stringify(gate.conditionType)} is not "True", but ${c.status}`,
      );
  }
  return messages;
}

function podIP(uid: string): string {
  const h = createHash("sha1").update(uid).digest();
  return `10.244.${(h[0] ?? 0) % 250}.${((h[1] ?? 0) % 250) + 2}`;
}

function condition(type: string, ok: boolean, at: string, reason?: string): Condition {
  const c: Condition = { type, status: ok ? "True" : "False", lastProbeTime: null, lastTransitionTime: at };
  if (!ok && reason) c.reason = reason;
  return c;
}

export const podController = defineController({
  name: "pod",
  for: { apiVersion: "v1", kind: "Pod" },
  reconcile(ctx, key) {
    const pods = typeOf(ctx.store, "", "pods");
    let pod = ctx.store.peek(pods, key.namespace, key.name);
    if (!pod) return undefined;
    if (pod.metadata.deletionTimestamp) return terminate(ctx, pod);
    const phase = (pod.status as Obj)?.phase;
    if (phase === "Succeeded" || phase === "Failed") return undefined;
    const spec = pod.spec as Obj;
    if (!spec.nodeName) {
      pod = ctx.store.patch(pods, key.namespace, key.name, "merge", { spec: { nodeName: NODE_NAME } }).object;
      ctx.recordEvent(
        pod,
        "Normal",
        "Scheduled",
        `Successfully assigned ${key.namespace}/${key.name} to ${NODE_NAME}`,
        "default-scheduler",
      );
    }
    const now = ctx.clock.now();
    const status = (pod.status ?? {}) as Obj;
    const startMs = status.startTime ? Date.parse(status.startTime) : now;
    const start = toTimestamp(startMs);
    const elapsed = now - startMs;
    const fault = ctx.faults.podFault(pod);
    const restartPolicy = (pod.spec as Obj).restartPolicy ?? "Always";
    const runsToCompletion = restartPolicy !== "Always";
    const containers = ((pod.spec as Obj).containers ?? []) as Obj[];
    const annotated = Number(pod.metadata.annotations?.[READY_AFTER_ANNOTATION]);
    const readyDelay = Number.isFinite(annotated) && annotated >= 0 ? annotated : ctx.timing.readyDelayMs;

    let next: Obj;
    let requeueAfterMs: number | undefined;
    const base = {
      hostIP: "10.0.0.10",
      hostIPs: [{ ip: "10.0.0.10" }],
      podIP: podIP(pod.metadata.uid as string),
      startTime: start,
      qosClass: "BestEffort",
    };
    const scheduled = condition("PodScheduled", true, start);
    const initialized = condition("Initialized", true, start);
    const sandbox = condition("PodReadyToStartContainers", true, start);
    const cs = (c: Obj, state: Obj, ready: boolean, extra: Obj = {}) => ({
      name: c.name,
      image: c.image,
      imageID: `docker.io/library/${String(c.image).split(":")[0]}@sha256:${createHash("sha256").update(String(c.image)).digest("hex")}`,
      containerID: `containerd://${createHash("sha256").update(`${pod?.metadata.uid}/${c.name}`).digest("hex")}`,
      ready,
      started: state.running !== undefined,
      restartCount: 0,
      state,
      lastState: {},
      ...extra,
    });

    if (fault === "imagePull") {
      const reason = elapsed < IMAGE_PULL_BACKOFF_AFTER_MS ? "ErrImagePull" : "ImagePullBackOff";
      if (elapsed < IMAGE_PULL_BACKOFF_AFTER_MS) requeueAfterMs = IMAGE_PULL_BACKOFF_AFTER_MS - elapsed;
      next = {
        ...base,
        phase: "Pending",
        conditions: [
          sandbox,
          initialized,
          condition("Ready", false, start, "ContainersNotReady"),
          condition("ContainersReady", false, start, "ContainersNotReady"),
          scheduled,
        ],
        containerStatuses: containers.map((c) => {
          const s = cs(c, { waiting: { reason, message: `Back-off pulling image "${c.image}"` } }, false);
          delete s.containerID;
          delete s.imageID;
          return { ...s, imageID: "" };
        }),
      };
    } else if (fault === "crash" && !runsToCompletion) {
      const backoff = Math.max(1, ctx.timing.crashBackoffMs);
      const restarts = Math.floor(elapsed / backoff);
      requeueAfterMs = backoff - (elapsed % backoff);
      const lastFinished = toTimestamp(startMs + restarts * backoff);
      next = {
        ...base,
        phase: "Running",
        conditions: [
          sandbox,
          initialized,
          condition("Ready", false, start, "ContainersNotReady"),
          condition("ContainersReady", false, start, "ContainersNotReady"),
          scheduled,
        ],
        containerStatuses: containers.map((c) =>
          cs(
            c,
            {
              waiting: {
                reason: "CrashLoopBackOff",
                message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${c.name} pod=${pod?.metadata.name}`,
              },
            },
            false,
            {
              restartCount: restarts + 1,
              lastState: {
                terminated: { exitCode: 1, reason: "Error", startedAt: lastFinished, finishedAt: lastFinished },
              },
            },
          ),
        ),
      };
    } else if (runsToCompletion && elapsed >= ctx.timing.jobRunMs) {
      const failed = fault === "jobFail" || fault === "crash";
      const finishedAt = toTimestamp(startMs + ctx.timing.jobRunMs);
      next = {
        ...base,
        phase: failed ? "Failed" : "Succeeded",
        conditions: [
          condition("PodReadyToStartContainers", false, finishedAt),
          { ...initialized, reason: "PodCompleted" },
          condition("Ready", false, finishedAt, "PodCompleted"),
          condition("ContainersReady", false, finishedAt, "PodCompleted"),
          scheduled,
        ],
        containerStatuses: containers.map((c) =>
          cs(
            c,
            {
              terminated: {
                exitCode: failed ? 1 : 0,
                reason: failed ? "Error" : "Completed",
                startedAt: start,
                finishedAt,
              },
            },
            false,
            { started: false },
          ),
        ),
      };
    } else {
      const readyAt = startMs + readyDelay;
      const ready = fault !== "neverReady" && now >= readyAt;
      if (!ready && fault !== "neverReady") requeueAfterMs = readyAt - now;
      if (runsToCompletion)
        requeueAfterMs = Math.min(requeueAfterMs ?? Number.POSITIVE_INFINITY, startMs + ctx.timing.jobRunMs - now);
      const readyTime = ready ? toTimestamp(readyAt) : start;
      const others = ((status.conditions ?? []) as Condition[]).filter((c) => !KUBELET_CONDITIONS.has(c.type));
      const gates = ready ? unreadyGates(pod, others) : [];
      let podReady = condition("Ready", ready, readyTime, "ContainersNotReady");
      if (gates.length > 0) {
        podReady = {
          ...condition("Ready", false, readyTime),
          reason: "ReadinessGatesNotReady",
          message: gates.join(", "),
        };
      }
      // A gated pod's Ready changes when someone else writes its status, at that time, not at a derived one.
      const previous = ((status.conditions ?? []) as Condition[]).find((c) => c.type === "Ready");
      if (((pod.spec as Obj).readinessGates ?? []).length > 0 && previous) {
        podReady.lastTransitionTime =
          previous.status === podReady.status ? previous.lastTransitionTime : toTimestamp(now);
      }
      next = {
        ...base,
        phase: "Running",
        conditions: [
          ...others,
          sandbox,
          initialized,
          podReady,
          condition("ContainersReady", ready, readyTime, "ContainersNotReady"),
          scheduled,
        ],
        containerStatuses: containers.map((c) => cs(c, { running: { startedAt: start } }, ready)),
      };
    }
    const updated = ctx.store.update(pods, key.namespace, key.name, { ...pod, status: next } as KubeObject, {
      subresource: "status",
    }).object;
    recordContainerEvents(ctx, updated, status, next);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  },
});

/** The kubelet's container events for the step from `before` to `after` (nothing when the step repeats). */
function recordContainerEvents(ctx: ControllerContext, pod: KubeObject, before: Obj, after: Obj): void {
  const previous = new Map(((before.containerStatuses ?? []) as Obj[]).map((c) => [c.name as string, c]));
  const event = (type: "Normal" | "Warning", reason: string, message: string) =>
    ctx.recordEvent(pod, type, reason, message, "kubelet");
  for (const c of (after.containerStatuses ?? []) as Obj[]) {
    const was = previous.get(c.name);
    const waiting = c.state?.waiting?.reason as string | undefined;
    const wasWaiting = was?.state?.waiting?.reason as string | undefined;
    if (waiting === "ErrImagePull" || waiting === "ImagePullBackOff") {
      if (!was) {
        event("Normal", "Pulling", `Pulling image "${c.image}"`);
        event("Warning", "Failed", `Failed to pull image "${c.image}": ${c.image} not found (kube-sim fault)`);
        event("Warning", "Failed", "Error: ErrImagePull");
      }
      if (waiting === "ImagePullBackOff" && wasWaiting !== "ImagePullBackOff") {
        event("Normal", "BackOff", `Back-off pulling image "${c.image}"`);
        event("Warning", "Failed", "Error: ImagePullBackOff");
      }
      continue;
    }
    if (!was) {
      event("Normal", "Pulled", `Container image "${c.image}" already present on machine`);
      event("Normal", "Created", `Created container: ${c.name}`);
      event("Normal", "Started", `Started container ${c.name}`);
    }
    if (waiting === "CrashLoopBackOff" && (c.restartCount as number) > ((was?.restartCount as number) ?? 0))
      event(
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
      );
  }
}

/**
 * The kubelet stopping a deleted pod: not ready at once (so Endpoints drop it), gone once `terminationDelayMs`
 * (at most the grace period) has passed since the delete.
 */
function terminate(ctx: ControllerContext, pod: KubeObject): ReconcileResult | undefined {
  const pods = typeOf(ctx.store, "", "pods");
  const ns = pod.metadata.namespace;
  const name = pod.metadata.name as string;
  const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
  const since = Date.parse(pod.metadata.deletionTimestamp as string) - graceMs;
  const goneAt = since + Math.min(ctx.timing.terminationDelayMs, graceMs);
  const now = ctx.clock.now();
  if (now >= goneAt) {
    ctx.store.delete(pods, ns, name, { gracePeriodSeconds: 0 });
    return undefined;
  }
  const status = structuredClone((pod.status ?? {}) as Obj);
  const at = toTimestamp(since);
  for (const c of (status.conditions ?? []) as Condition[]) {
    if ((c.type === "Ready" || c.type === "ContainersReady") && c.status === "True")
      Object.assign(c, { status: "False", lastTransitionTime: at });
  }
  for (const cs of (status.containerStatuses ?? []) as Obj[]) cs.ready = false;
  ctx.store.update(pods, ns, name, { ...pod, status } as KubeObject, { subresource: "status" });
  return { requeueAfterMs: goneAt - now };
}
