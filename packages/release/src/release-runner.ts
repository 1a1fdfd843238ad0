/**
 * The release lifecycle around the engine, the same for every process that runs releases (the server, the CLI in
 * direct mode, the Action): each event of a run is appended to the release's event log in the cluster (closed when
 * the run returns, so anyone following it sees the end), a delivery is claimed before it runs (a duplicate is the
 * release already running, never a second one), subscribers get every event with what the event does not say
 * (`rollbackOf`, read from the record for a resumed rollback too), and releases whose engine died are taken over by
 * a recovery loop. A runner is a ReleaseEngine, so a caller swaps it in for the engine and leaves these traces.
 */

import type { Connection } from "@rollway/rollout-client";
import { type Clock, realClock } from "./clock.js";
import type { ApplyOptions, RecoverOptions, ReleaseEngine } from "./engine.js";
import { ReleaseError } from "./errors.js";
import { type EventLog, EventLogWriter, followEventLog, readEventLog } from "./event-log.js";
import type { OnReleaseEvent, ReleaseEvent } from "./events.js";
import { claimDelivery, completeClaim, type DeliveryClaim, dropClaim } from "./idempotency.js";
import type { ReleasePlan } from "./plan.js";
import { type ReleaseRecord, TERMINAL_STATES } from "./records.js";

/** What a release event does not say, from the release it belongs to. */
export interface RunContext {
  /** The release this one rolls back (rollbacks are reported as `rolled-back`, not `promoted`). */
  rollbackOf?: string;
}

export type ReleaseListener = (event: ReleaseEvent, context: RunContext) => void;

export interface ReleaseRunnerOptions {
  engine: ReleaseEngine;
  api: Connection;
  clock?: Clock;
  /** An event log write failed (the events are kept and written with the next one). */
  onLogError?: (release: string, error: unknown) => void;
}

/** A release started in the background: its id, and its end (the engine's answer). */
export interface Launched {
  release: string;
  ended: Promise<ReleaseRecord>;
}

export type DeployOutcome =
  | { kind: "accepted"; release: string; duplicate: boolean; ended: Promise<ReleaseRecord> | undefined }
  | { kind: "key-reused"; message: string };

export interface DeployOptions extends ApplyOptions {
  /** An Idempotency-Key and the caller's scope for it (the server's project and URL environment). */
  key?: { scope: string; environment: string; value: string };
  /** Ends waiting for another delivery of the same claim to start its release. Default: `signal`. */
  claimSignal?: AbortSignal;
}

export interface RecoveryPlace {
  name: string;
  namespace: string;
}

export interface RecoveryLoopOptions {
  /** Time between two looks (no event tells when a Lease expires). */
  intervalMs: number;
  /** Stops the loop. */
  signal: AbortSignal;
  /** Given to the runs recovery starts: aborting it rolls them back. Default: none. */
  runSignal?: AbortSignal;
  onRecovered?: (record: ReleaseRecord, place: RecoveryPlace) => void;
  onError?: (error: unknown, place: RecoveryPlace) => void;
}

export interface ReleaseRunner extends ReleaseEngine {
  /** The engine underneath (its events leave no log). */
  readonly engine: ReleaseEngine;
  /** Every event of every run of this runner, with its context; returns the unsubscribe. */
  subscribe(listener: ReleaseListener): () => void;
  /** Claims the delivery and starts its release in the background; resolves once it has an id (or is a duplicate). */
  deploy(plan: ReleasePlan, options?: DeployOptions): Promise<DeployOutcome>;
  /** Starts a run in the background; resolves with its release id once the engine has accepted it. */
  launch(run: (onEvent: OnReleaseEvent) => Promise<ReleaseRecord>): Promise<Launched>;
  /** Looks for releases whose engine died in these places now and every `intervalMs`, until the signal aborts. */
  recoverEvery(places: RecoveryPlace[], options: RecoveryLoopOptions): Promise<void>;
  readEvents(namespace: string, release: string, signal?: AbortSignal): Promise<EventLog | undefined>;
  /** The event log as it grows; ends after its last event (the run returned) or when the signal aborts. */
  followEvents(namespace: string, release: string, signal: AbortSignal): AsyncIterable<EventLog>;
}

const isTerminal = (r: ReleaseRecord) => TERMINAL_STATES.includes(r.state);
const noop = () => undefined;

export function createReleaseRunner(options: ReleaseRunnerOptions): ReleaseRunner {
  const { engine, api } = options;
  const clock = options.clock ?? realClock;
  const listeners = new Set<ReleaseListener>();
  const writers = new Map<string, EventLogWriter>();

  const writerOf = (ns: string, release: string) => {
    let w = writers.get(release);
    if (!w) {
      w = new EventLogWriter(api, ns, release, (error) => options.onLogError?.(release, error));
      writers.set(release, w);
    }
    return w;
  };

  /** The callback given to the engine: the log, the caller's callback, then the subscribers. */
  const recording =
    (ns: string, seen: Set<string>, onEvent: OnReleaseEvent | undefined, context: (release: string) => RunContext) =>
    (event: ReleaseEvent) => {
      seen.add(event.release);
      writerOf(ns, event.release).push(event);
      onEvent?.(event);
      for (const listener of listeners) {
        try {
          listener(event, context(event.release));
        } catch {
          // A subscriber never breaks a release.
        }
      }
    };

  /** The runs of these releases returned: their logs are closed once written. */
  const finish = async (releases: Iterable<string>) => {
    await Promise.all(
      [...releases].map((id) => {
        const w = writers.get(id);
        writers.delete(id);
        return w?.finish();
      }),
    );
  };

  /** Writes what is pending without closing (a run that did not end: its engine died here or hands over). */
  const flush = async (releases: Iterable<string>) => {
    await Promise.all([...releases].map((id) => writers.get(id)?.flushed()));
  };

  /** Runs a claimed delivery: the claim names the release once it has an id, and a digest claim ends with it. */
  async function runClaimed(
    plan: ReleasePlan,
    o: ApplyOptions,
    claimed: Extract<DeliveryClaim, { kind: "claimed" }>,
    started?: (release: string) => void,
  ): Promise<ReleaseRecord> {
    const ns = plan.namespace;
    const seen = new Set<string>();
    let id: string | undefined;
    let completing: Promise<void> = Promise.resolve();
    const onEvent = (event: ReleaseEvent) => {
      if (id === undefined) {
        id = event.release;
        const release = id;
        completing = completeClaim(api, ns, claimed.name, release).then(
          () => started?.(release),
          () => started?.(release),
        );
      }
      o.onEvent?.(event);
    };
    try {
      return await engine.apply(plan, { ...o, onEvent: recording(ns, seen, onEvent, () => ({})) });
    } finally {
      await completing;
      if (id === undefined || !claimed.keep) await dropClaim(api, ns, claimed.name).catch(noop);
      await finish(seen);
    }
  }

  function launch(run: (onEvent: OnReleaseEvent) => Promise<ReleaseRecord>): Promise<Launched> {
    return new Promise<Launched>((resolve, reject) => {
      let id: string | undefined;
      const ended = run((event) => {
        if (id !== undefined) return;
        id = event.release;
        resolve({ release: id, ended });
      });
      ended.catch((error: unknown) => {
        if (id === undefined) reject(error);
      });
    });
  }

  const runner: ReleaseRunner = Object.assign(Object.create(engine) as ReleaseEngine, {
    engine,
    identity: engine.identity,

    subscribe(listener: ReleaseListener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    async apply(plan: ReleasePlan, o: ApplyOptions = {}): Promise<ReleaseRecord> {
      const claimed = await claimDelivery(api, {
        namespace: plan.namespace,
        environment: plan.environment,
        digest: plan.payloadDigest,
        signal: o.signal ?? new AbortController().signal,
        get: (release) => engine.get(release, plan.namespace),
        history: () => engine.history(plan.environment, plan.namespace),
      });
      if (claimed.kind !== "claimed")
        throw new ReleaseError(
          "LOCKED",
          `the same payload is already being released in environment "${plan.environment}"${claimed.kind === "duplicate" ? ` as release ${claimed.release}` : ""}; follow that release instead of starting it again`,
          {
            environment: plan.environment,
            ...(claimed.kind === "duplicate" ? { holder: claimed.release, release: claimed.release } : {}),
          },
        );
      return runClaimed(plan, o, claimed);
    },

    async deploy(plan: ReleasePlan, o: DeployOptions = {}): Promise<DeployOutcome> {
      const { key, claimSignal, ...apply } = o;
      const claimed = await claimDelivery(api, {
        namespace: plan.namespace,
        environment: plan.environment,
        digest: plan.payloadDigest,
        ...(key ? { key } : {}),
        signal: claimSignal ?? o.signal ?? new AbortController().signal,
        get: (release) => engine.get(release, plan.namespace),
        history: () => engine.history(plan.environment, plan.namespace),
      });
      if (claimed.kind === "key-reused")
        return {
          kind: "key-reused",
          message: "this Idempotency-Key was already used with another payload; send a new key for a new release",
        };
      if (claimed.kind === "duplicate")
        return { kind: "accepted", release: claimed.release, duplicate: true, ended: undefined };
      // Answered once the claim names the release, so a retry landing anywhere finds it.
      const launched = await new Promise<Launched>((resolve, reject) => {
        let id: string | undefined;
        const ended = runClaimed(plan, apply, claimed, (release) => {
          id = release;
          resolve({ release, ended });
        });
        ended.catch((error: unknown) => {
          if (id === undefined) reject(error);
        });
      });
      return { kind: "accepted", release: launched.release, duplicate: false, ended: launched.ended };
    },

    async rollback(release: string, o: Parameters<ReleaseEngine["rollback"]>[1] = {}): Promise<ReleaseRecord> {
      const ns = o.namespace ?? api.namespace;
      const seen = new Set<string>();
      try {
        return await engine.rollback(release, {
          ...o,
          onEvent: recording(ns, seen, o.onEvent, () => ({ rollbackOf: release })),
        });
      } finally {
        await finish(seen);
      }
    },

    async recover(environment: string, o: RecoverOptions = {}): Promise<ReleaseRecord[]> {
      const ns = o.namespace ?? api.namespace;
      // What the records say that the events do not: a resumed rollback is still a rollback.
      const contexts = new Map<string, RunContext>();
      for (const r of await engine.history(environment, ns))
        if (!isTerminal(r)) contexts.set(r.id, r.rollbackOf ? { rollbackOf: r.rollbackOf } : {});
      const seen = new Set<string>();
      let done: ReleaseRecord[] = [];
      try {
        done = await engine.recover(environment, {
          ...o,
          onEvent: recording(ns, seen, o.onEvent, (id) => contexts.get(id) ?? {}),
        });
        return done;
      } finally {
        const ended = new Set(done.filter(isTerminal).map((r) => r.id));
        await finish(ended);
        await flush([...seen].filter((id) => !ended.has(id)));
      }
    },

    launch,

    async recoverEvery(places: RecoveryPlace[], loop: RecoveryLoopOptions): Promise<void> {
      await Promise.all(
        places.map(async (place) => {
          while (!loop.signal.aborted) {
            try {
              const done = await runner.recover(place.name, {
                namespace: place.namespace,
                policy: "resume",
                ...(loop.runSignal ? { signal: loop.runSignal } : {}),
              });
              for (const record of done) loop.onRecovered?.(record, place);
            } catch (error) {
              if (!loop.signal.aborted) loop.onError?.(error, place);
            }
            await sleep(clock, loop.intervalMs, loop.signal);
          }
        }),
      );
    },

    readEvents: (namespace: string, release: string, signal?: AbortSignal) =>
      readEventLog(api, namespace, release, signal),
    followEvents: (namespace: string, release: string, signal: AbortSignal) =>
      followEventLog(api, namespace, release, signal),
  });
  return runner;
}

function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = clock.setTimer(ms, done);
    function done() {
      timer.cancel();
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
