/**
 * Why a component's new version is not getting ready: the one pod judgement (a pod's reason, its restarts, its last
 * exit and its last Warning event, said in one line) and its two readers.
 * - The engine, while it waits: one watch of the namespace's pods for the whole run (rollout-client's one
 *   list-then-watch), and for each pod that runs a component's new image in its container, a waiting reason that
 *   will not pass by itself (CrashLoopBackOff, ImagePullBackOff…) is reported once per component and reason. A
 *   workload's own reason (ProgressDeadlineExceeded) comes from its status (`workloadStuckReason`). Every adapter
 *   (CLI, server, Action) gets them as `component-stuck` events.
 * - A one-shot look (`whyNotReady`, the CLI's status rows): ReplicaSets the workload owns → the newest one's
 *   unready pods → their events.
 */
import type { AnyObject, Connection, WorkloadStatus } from "@rollway/rollout-client";
import type { ComponentPlan } from "./plan.js";

/** Container waiting reasons that mean the pod will not become ready without a change (kubelet's names). */
export const STUCK_WAITING_REASONS: readonly string[] = [
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
];

export interface StuckReport {
  component: string;
  /** The kubelet's or the workload's reason: `CrashLoopBackOff`, `ImagePullBackOff`, `ProgressDeadlineExceeded`. */
  reason: string;
  /** One readable line: `backend-3: pod backend-3-7d9f-x2x: CrashLoopBackOff, 3 restarts, last exit 1 (Error); …`. */
  message: string;
}

interface ContainerStatus {
  name: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

interface PodObject extends AnyObject {
  metadata: {
    name: string;
    namespace?: string;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec?: { containers?: { name: string; image?: string }[] };
  status?: { phase?: string; containerStatuses?: ContainerStatus[] };
}

interface EventObject {
  type?: string;
  reason?: string;
  message?: string;
  involvedObject?: { kind?: string; name?: string };
  lastTimestamp?: string;
  eventTime?: string;
}

interface ReplicaSetObject {
  metadata: {
    name: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec?: { selector?: { matchLabels?: Record<string, string> } };
}

/** The workload a ReplicaSet-owned pod belongs to: the ReplicaSet's name without its pod-template hash. */
function workloadOf(pod: PodObject): string | undefined {
  const rs = pod.metadata.ownerReferences?.find((o) => o.kind === "ReplicaSet")?.name;
  return rs?.slice(0, rs.lastIndexOf("-"));
}

/** The component whose new version this pod runs, and its container's status, when the pod is stuck. */
export function stuckPod(
  pod: PodObject,
  components: readonly ComponentPlan[],
): { component: ComponentPlan; container: ContainerStatus; reason: string } | undefined {
  const owner = workloadOf(pod);
  if (!owner) return undefined;
  for (const c of components) {
    if (owner !== c.target.name && owner !== c.workload.name) continue;
    const image = pod.spec?.containers?.find((x) => x.name === c.container)?.image;
    if (image !== c.image.to) continue;
    const container = pod.status?.containerStatuses?.find((x) => x.name === c.container);
    const reason = container?.state?.waiting?.reason;
    if (container && reason && STUCK_WAITING_REASONS.includes(reason)) return { component: c, container, reason };
  }
  return undefined;
}

/**
 * Why a pod is not ready, or undefined when no container says it is not: its first unready container's waiting
 * or terminated reason (CrashLoopBackOff, ContainerCreating, Error…), else the pod's phase.
 */
export function podNotReady(pod: PodObject): { container: ContainerStatus; reason: string } | undefined {
  const container = pod.status?.containerStatuses?.find((x) => !x.ready);
  if (!container) return undefined;
  const reason = container.state?.waiting?.reason ?? container.state?.terminated?.reason ?? pod.status?.phase;
  return { container, reason: reason ?? "not ready" };
}

/** The pod's newest Warning event (the kubelet's BackOff, Failed…) among `events`. */
export function lastWarningOf(events: readonly EventObject[], pod: string): EventObject | undefined {
  return events
    .filter((e) => e.type === "Warning" && e.involvedObject?.name === pod)
    .sort((a, b) => String(a.lastTimestamp ?? a.eventTime).localeCompare(String(b.lastTimestamp ?? b.eventTime)))
    .at(-1);
}

/**
 * One line about a pod that is not ready: `pod backend-3-…: CrashLoopBackOff, 2 restarts, last exit 1 (Error);
 * event BackOff: Back-off restarting…`. With `detail` (the kubelet's waiting message), it follows the reason.
 */
export function describeStuckPod(
  pod: PodObject,
  container: ContainerStatus,
  reason: string,
  options: { detail?: string; event?: EventObject } = {},
): string {
  const said = options.detail ? `: ${options.detail}` : "";
  const restarts = container.restartCount ?? 0;
  const counted = `, ${restarts} restart${restarts === 1 ? "" : "s"}`;
  const last = container.lastState?.terminated;
  const exit = last ? `, last exit ${last.exitCode ?? "?"} (${last.reason ?? "terminated"})` : "";
  const event = options.event ? `; event ${options.event.reason}: ${options.event.message}` : "";
  return `pod ${pod.metadata.name}: ${reason}${said}${counted}${exit}${event}`;
}

const revisionOf = (rs: ReplicaSetObject) =>
  Number(
    rs.metadata.annotations?.["rollout.argoproj.io/revision"] ??
      rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ??
      0,
  );

/**
 * Lines saying why a workload that is not Healthy does not get there, one per unready pod of its newest
 * ReplicaSet (empty when nothing is wrong), read once: ReplicaSets it owns → the newest one's pods → their events.
 * Failing to read the events leaves them out of the lines.
 */
export async function whyNotReady(connection: Connection, status: WorkloadStatus): Promise<string[]> {
  if (status.phase === "Healthy") return [];
  const namespace = status.namespace;
  const sets = await connection.objects.list<ReplicaSetObject>({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    namespace,
  });
  const newest = sets.items
    .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.name === status.name))
    .sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  const labels = newest?.spec?.selector?.matchLabels;
  if (!newest || !labels) return [];
  const pods = await connection.objects.list<PodObject>(
    { apiVersion: "v1", kind: "Pod", namespace },
    {
      labelSelector: Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    },
  );
  const unready = pods.items.flatMap((pod) => {
    const why = podNotReady(pod);
    return why ? [{ pod, ...why }] : [];
  });
  if (unready.length === 0) return [];
  const events = await connection.objects
    .list<EventObject>({ apiVersion: "v1", kind: "Event", namespace })
    .then((e) => e.items)
    .catch(() => [] as EventObject[]);
  return unready.map(({ pod, container, reason }) =>
    describeStuckPod(pod, container, reason, { event: lastWarningOf(events, pod.metadata.name) }),
  );
}

/**
 * A workload status that says its new version is stuck for good (`ProgressDeadlineExceeded: …` on a Degraded
 * Rollout or Deployment): its reason, or undefined.
 */
export function workloadStuckReason(status: WorkloadStatus): string | undefined {
  if (status.phase !== "Degraded") return undefined;
  return /^([A-Z][A-Za-z]+):/.exec(status.message)?.[1] ?? "Degraded";
}

/**
 * Watches the namespace's pods until the signal aborts and reports each component whose new version's pods are
 * stuck, once per component and reason. Failing to watch is not the release's failure: the watch just stops.
 */
export async function watchStuckPods(
  api: Connection,
  namespace: string,
  components: readonly ComponentPlan[],
  report: (stuck: StuckReport) => void,
  signal: AbortSignal,
): Promise<void> {
  if (components.length === 0) return;
  const seen = new Set<string>();
  const check = async (pod: PodObject) => {
    const stuck = stuckPod(pod, components);
    if (!stuck) return;
    const key = `${stuck.component.name}\u0000${stuck.reason}`;
    if (seen.has(key)) return;
    seen.add(key);
    const event = await lastWarning(api, namespace, pod.metadata.name, signal);
    const detail = stuck.container.state?.waiting?.message;
    report({
      component: stuck.component.name,
      reason: stuck.reason,
      message: `${stuck.component.name}: ${stuck.component.image.to} is not getting ready: ${describeStuckPod(pod, stuck.container, stuck.reason, { ...(detail ? { detail } : {}), ...(event ? { event } : {}) })}`,
    });
  };
  try {
    for await (const event of api.objects.listWatch<PodObject>(
      { apiVersion: "v1", kind: "Pod", namespace },
      { signal },
    )) {
      if (event.type === "LISTED") for (const pod of event.objects) await check(pod);
      else if (event.type === "ADDED" || event.type === "MODIFIED") await check(event.object);
    }
  } catch {
    // Seeing why a component is stuck is a help, not part of the release: the release's own waits decide.
  }
}

/** The pod's newest Warning event (the kubelet's BackOff, Failed…), read once when it is reported. */
async function lastWarning(
  api: Connection,
  namespace: string,
  pod: string,
  signal: AbortSignal,
): Promise<EventObject | undefined> {
  try {
    const list = await api.objects.list<EventObject>(
      { apiVersion: "v1", kind: "Event", namespace },
      { fieldSelector: `involvedObject.name=${pod}`, signal },
    );
    return lastWarningOf(list.items, pod);
  } catch {
    return undefined;
  }
}
