/**
 * watch and waitFor, on the watch API only: no polling. Each target is followed through a few watches (the object,
 * and the ReplicaSets or Deployments its status needs). A watch starts as a "watch list" (`sendInitialEvents=true`,
 * KEP-3157): the server replays the current objects, then marks the end of that replay with a bookmark, so the first
 * status is computed from complete data without a LIST. A server that refuses watch lists gets one LIST instead.
 * The loop is the package's one list-then-watch (list-watch.ts): a dropped stream resumes from the last
 * resourceVersion seen (bookmarks included); 410 Gone relists once and resumes from the list's resourceVersion, as
 * client-go's reflector does.
 */
import type { Clock, Connection } from "./connect.js";
import { RolloutClientError } from "./errors.js";
import { listWatch } from "./list-watch.js";
import {
  type CanaryObject,
  type DeploymentObject,
  type KindName,
  type KubeObject,
  type LabelSelector,
  type ListObject,
  type ReplicaSetObject,
  type RolloutObject,
  resourcePath,
  selectorToString,
} from "./resources.js";
import { canaryStatus, deploymentStatus, rolloutStatus, type WorkloadStatus } from "./status.js";
import type { Target } from "./targets/target.js";

export interface WatchOptions {
  signal?: AbortSignal;
  /** Time for timeouts and reconnect back-off; default the wall clock. kube-sim's clock fits. */
  clock?: Clock;
}

interface Source {
  kind: KindName;
  fieldSelector?: string;
  labelSelector?: string;
}

function sourcesFor(target: Target): { primary: Source; others: Source[] } {
  const byName = (kind: KindName, name: string): Source => ({ kind, fieldSelector: `metadata.name=${name}` });
  const replicaSets: Source = { kind: "ReplicaSet", labelSelector: selectorToString(target.selector) };
  if (target.kind === "Canary") {
    return {
      primary: byName("Canary", target.name),
      others: [byName("Deployment", target.workload.name), byName("Deployment", `${target.workload.name}-primary`)],
    };
  }
  if (target.kind === "Rollout" && target.workload.kind === "Deployment") {
    return {
      primary: byName("Rollout", target.name),
      others: [replicaSets, byName("Deployment", target.workload.name)],
    };
  }
  return { primary: byName(target.kind, target.name), others: [replicaSets] };
}

/** The objects one source currently sees, kept up to date by its watch. */
class SourceCache {
  readonly objects = new Map<string, KubeObject>();
  resourceVersion: string | undefined;
  /** True once the objects that existed when the watch started have all arrived. */
  synced = false;
  constructor(readonly source: Source) {}
}

/** Transient failures in a row (after the connection's own retries) after which a watch gives up. */
const MAX_FAILURES = 10;

/**
 * Status changes of a target, first the current status, then each time it changes. Ends only when the signal
 * aborts (the iterator then finishes quietly) or on an error the watch cannot recover from (thrown).
 */
export async function* watchStatus(
  conn: Connection,
  target: Target,
  options: WatchOptions = {},
): AsyncGenerator<WorkloadStatus> {
  const clock = options.clock ?? conn.clock;
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) return;
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const { primary, others } = sourcesFor(target);
  const caches = [primary, ...others].map((s) => new SourceCache(s));
  let failure: unknown;
  let wake: (() => void) | undefined;
  let dirty = false;
  const notify = () => {
    dirty = true;
    wake?.();
  };
  stop.signal.addEventListener("abort", notify, { once: true });

  const runs = caches.map((cache, index) =>
    follow(conn, target, cache, index === 0, stop.signal, clock, notify).catch((error: unknown) => {
      if (!stop.signal.aborted) {
        failure = error;
        notify();
      }
    }),
  );

  let last: string | undefined;
  try {
    while (!stop.signal.aborted) {
      if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      dirty = false;
      if (failure !== undefined) throw failure;
      if (stop.signal.aborted) break;
      const status = computeStatus(target, caches);
      if (!status) {
        if (caches.every((c) => c.synced)) throw missing(target);
        continue;
      }
      const key = JSON.stringify(status);
      if (key === last) continue;
      last = key;
      yield status;
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stop.abort();
    await Promise.allSettled(runs);
  }
}

/** The status now, from one read of each object the status needs (a GET, and a LIST per other source). */
export async function readStatus(conn: Connection, target: Target, signal?: AbortSignal): Promise<WorkloadStatus> {
  const { primary, others } = sourcesFor(target);
  const caches = [primary, ...others].map((s) => new SourceCache(s));
  await Promise.all(
    caches.map((cache) =>
      relist(
        conn,
        cache,
        resourcePath(cache.source.kind, target.namespace),
        { fieldSelector: cache.source.fieldSelector, labelSelector: cache.source.labelSelector || undefined },
        { kind: cache.source.kind, namespace: target.namespace },
        signal,
      ),
    ),
  );
  const status = computeStatus(target, caches);
  if (!status) throw missing(target);
  return status;
}

/**
 * The status now of many targets of one namespace, as `readStatus` gives each (the same objects, the same answer), from
 * one LIST per kind they need instead of a GET and a LIST per target: `rollway status` of six components made 12
 * requests, now 1 (ReplicaSets) beside the Rollouts its caller listed already (`rollouts`, findTargets' list). The
 * label selectors a per-target read sent the server are matched here, by Kubernetes' rules (`matchesSelector`).
 */
export async function readStatuses(
  conn: Connection,
  targets: readonly Target[],
  options: {
    namespace?: string;
    rollouts?: readonly RolloutObject[];
    /** LISTs of the namespace's objects of a kind (no selector) the caller has under way already: used, not made again. */
    lists?: ReadonlyMap<KindName, Promise<readonly KubeObject[]>>;
    signal?: AbortSignal;
  } = {},
): Promise<WorkloadStatus[]> {
  const namespace = options.namespace ?? conn.namespace;
  const plans = targets.map((target) => {
    if (target.namespace !== namespace) {
      throw new RolloutClientError("INVALID", `is in namespace "${target.namespace}", not "${namespace}"`, {
        resource: { kind: target.kind, name: target.name, namespace: target.namespace },
      });
    }
    const { primary, others } = sourcesFor(target);
    return { target, sources: [primary, ...others] };
  });
  const lists = new Map<KindName, Promise<readonly KubeObject[]>>(options.lists);
  if (options.rollouts) lists.set("Rollout", Promise.resolve(options.rollouts));
  for (const { sources } of plans) {
    for (const { kind } of sources) {
      if (lists.has(kind)) continue;
      lists.set(
        kind,
        conn
          .request<ListObject<KubeObject>>({
            method: "GET",
            path: resourcePath(kind, namespace),
            resource: { kind, namespace },
            ...(options.signal ? { signal: options.signal } : {}),
          })
          .then((list) => list.items ?? []),
      );
    }
  }
  const listed = new Map<KindName, readonly KubeObject[]>();
  await Promise.all([...lists].map(async ([kind, list]) => listed.set(kind, await list)));
  return plans.map(({ target, sources }) => {
    const caches = sources.map((source) => {
      const cache = new SourceCache(source);
      const name = source.fieldSelector?.replace(/^metadata\.name=/, "");
      for (const item of listed.get(source.kind) ?? []) {
        if (name !== undefined ? item.metadata.name === name : matchesSelector(target.selector, item.metadata.labels))
          cache.objects.set(item.metadata.name, item);
      }
      cache.synced = true;
      return cache;
    });
    const status = computeStatus(target, caches);
    if (!status) throw missing(target);
    return status;
  });
}

/**
 * Whether labels match a LabelSelector, as the API server's `?labelSelector=` of `selectorToString` does: every
 * matchLabels pair and every expression (In, NotIn, Exists, DoesNotExist). An empty selector matches everything; one
 * with an unknown operator nothing (targets refuse such a selector first: see selectorProblem).
 */
export function matchesSelector(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const has = (key: string) => labels !== undefined && Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {}))
    if (!has(key) || labels?.[key] !== value) return false;
  for (const expr of selector?.matchExpressions ?? []) {
    const values = expr.values ?? [];
    const ok =
      expr.operator === "In"
        ? has(expr.key) && values.includes(labels?.[expr.key] as string)
        : expr.operator === "NotIn"
          ? !has(expr.key) || !values.includes(labels?.[expr.key] as string)
          : expr.operator === "Exists"
            ? has(expr.key)
            : expr.operator === "DoesNotExist"
              ? !has(expr.key)
              : false; // no such operator: the API server refuses the selector; it selects nothing here
    if (!ok) return false;
  }
  return true;
}

function missing(target: Target): RolloutClientError {
  return new RolloutClientError("NOT_FOUND", "does not exist (any more)", {
    resource: { kind: target.kind, name: target.name, namespace: target.namespace },
    httpStatus: 404,
  });
}

function computeStatus(target: Target, caches: SourceCache[]): WorkloadStatus | undefined {
  if (!caches.every((c) => c.synced)) return undefined;
  const [primaryCache, ...rest] = caches;
  const object = primaryCache?.objects.get(target.name);
  if (!object) return undefined;
  if (target.kind === "Rollout") {
    const replicaSets = [...(rest[0]?.objects.values() ?? [])] as ReplicaSetObject[];
    const uid = object.metadata.uid;
    const owned = replicaSets.filter((rs) => !uid || rs.metadata.ownerReferences?.some((r) => r.uid === uid));
    const workload = rest[1]?.objects.get(target.workload.name) as DeploymentObject | undefined;
    return rolloutStatus({ rollout: object as RolloutObject, replicaSets: owned, ...(workload ? { workload } : {}) });
  }
  if (target.kind === "Deployment") {
    const replicaSets = [...(rest[0]?.objects.values() ?? [])] as ReplicaSetObject[];
    const uid = object.metadata.uid;
    const owned = replicaSets.filter((rs) => !uid || rs.metadata.ownerReferences?.some((r) => r.uid === uid));
    return deploymentStatus({ deployment: object as DeploymentObject, replicaSets: owned });
  }
  const input: Parameters<typeof canaryStatus>[0] = { canary: object as CanaryObject };
  const targetDeployment = rest[0]?.objects.get(target.workload.name) as DeploymentObject | undefined;
  const primaryDeployment = rest[1]?.objects.get(`${target.workload.name}-primary`) as DeploymentObject | undefined;
  if (targetDeployment) input.target = targetDeployment;
  if (primaryDeployment) input.primary = primaryDeployment;
  return canaryStatus(input);
}

async function follow(
  conn: Connection,
  target: Target,
  cache: SourceCache,
  isPrimary: boolean,
  signal: AbortSignal,
  clock: Clock,
  notify: () => void,
): Promise<void> {
  const { source } = cache;
  const path = resourcePath(source.kind, target.namespace);
  const resource = { kind: source.kind, namespace: target.namespace, name: isPrimary ? target.name : undefined };
  try {
    for await (const event of listWatch<KubeObject>(conn, path, resource, {
      signal,
      clock,
      initial: "watch-list",
      maxFailures: MAX_FAILURES,
      ...(source.fieldSelector ? { fieldSelector: source.fieldSelector } : {}),
      ...(source.labelSelector ? { labelSelector: source.labelSelector } : {}),
    })) {
      if (event.type === "INTERRUPTED") continue;
      if (event.type === "LISTED") {
        cache.objects.clear();
        for (const item of event.objects) cache.objects.set(item.metadata.name, item);
        cache.resourceVersion = event.resourceVersion;
        cache.synced = true;
        notify();
        continue;
      }
      cache.resourceVersion = event.resourceVersion;
      if (event.type === "DELETED") cache.objects.delete(event.object.metadata.name);
      else cache.objects.set(event.object.metadata.name, event.object);
      if (event.type === "DELETED" && isPrimary) {
        throw new RolloutClientError("NOT_FOUND", "was deleted while being watched", { resource, httpStatus: 404 });
      }
      if (cache.synced) notify();
    }
  } catch (error) {
    if (signal.aborted) return;
    if (!isPrimary && error instanceof RolloutClientError && error.code === "FORBIDDEN") {
      // RBAC that allows the workload but not its ReplicaSets or Deployments: follow the workload alone; the
      // status then lacks what only those objects tell (stable revision and images).
      cache.objects.clear();
      cache.synced = true;
      notify();
      return;
    }
    throw error;
  }
}

async function relist(
  conn: Connection,
  cache: SourceCache,
  path: string,
  selectors: Record<string, string | undefined>,
  resource: { kind: string; namespace: string },
  signal: AbortSignal | undefined,
): Promise<void> {
  const list = await conn.request<ListObject<KubeObject>>({
    method: "GET",
    path,
    query: selectors,
    resource,
    ...(signal ? { signal } : {}),
  });
  cache.objects.clear();
  for (const item of list.items ?? []) cache.objects.set(item.metadata.name, item);
  cache.resourceVersion = list.metadata?.resourceVersion;
  cache.synced = true;
}

export interface WaitForOptions extends WatchOptions {
  /** Give up after this many milliseconds with a TIMEOUT error carrying the last status seen. */
  timeout?: number;
}

/** Thrown by waitFor when time runs out; `lastStatus` says where the target was stuck. */
export class WaitTimeoutError extends RolloutClientError {
  readonly lastStatus: WorkloadStatus | undefined;
  constructor(target: Target, timeout: number, lastStatus: WorkloadStatus | undefined) {
    const where = lastStatus
      ? `it is ${lastStatus.phase}${lastStatus.message ? `: ${lastStatus.message}` : ""}`
      : "no status was seen";
    super("TIMEOUT", `the condition was not met within ${timeout} ms; ${where}`, {
      resource: { kind: target.kind, name: target.name, namespace: target.namespace },
    });
    this.lastStatus = lastStatus;
  }
}

/** Resolves with the first status that satisfies the predicate. */
export async function waitFor(
  conn: Connection,
  target: Target,
  predicate: (status: WorkloadStatus) => boolean,
  options: WaitForOptions = {},
): Promise<WorkloadStatus> {
  const clock = options.clock ?? conn.clock;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let timedOut = false;
  const timer =
    options.timeout === undefined
      ? undefined
      : clock.setTimer(options.timeout, () => {
          timedOut = true;
          stop.abort();
        });
  let lastStatus: WorkloadStatus | undefined;
  try {
    for await (const status of watchStatus(conn, target, { signal, clock })) {
      lastStatus = status;
      if (predicate(status)) return status;
    }
  } finally {
    timer?.cancel();
    stop.abort();
  }
  if (timedOut) throw new WaitTimeoutError(target, options.timeout ?? 0, lastStatus);
  throw options.signal?.reason ?? new Error("waitFor was aborted");
}

export const isHealthy = (status: WorkloadStatus) => status.phase === "Healthy";
export const isPaused = (status: WorkloadStatus) => status.phase === "Paused";
/** Healthy, Degraded or Aborted: nothing more will happen without someone acting. */
export const isSettled = (status: WorkloadStatus) =>
  status.phase === "Healthy" || status.phase === "Degraded" || status.phase === "Aborted";
