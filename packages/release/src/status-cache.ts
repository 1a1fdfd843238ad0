/**
 * An informer for what a server reads most: the release records and the workloads of one namespace, each kind
 * followed by one list-then-watch (rollout-client's `listWatch`, the one loop: resumes, relists on 410, backs off),
 * so a status read costs no request to the API server. `status()` answers what `engine.status()` answers, computed
 * by rollout-client's own pure status functions from the cached objects.
 *
 * A cache lags the cluster by the watch's delay (milliseconds, more while a watch reconnects). Where a reader must
 * not see an older state than one it already knows of, the writer says so: `expect(record)` (this replica just wrote
 * or was told of that version: e.g. the answer to a decision) and `expectFinished(id)` (this replica saw the
 * release's event log end, so the record is final): until the cache has caught up with that, `record()` answers
 * undefined and the caller reads the cluster. Anything the cache does not know or while it is not in sync (before
 * the first list, after a failed watch until the next event) is also undefined: the caller reads the cluster.
 */
import {
  type AnyObject,
  type Connection,
  canaryStatus,
  canaryTarget,
  deploymentStatus,
  deploymentTarget,
  type ListWatchEvent,
  RolloutClientError,
  rolloutStatus,
  rolloutTarget,
  type Target,
  type WorkloadStatus,
} from "@rollway/rollout-client";
import type { ComponentStatus, EnvironmentStatus } from "./engine.js";
import type { Environment } from "./environment.js";
import { listComponents } from "./environment-components.js";
import { LABEL_RELEASE, RECORD_DATA_KEY, type ReleaseRecord, TERMINAL_STATES } from "./records.js";

type RolloutObject = Parameters<typeof rolloutTarget>[0];
type CanaryObject = Parameters<typeof canaryTarget>[0];
type DeploymentObject = Parameters<typeof deploymentTarget>[0];
type ReplicaSetObject = NonNullable<Parameters<typeof deploymentStatus>[0]["replicaSets"]>[number];

/** The kinds followed, as the API names them. */
export const CACHED_KINDS = {
  records: { apiVersion: "v1", kind: "ConfigMap" },
  rollouts: { apiVersion: "argoproj.io/v1alpha1", kind: "Rollout" },
  canaries: { apiVersion: "flagger.app/v1beta1", kind: "Canary" },
  deployments: { apiVersion: "apps/v1", kind: "Deployment" },
  replicaSets: { apiVersion: "apps/v1", kind: "ReplicaSet" },
} as const;
type KindKey = keyof typeof CACHED_KINDS;

export interface StatusCache {
  /** The record, or undefined when the cache cannot vouch for it (then read the cluster). */
  record(id: string): ReleaseRecord | undefined;
  /** An environment's releases, newest first, or undefined while the cache is not in sync. */
  records(environment: string): ReleaseRecord[] | undefined;
  /** What `engine.status()` answers, from the cache; undefined when it cannot (not in sync, a component not found). */
  status(environment: Environment): EnvironmentStatus | undefined;
  /**
   * Read-your-writes: reads of this release (and of its environment's list) are served from the cache only once it
   * holds `want`: this version of the record or a later one, the record in a final state, or the record at all (a
   * release just accepted). Until then, or for at most EXPECT_MS, the caller reads the cluster.
   */
  expect(id: string, want: ReleaseRecord | "final" | "exists"): void;
  /** Resolves once every kind has been listed. */
  readonly synced: Promise<void>;
  close(): void;
}

class Kind<T extends AnyObject> {
  readonly objects = new Map<string, T>();
  inSync = false;
  constructor(readonly key: KindKey) {}
  apply(event: ListWatchEvent<T>): void {
    if (event.type === "LISTED") {
      this.objects.clear();
      for (const o of event.objects) this.objects.set(o.metadata?.name ?? "", o);
      this.inSync = true;
    } else if (event.type === "INTERRUPTED") {
      this.inSync = false;
    } else {
      const name = event.object.metadata?.name ?? "";
      if (event.type === "DELETED") this.objects.delete(name);
      else this.objects.set(name, event.object);
      this.inSync = true;
    }
  }
}

/** Version order of two records of one release: later `updatedAt`, then a final state after a running one. */
function atLeast(cached: ReleaseRecord, wanted: ReleaseRecord): boolean {
  if (cached.updatedAt !== wanted.updatedAt) return cached.updatedAt > wanted.updatedAt;
  return cached.state === wanted.state || isFinal(cached);
}
const isFinal = (r: ReleaseRecord) => TERMINAL_STATES.includes(r.state);

/** How long an expectation holds at most: a cache that has not caught up by then is not in the way forever. */
export const EXPECT_MS = 60_000;
type Want = ReleaseRecord | "final" | "exists";
const meets = (cached: ReleaseRecord, want: Want) =>
  want === "exists" ? true : want === "final" ? isFinal(cached) : atLeast(cached, want);

function parseRecord(cm: AnyObject): ReleaseRecord | undefined {
  try {
    return JSON.parse((cm.data as Record<string, string> | undefined)?.[RECORD_DATA_KEY] ?? "") as ReleaseRecord;
  } catch {
    return undefined; // A damaged record is reported by direct reads (getRecord, listRecords).
  }
}

export function cacheNamespace(
  conn: Connection,
  namespace: string,
  options: { signal?: AbortSignal } = {},
): StatusCache {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const kinds = {
    records: new Kind<AnyObject>("records"),
    rollouts: new Kind<AnyObject>("rollouts"),
    canaries: new Kind<AnyObject>("canaries"),
    deployments: new Kind<AnyObject>("deployments"),
    replicaSets: new Kind<AnyObject>("replicaSets"),
  };
  /** Records by release id (parsed once, when they change). */
  const records = new Map<string, ReleaseRecord>();
  /** Read-your-writes floors: a release id → the version (or `final`) the cache must reach before it answers. */
  const floors = new Map<string, { want: Want; until: number }>();

  const follow = async (kind: Kind<AnyObject>) => {
    const ref = { ...CACHED_KINDS[kind.key], namespace };
    try {
      for await (const event of conn.objects.listWatch(ref, {
        signal,
        ...(kind.key === "records" ? { labelSelector: LABEL_RELEASE } : {}),
      })) {
        kind.apply(event);
        if (kind.key !== "records") continue;
        if (event.type === "LISTED") {
          records.clear();
          for (const cm of event.objects) {
            const r = parseRecord(cm);
            if (r) records.set(r.id, r);
          }
        } else if (event.type !== "INTERRUPTED") {
          const r = parseRecord(event.object);
          if (r && event.type === "DELETED") records.delete(r.id);
          else if (r) records.set(r.id, r);
        }
      }
    } catch (error) {
      // A kind this cluster does not serve (Argo Rollouts or Flagger not installed) is an empty kind, as
      // findTarget treats it; any other end leaves the kind out of sync, so reads go to the cluster.
      if (error instanceof RolloutClientError && error.code === "NOT_FOUND" && kind.key !== "records") {
        kind.objects.clear();
        kind.inSync = true;
      } else kind.inSync = false;
    }
  };
  const all = Object.values(kinds);
  const runs = all.map((k) => follow(k));
  const synced = (async () => {
    while (!signal.aborted && !all.every((k) => k.inSync)) await new Promise((r) => setTimeout(r, 20));
  })();
  void Promise.allSettled(runs);

  const record = (id: string): ReleaseRecord | undefined => {
    if (!kinds.records.inSync) return undefined;
    const cached = records.get(id);
    const floor = floors.get(id);
    if (floor && floor.until < Date.now()) floors.delete(id);
    else if (floor) {
      if (!cached || !meets(cached, floor.want)) return undefined;
      floors.delete(id);
    }
    return cached;
  };

  const recordsOf = (environment: string): ReleaseRecord[] | undefined => {
    if (!kinds.records.inSync) return undefined;
    // A release the cache has not caught up with yet: the list would be older than what a client knows.
    for (const id of [...floors.keys()]) if (record(id) === undefined && floors.has(id)) return undefined;
    return [...records.values()].filter((r) => r.environment === environment).sort(newestStartedFirst);
  };

  /** findTarget's rules on the cached objects: Rollouts win over Canaries, which win over Deployments. */
  const targetOf = (component: string): Target | undefined => {
    const rollouts = [...kinds.rollouts.objects.values()] as unknown as RolloutObject[];
    const rollout =
      rollouts.find((r) => r.metadata.name === component) ??
      rollouts.find((r) => r.spec.workloadRef?.kind === "Deployment" && r.spec.workloadRef.name === component);
    if (rollout) return rolloutTarget(rollout, namespace);
    const canaries = [...kinds.canaries.objects.values()] as unknown as CanaryObject[];
    const canary =
      canaries.find((c) => c.metadata.name === component) ??
      canaries.find((c) => c.spec.targetRef.kind === "Deployment" && c.spec.targetRef.name === component);
    if (canary) {
      const target = kinds.deployments.objects.get(canary.spec.targetRef.name) as unknown as DeploymentObject;
      return target ? canaryTarget(canary, target, namespace) : undefined;
    }
    const deployment = kinds.deployments.objects.get(component) as unknown as DeploymentObject | undefined;
    return deployment ? deploymentTarget(deployment, namespace) : undefined;
  };

  const ownedBy = (uid: string | undefined) =>
    ([...kinds.replicaSets.objects.values()] as unknown as ReplicaSetObject[]).filter(
      (rs) => uid !== undefined && rs.metadata.ownerReferences?.some((r) => r.uid === uid),
    );

  /** The same computation as rollout-client's `status()`, from the cached objects. */
  const workloadStatus = (target: Target): WorkloadStatus | undefined => {
    const deployments = kinds.deployments.objects;
    if (target.kind === "Rollout") {
      const rollout = kinds.rollouts.objects.get(target.name) as unknown as RolloutObject | undefined;
      if (!rollout) return undefined;
      const workload =
        target.workload.kind === "Deployment"
          ? (deployments.get(target.workload.name) as unknown as DeploymentObject | undefined)
          : undefined;
      return rolloutStatus({ rollout, replicaSets: ownedBy(rollout.metadata.uid), ...(workload ? { workload } : {}) });
    }
    if (target.kind === "Deployment") {
      const deployment = deployments.get(target.name) as unknown as DeploymentObject | undefined;
      if (!deployment) return undefined;
      return deploymentStatus({ deployment, replicaSets: ownedBy(deployment.metadata.uid) });
    }
    const canary = kinds.canaries.objects.get(target.name) as unknown as CanaryObject | undefined;
    if (!canary) return undefined;
    const input: Parameters<typeof canaryStatus>[0] = { canary };
    const targetDeployment = deployments.get(target.workload.name) as unknown as DeploymentObject | undefined;
    const primary = deployments.get(`${target.workload.name}-primary`) as unknown as DeploymentObject | undefined;
    if (targetDeployment) input.target = targetDeployment;
    if (primary) input.primary = primary;
    return canaryStatus(input);
  };

  return {
    record,
    records: recordsOf,
    status(environment) {
      if (!all.every((k) => k.inSync)) return undefined;
      const list = recordsOf(environment.name);
      if (!list) return undefined;
      const components: ComponentStatus[] = [];
      for (const { name, component } of listComponents(environment)) {
        const target = targetOf(component.workload.name);
        const status = target && workloadStatus(target);
        if (!status) return undefined; // not found: the cluster read says why, with its error
        components.push({ component: name, ...status });
      }
      return { environment: environment.name, namespace, release: list[0], components };
    },
    expect(id, want) {
      const floor = floors.get(id)?.want;
      // Keep the stronger expectation: final beats a version, a later version beats an earlier one.
      if (
        floor === "final" ||
        (floor && want !== "final" && (want === "exists" || (floor !== "exists" && atLeast(floor, want))))
      )
        return;
      floors.set(id, { want, until: Date.now() + EXPECT_MS });
    },
    synced,
    close: () => controller.abort(),
  };
}

const newestStartedFirst = (a: ReleaseRecord, b: ReleaseRecord) =>
  a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : b.id.localeCompare(a.id);
