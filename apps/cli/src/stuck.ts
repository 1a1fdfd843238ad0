/**
 * Why a component does not get there: the pods of the version it rolls out to, with the reason a container waits
 * (CrashLoopBackOff, ImagePullBackOff...), its restarts, and the pod's last Warning event. Read with the engine's
 * API connection (ReplicaSets the workload owns → the newest one's pods → their events).
 */
import type { Connection, WorkloadStatus } from "@rollway/rollout-client";

/** API paths read here, named as the plugin names its patches. */
export const STUCK_PATHS = {
  replicaSets: (ns: string) => `/apis/apps/v1/namespaces/${ns}/replicasets`,
  pods: (ns: string) => `/api/v1/namespaces/${ns}/pods`,
  events: (ns: string) => `/api/v1/namespaces/${ns}/events`,
} as const;

interface Meta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string }[];
}
interface ReplicaSet {
  metadata: Meta;
  spec: { selector?: { matchLabels?: Record<string, string> } };
}
interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}
interface Pod {
  metadata: Meta;
  status?: { phase?: string; containerStatuses?: ContainerStatus[] };
}
interface KubeEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  involvedObject?: { kind?: string; name?: string };
  lastTimestamp?: string;
  eventTime?: string;
}

const revisionOf = (rs: ReplicaSet) =>
  Number(
    rs.metadata.annotations?.["rollout.argoproj.io/revision"] ??
      rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ??
      0,
  );

/** Lines saying why `status` is stuck, one per unready pod of the newest version (empty when nothing is wrong). */
export async function whyStuck(api: Connection, status: WorkloadStatus): Promise<string[]> {
  if (status.phase === "Healthy") return [];
  const ns = status.namespace;
  const owner = status.name;
  const sets = await api.request<{ items: ReplicaSet[] }>({
    method: "GET",
    path: STUCK_PATHS.replicaSets(ns),
    resource: { kind: `ReplicaSets of ${status.kind}`, name: status.name, namespace: ns },
  });
  const owned = sets.items.filter((rs) => rs.metadata.ownerReferences?.some((o) => o.name === owner));
  const newest = owned.sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  const labels = newest?.spec.selector?.matchLabels;
  if (!newest || !labels) return [];
  const pods = await api.request<{ items: Pod[] }>({
    method: "GET",
    path: STUCK_PATHS.pods(ns),
    query: {
      labelSelector: Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    },
    resource: { kind: "pods of ReplicaSet", name: newest.metadata.name, namespace: ns },
  });
  const unready = pods.items.filter((p) => !(p.status?.containerStatuses ?? []).every((c) => c.ready));
  if (unready.length === 0) return [];
  const events = await api
    .request<{ items: KubeEvent[] }>({
      method: "GET",
      path: STUCK_PATHS.events(ns),
      resource: { kind: "events", namespace: ns },
    })
    .then((e) => e.items)
    .catch(() => [] as KubeEvent[]);
  return unready.map((pod) => {
    const c = (pod.status?.containerStatuses ?? []).find((x) => !x.ready);
    const reason = c?.state?.waiting?.reason ?? c?.state?.terminated?.reason ?? pod.status?.phase ?? "not ready";
    const restarts = c ? `, ${c.restartCount} restart${c.restartCount === 1 ? "" : "s"}` : "";
    const last = c?.lastState?.terminated;
    const exit = last ? `, last exit ${last.exitCode ?? "?"} (${last.reason ?? "terminated"})` : "";
    const event = events
      .filter((e) => e.involvedObject?.name === pod.metadata.name && e.type === "Warning")
      .sort((a, b) => String(a.lastTimestamp ?? a.eventTime).localeCompare(String(b.lastTimestamp ?? b.eventTime)))
      .at(-1);
    const said = event ? `; event ${event.reason}: ${event.message}` : "";
    return `pod ${pod.metadata.name}: ${reason}${restarts}${exit}${said}`;
  });
}
