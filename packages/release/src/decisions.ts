/**
 * The decision handshake: a decision (an approval of a gate, an abort request) counts only once the engine running
 * the release has acknowledged it. Any process writes a decision on the release's record; the engine, through one
 * watch on its record for the whole run (`followDecisions`), writes `ackedBy`/`ackedAt` on every decision it sees,
 * at its gate or not yet, and acts only on acknowledged decisions. The decider (approvals.ts `decide`) waits for the
 * acknowledgement while it follows the environment's Lease (`awaitAcknowledgement`): if the Lease stops being renewed
 * first, it takes its decision back (only while still unacknowledged, with a resourceVersion-guarded write) and
 * says nobody runs the release. So a decision is success only when an engine took it, and nothing is left on the
 * record that a later engine would act on without anyone having been told.
 */
import type { AnyObject } from "@rollway/rollout-client";
import type { EngineContext } from "./engine-context.js";
import { updateRun } from "./engine-context.js";
import { ReleaseError } from "./errors.js";
import type { ApprovalGate } from "./events.js";
import { ANNOTATION_LEASE_RELEASE, type LeaseObject, leaseExpired, leaseName } from "./lock.js";
import { followRecord, type ReleaseRecord, TERMINAL_STATES } from "./records.js";

/** A decision any process may give on a release. */
export type Decision = { kind: "approval"; gate: ApprovalGate } | { kind: "abort" };

/**
 * Time past the Lease's expiry the decider still waits for an acknowledgement (on the engine's clock): an engine
 * that took the release over just then acknowledges within it.
 */
export const ACK_MARGIN_MS = 2_000;
/**
 * An engine that keeps renewing its Lease is alive (it may be slow to see the decision: a loaded machine, a watch
 * being re-established): the decider waits on across renewals, for at most this many Lease durations in all, then
 * gives up with TIMEOUT (an engine that predates the handshake never acknowledges).
 */
export const ACK_MAX_LEASES = 3;
/** How long a decider waits before it says it is waiting (the CLI prints a line then). */
export const ACK_WAITING_NOTICE_MS = 1_000;

const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

/** The decision as recorded (unacknowledged or not), or undefined when the record does not hold it. */
export function recorded(record: ReleaseRecord, d: Decision) {
  return d.kind === "abort" ? record.abortRequested : record.approvals.find((a) => a.gate === d.gate);
}

/** Whether an engine acknowledged the decision on this record. */
export const acknowledged = (record: ReleaseRecord, d: Decision): boolean => !!recorded(record, d)?.ackedAt;

const pending = (record: ReleaseRecord): boolean =>
  record.approvals.some((a) => !a.ackedAt) || (!!record.abortRequested && !record.abortRequested.ackedAt);

/** Every unacknowledged decision acknowledged by `engine` (the same record when there is none: nothing to write). */
export function acknowledgeAll(record: ReleaseRecord, engine: string, at: string): ReleaseRecord {
  if (!pending(record)) return record;
  const ack = { ackedBy: engine, ackedAt: at };
  return {
    ...record,
    approvals: record.approvals.map((a) => (a.ackedAt ? a : { ...a, ...ack })),
    ...(record.abortRequested
      ? { abortRequested: record.abortRequested.ackedAt ? record.abortRequested : { ...record.abortRequested, ...ack } }
      : {}),
  };
}

/** The decision taken back while still unacknowledged (the same record when it is acknowledged or absent). */
export function withdraw(record: ReleaseRecord, d: Decision): ReleaseRecord {
  const r = recorded(record, d);
  if (!r || r.ackedAt) return record;
  if (d.kind === "abort") {
    const { abortRequested: _, ...rest } = record;
    return rest;
  }
  return { ...record, approvals: record.approvals.filter((a) => a.gate !== d.gate || a.ackedAt) };
}

/** The engine acknowledges what its record holds now, before it acts on any of it (a run's start, a takeover). */
export const acknowledgeNow = (ctx: EngineContext, record: ReleaseRecord): Promise<ReleaseRecord> =>
  pending(record) ? updateRun(ctx, record, (r) => acknowledgeAll(r, ctx.identity, ctx.iso())) : Promise.resolve(record);

/** The decisions a running engine has acknowledged, from its one watch on the record. */
export interface DecisionWatch {
  /** Resolves with the record once `gate` is approved and acknowledged (at once if it already is). */
  approved(gate: ApprovalGate, signal: AbortSignal): Promise<ReleaseRecord>;
  /** The acknowledged approval of `gate` already seen, if any. */
  approval(gate: ApprovalGate): ReleaseRecord["approvals"][number] | undefined;
}

/**
 * The engine's side: follows the record until `signal` aborts, acknowledges every new decision on it (a failed
 * write is tried again at the next change, or after a second on the engine's clock), and reports acknowledged
 * ones: `onAbort` once for an abort request, and approvals to `approved` waiters.
 */
export function followDecisions(
  ctx: EngineContext,
  record: ReleaseRecord,
  signal: AbortSignal,
  onAbort: (request: NonNullable<ReleaseRecord["abortRequested"]>) => void,
): DecisionWatch {
  let latest = record;
  let abortSeen = false;
  /** Why the watch stopped for good (403 on watch…): approval waits fail with it instead of waiting for nothing. */
  let failure: { error: unknown } | undefined;
  const waiters = new Set<{ gate: ApprovalGate; resolve: (r: ReleaseRecord) => void; reject: (e: unknown) => void }>();
  const seen = (r: ReleaseRecord) => {
    latest = r;
    if (!abortSeen && r.abortRequested?.ackedAt) {
      abortSeen = true;
      onAbort(r.abortRequested);
    }
    for (const w of waiters)
      if (acknowledged(r, { kind: "approval", gate: w.gate })) {
        waiters.delete(w);
        w.resolve(r);
      }
  };
  const acknowledge = async (r: ReleaseRecord): Promise<void> => {
    while (!signal.aborted) {
      try {
        seen(await acknowledgeNow(ctx, r));
        return;
      } catch {
        // A refused or failed write: try again shortly (the record is read afresh).
        await new Promise<void>((resolve) => {
          const timer = ctx.clock.setTimer(1_000, resolve);
          signal.addEventListener(
            "abort",
            () => {
              timer.cancel();
              resolve();
            },
            { once: true },
          );
        });
      }
    }
  };
  void (async () => {
    for await (const r of followRecord(ctx.api, record.namespace, record.id, signal)) {
      if (pending(r)) await acknowledge(r);
      else seen(r);
    }
  })().catch((error: unknown) => {
    if (signal.aborted) return;
    failure = { error };
    for (const w of waiters) w.reject(error);
    waiters.clear();
  });
  seen(record);
  return {
    approval: (gate) => latest.approvals.find((a) => a.gate === gate && a.ackedAt),
    approved: (gate, s) =>
      new Promise((resolve, reject) => {
        if (acknowledged(latest, { kind: "approval", gate })) return resolve(latest);
        if (failure) return reject(failure.error);
        // Already aborted (the caller's timeout fired before the run reached this gate): an abort listener added
        // now would never be called, and the run would wait for good.
        if (s.aborted) return reject(s.reason);
        const w = { gate, resolve, reject };
        waiters.add(w);
        s.addEventListener(
          "abort",
          () => {
            waiters.delete(w);
            reject(s.reason);
          },
          { once: true },
        );
      }),
  };
}

/** The NOT_RUNNING refusal: nobody runs the release, nothing was decided, and what to do. */
export const notRunning = (record: ReleaseRecord, withdrawn = false) =>
  new ReleaseError(
    "NOT_RUNNING",
    `release "${record.id}" is ${record.state} but no engine runs it (engine ${record.engine} stopped renewing the Lease of environment "${record.environment}"${withdrawn ? " before it acknowledged the decision, which was taken back" : ""}); nothing was decided: run \`rollway recover ${record.environment}\` to take it over (it resumes the release, or with --rollback puts every component back), then decide again`,
    { release: record.id, environment: record.environment },
  );

/** The environment's Lease, or undefined when there is none. */
export async function readLease(ctx: EngineContext, namespace: string, environment: string) {
  try {
    return await ctx.api.objects.get<LeaseObject>({ ...LEASE, namespace, name: leaseName(environment) });
  } catch (error) {
    if ((error as { code?: string }).code === "NOT_FOUND") return undefined;
    throw error;
  }
}

/** Whether the Lease is live (renewed within its duration) and names this release. */
export const runsRelease = (lease: LeaseObject | undefined, release: string, now: number): lease is LeaseObject =>
  !!lease && !leaseExpired(lease, now) && lease.metadata.annotations?.[ANNOTATION_LEASE_RELEASE] === release;

const expiryOf = (lease: LeaseObject) =>
  Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? "") + (lease.spec.leaseDurationSeconds ?? 0) * 1000;

export interface AwaitOptions {
  /** Called once when no acknowledgement came within ACK_WAITING_NOTICE_MS. */
  onWaiting?: (waiting: { release: string; holder: string }) => void;
}

/**
 * The decider's side: resolves with the record once the decision is acknowledged. Follows the record and the
 * Lease (watches, no polling) until the Lease runs out unrenewed (its expiry as last seen, plus ACK_MARGIN_MS, on
 * the engine's clock; a renewal moves it on, up to ACK_MAX_LEASES Lease durations in all), or until the Lease is let
 * go or names another release. Then, unless acknowledged meanwhile, the decision is taken back and the call fails:
 * NOT_RUNNING when no engine runs the release any more, TIMEOUT when its engine still renews the Lease but never
 * acknowledged (an engine that predates the handshake), INVALID_STATE when the release ended meanwhile.
 */
export async function awaitAcknowledgement(
  ctx: EngineContext,
  record: ReleaseRecord,
  d: Decision,
  lease: LeaseObject,
  o: AwaitOptions = {},
): Promise<ReleaseRecord> {
  const { namespace, id } = record;
  const stop = new AbortController();
  let settle: (outcome: { record: ReleaseRecord } | { conclude: "deadline" | "lease-gone" }) => void = () => {};
  const outcome = new Promise<{ record: ReleaseRecord } | { conclude: "deadline" | "lease-gone" }>((resolve) => {
    settle = resolve;
  });
  const holder = lease.spec.holderIdentity ?? "";
  const started = ctx.clock.now();
  const cap = started + ACK_MAX_LEASES * (lease.spec.leaseDurationSeconds ?? 0) * 1000;
  let expiry = expiryOf(lease);
  // At the Lease's expiry plus the margin, unless it was renewed meanwhile (then at the new expiry), never past `cap`.
  let deadline = { cancel() {} };
  const arm = () => {
    deadline.cancel();
    const at = Math.min(expiry + ACK_MARGIN_MS, cap);
    deadline = ctx.clock.setTimer(Math.max(0, at - ctx.clock.now()), () => settle({ conclude: "deadline" }));
  };
  arm();
  const notice = ctx.clock.setTimer(ACK_WAITING_NOTICE_MS, () => o.onWaiting?.({ release: id, holder }));
  void (async () => {
    for await (const r of followRecord(ctx.api, namespace, id, stop.signal)) {
      if (acknowledged(r, d)) return settle({ record: r });
      if (TERMINAL_STATES.includes(r.state)) return settle({ conclude: "lease-gone" });
    }
  })().catch(() => undefined); // a watch that cannot go on: the deadline concludes
  void (async () => {
    for await (const event of ctx.api.objects.listWatch<LeaseObject & AnyObject>(
      { ...LEASE, namespace, name: lease.metadata.name },
      { signal: stop.signal },
    )) {
      if (event.type === "INTERRUPTED") continue;
      const current = event.type === "LISTED" ? event.objects[0] : event.type === "DELETED" ? undefined : event.object;
      // Let go, deleted, or another release's: the engine that had the release stopped (or finished) it.
      if (!current?.spec.holderIdentity || current.metadata.annotations?.[ANNOTATION_LEASE_RELEASE] !== id)
        return settle({ conclude: "lease-gone" });
      // Renewed (or taken over for this release): its engine lives, wait for it until this renewal runs out.
      if (expiryOf(current) > expiry) {
        expiry = expiryOf(current);
        arm();
      }
    }
  })().catch(() => undefined);
  try {
    const first = await outcome;
    if ("record" in first) return first.record;
    // Take the decision back unless an engine acknowledged it meanwhile (the write is guarded by the
    // resourceVersion: an acknowledgement written first wins, and is seen here on the retry).
    let seen = record;
    const after = await updateRun(ctx, record, (r) => {
      seen = r;
      return TERMINAL_STATES.includes(r.state) ? r : withdraw(r, d);
    });
    if (acknowledged(seen, d)) return seen;
    if (TERMINAL_STATES.includes(seen.state))
      throw new ReleaseError("INVALID_STATE", `release "${id}" is already ${seen.state}`, { release: id });
    const now = await readLease(ctx, namespace, record.environment);
    if (runsRelease(now, id, ctx.clock.now()))
      throw new ReleaseError(
        "TIMEOUT",
        `the engine of release "${id}" (${now.spec.holderIdentity}) renews its Lease but did not acknowledge the decision within ${Math.round((ctx.clock.now() - started) / 1000)} s (an engine of an older rollway does not); the decision was taken back, nothing was decided: decide again once it runs a rollway that acknowledges`,
        { release: id, environment: record.environment },
      );
    throw notRunning(after, true);
  } finally {
    stop.abort();
    deadline.cancel();
    notice.cancel();
  }
}
