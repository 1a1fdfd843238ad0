/**
 * One coordination.k8s.io Lease per environment, so two releases never run at once. The holder renews it while it
 * works; a Lease not renewed for `leaseDurationSeconds` belongs to an engine that died, and the next engine takes
 * it over (and then resumes or rolls back the release it names). A live Lease is never taken, whoever holds it:
 * not even by its own holder (that would make a second engine run the same release). The Lease names its holder
 * (an engine identity: host, process id, start time) and the release; letting it go clears the holder (as
 * client-go's leader election does), so nothing is ever deleted under another engine.
 */

import { type AnyObject, type Connection, hasHttpStatus } from "@rollway/rollout-client";
import type { Clock } from "./clock.js";
import { ReleaseError } from "./errors.js";
import { LEASE, unlessMissing } from "./kinds.js";

export const leaseName = (environment: string): string => `rollway-release-${environment}`;

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The annotation on the Lease naming the release it protects (the holder is the engine). */
export const ANNOTATION_LEASE_RELEASE = "rollway.dev/release";

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

export const leaseManifest = (
  environment: string,
  holder: string,
  release: string,
  durationSeconds: number,
  now: number,
  transitions = 0,
  resourceVersion?: string,
): LeaseObject => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: {
    name: leaseName(environment),
    ...(resourceVersion ? { resourceVersion } : {}),
    labels: { "app.kubernetes.io/managed-by": "rollway", "rollway.dev/environment": environment },
    annotations: { [ANNOTATION_LEASE_RELEASE]: release },
  },
  spec: {
    holderIdentity: holder,
    leaseDurationSeconds: durationSeconds,
    acquireTime: microTime(now),
    renewTime: microTime(now),
    leaseTransitions: transitions,
  },
});

/** The object in the namespace of the request (the Lease's environment), never the connection's default. */
const inNamespace = (namespace: string, lease: LeaseObject): LeaseObject & AnyObject => ({
  ...lease,
  metadata: { ...lease.metadata, namespace },
});

export const leaseExpired = (lease: LeaseObject, now: number): boolean => {
  const renewed = Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? "");
  return (
    !lease.spec.holderIdentity ||
    Number.isNaN(renewed) ||
    renewed + (lease.spec.leaseDurationSeconds ?? 0) * 1000 <= now
  );
};

export interface HeldLease {
  /** The release the previous, dead holder was running, when the Lease was taken over. */
  takenOverFrom: { holder: string; release: string | undefined } | undefined;
  /** Lets the Lease go (deletes it). Stops the renewal. */
  release(): Promise<void>;
  /** Whether this engine still holds the Lease for this release (another engine takes it over once it expires). */
  stillHeld(): Promise<boolean>;
}

export interface AcquireOptions {
  api: Connection;
  clock: Clock;
  namespace: string;
  environment: string;
  holder: string;
  release: string;
  durationSeconds: number;
  /** Wait for the running release to finish instead of refusing. */
  wait: boolean;
  signal: AbortSignal;
  onWaiting?: (holder: string, release: string | undefined) => void;
}

/** Takes the environment's Lease, or throws LOCKED naming the running release (or waits for it with `wait`). */
export async function acquireLease(o: AcquireOptions): Promise<HeldLease> {
  const ref = { ...LEASE, namespace: o.namespace, name: leaseName(o.environment) };
  for (;;) {
    o.signal.throwIfAborted();
    let takenOverFrom: HeldLease["takenOverFrom"];
    try {
      await o.api.objects.create(
        inNamespace(o.namespace, leaseManifest(o.environment, o.holder, o.release, o.durationSeconds, o.clock.now())),
      );
    } catch (error) {
      if (!hasHttpStatus(error, 409)) throw error;
      const lease = await unlessMissing(o.api.objects.get<LeaseObject>(ref));
      if (!lease) continue;
      const running = lease.metadata.annotations?.[ANNOTATION_LEASE_RELEASE];
      const holder = lease.spec.holderIdentity ?? "";
      if (!leaseExpired(lease, o.clock.now())) {
        if (!o.wait) {
          throw new ReleaseError(
            "LOCKED",
            `environment "${o.environment}" is being released by ${running ? `release "${running}"` : "another release"} (engine ${holder}); wait for it to finish, or abort it`,
            { environment: o.environment, holder: running ?? holder },
          );
        }
        o.onWaiting?.(holder, running);
        await waitForLeaseChange(o, lease);
        continue;
      } else if (holder) {
        // Expired: its engine stopped renewing it. A Lease let go (no holder) is simply free.
        takenOverFrom = { holder, release: running };
      }
      try {
        await o.api.objects.replace(
          inNamespace(
            o.namespace,
            leaseManifest(
              o.environment,
              o.holder,
              o.release,
              o.durationSeconds,
              o.clock.now(),
              (lease.spec.leaseTransitions ?? 0) + 1,
              lease.metadata.resourceVersion,
            ),
          ),
        );
      } catch (e) {
        if (hasHttpStatus(e, 409) || hasHttpStatus(e, 404)) continue; // someone else was faster: look again
        throw e;
      }
    }
    return holdLease(o, takenOverFrom);
  }
}

/** Renews every third of the duration; `release()` stops and deletes. */
function holdLease(o: AcquireOptions, takenOverFrom: HeldLease["takenOverFrom"]): HeldLease {
  const ref = { ...LEASE, namespace: o.namespace, name: leaseName(o.environment) };
  let timer: { cancel(): void } | undefined;
  let stopped = false;
  const renew = async () => {
    if (stopped) return;
    try {
      const lease = await o.api.objects.get<LeaseObject>(ref);
      if (lease.spec.holderIdentity !== o.holder) return; // lost: the engine notices when it next writes
      await o.api.objects.replace(
        inNamespace(o.namespace, { ...lease, spec: { ...lease.spec, renewTime: microTime(o.clock.now()) } }),
      );
    } catch {
      // A missed renewal is retried at the next tick; the Lease lasts three ticks.
    }
    schedule();
  };
  const schedule = () => {
    if (!stopped) timer = o.clock.setTimer((o.durationSeconds * 1000) / 3, () => void renew());
  };
  schedule();
  return {
    takenOverFrom,
    async stillHeld() {
      const lease = await unlessMissing(o.api.objects.get<LeaseObject>(ref));
      return (
        lease?.spec.holderIdentity === o.holder && lease.metadata.annotations?.[ANNOTATION_LEASE_RELEASE] === o.release
      );
    },
    async release() {
      stopped = true;
      timer?.cancel();
      for (let attempt = 0; attempt < 5; attempt++) {
        const lease = await o.api.objects.get<LeaseObject>(ref).catch(() => undefined);
        if (lease?.spec.holderIdentity !== o.holder) return;
        try {
          await o.api.objects.replace(inNamespace(o.namespace, letGo(lease)));
          return;
        } catch (e) {
          if (hasHttpStatus(e, 404)) return;
          if (!hasHttpStatus(e, 409)) throw e;
        }
      }
    },
  };
}

/** The Lease let go: no holder, no release (a waiting engine sees the change and takes it). */
export const letGo = (lease: LeaseObject): LeaseObject => {
  const { [ANNOTATION_LEASE_RELEASE]: _, ...annotations } = lease.metadata.annotations ?? {};
  const { holderIdentity: __, ...spec } = lease.spec;
  return { ...lease, metadata: { ...lease.metadata, annotations }, spec };
};

/** The engine and release holding an environment's Lease now, or undefined when it is free or expired. */
export async function leaseHolder(
  api: Connection,
  namespace: string,
  environment: string,
  now: number,
): Promise<{ holder: string; release: string | undefined } | undefined> {
  const lease = await unlessMissing(
    api.objects.get<LeaseObject>({ ...LEASE, namespace, name: leaseName(environment) }),
  );
  if (!lease || leaseExpired(lease, now)) return undefined;
  return {
    holder: lease.spec.holderIdentity ?? "",
    release: lease.metadata.annotations?.[ANNOTATION_LEASE_RELEASE],
  };
}

/** Waits until the Lease is deleted, changes, or expires by the clock. */
async function waitForLeaseChange(o: AcquireOptions, lease: LeaseObject): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  o.signal.addEventListener("abort", stop, { once: true });
  const renewed = Date.parse(lease.spec.renewTime ?? "") || o.clock.now();
  const timer = o.clock.setTimer(
    Math.max(0, renewed + (lease.spec.leaseDurationSeconds ?? 0) * 1000 - o.clock.now()),
    stop,
  );
  try {
    // rollout-client's one list-then-watch: a closed watch resumes, an expired one (410) lists again.
    for await (const event of o.api.objects.listWatch<LeaseObject & AnyObject>(
      { ...LEASE, namespace: o.namespace, name: lease.metadata.name },
      { signal: controller.signal },
    )) {
      if (event.type === "INTERRUPTED") continue;
      const current = event.type === "LISTED" ? event.objects[0] : event.type === "DELETED" ? undefined : event.object;
      if (!current || current.spec.holderIdentity !== lease.spec.holderIdentity) return;
      if (current.metadata.resourceVersion === lease.metadata.resourceVersion) continue;
      // Renewed: wait until the new renewal expires.
      timer.cancel();
      return waitForLeaseChange(o, current);
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    timer.cancel();
    o.signal.removeEventListener("abort", stop);
  }
  o.signal.throwIfAborted();
}
