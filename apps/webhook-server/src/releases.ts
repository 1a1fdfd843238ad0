/**
 * The server's side of releases, between the HTTP routes and the release engine: starts a release in the
 * background and answers as soon as it is accepted, makes a retried delivery the same release (Idempotency-Key and
 * payload digest, kept in the cluster), writes every engine event to the cluster for SSE, and resumes releases
 * whose engine died (a replica that stopped), on every replica.
 */
import {
  type Environment,
  type ReleaseEngine,
  ReleaseError,
  type ReleaseEvent,
  type ReleasePlan,
  type ReleaseRecord,
} from "@rollway/release";
import type { Logger } from "pino";
import type { ClusterState } from "./cluster-state.js";
import type { Metrics } from "./metrics.js";

const TERMINAL = new Set(["promoted", "aborted", "failed", "rolled-back"]);
export const isTerminal = (state: string): boolean => TERMINAL.has(state);

export type DeployOutcome =
  | { kind: "accepted"; release: string; duplicate: boolean }
  | { kind: "locked"; running: string | undefined; message: string }
  | { kind: "key-reused"; message: string };

/** Appends a release's events to its log in the cluster, in order, batching what arrives during a write. */
class EventWriter {
  readonly #pending: ReleaseEvent[] = [];
  #finishing = false;
  #flushing: Promise<void> | undefined;

  constructor(
    readonly state: ClusterState,
    readonly namespace: string,
    readonly release: string,
    readonly logger: Logger,
  ) {}

  push(event: ReleaseEvent): void {
    this.#pending.push(event);
    this.#kick();
  }

  /** Marks the log done (no event follows) once every pending event is written. */
  finish(): Promise<void> {
    this.#finishing = true;
    return this.#kick();
  }

  #kick(): Promise<void> {
    this.#flushing ??= (async () => {
      try {
        while (this.#pending.length > 0 || this.#finishing) {
          const batch = this.#pending.splice(0);
          const done = this.#finishing;
          await this.state.appendEvents(this.namespace, this.release, batch, done);
          if (done && this.#pending.length === 0) return;
        }
      } catch (error) {
        this.logger.warn({ release: this.release, err: (error as Error).message }, "events not recorded");
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }
}

export interface ReleasesOptions {
  engine: ReleaseEngine;
  state: ClusterState;
  logger: Logger;
  metrics: Metrics;
  leaseDurationSeconds: number;
}

export class Releases {
  readonly #o: ReleasesOptions;
  readonly #writers = new Map<string, EventWriter>();
  /** Releases this replica runs: settled promises are removed. */
  readonly #running = new Set<Promise<unknown>>();
  readonly #stop = new AbortController();
  /** Aborting this rolls back what this replica runs (tests and the demo); a real replica hands over instead. */
  readonly #cancel = new AbortController();

  constructor(options: ReleasesOptions) {
    this.#o = options;
  }

  get engine(): ReleaseEngine {
    return this.#o.engine;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  #writer(namespace: string, release: string): EventWriter {
    let w = this.#writers.get(release);
    if (!w) {
      w = new EventWriter(this.#o.state, namespace, release, this.#o.logger);
      this.#writers.set(release, w);
    }
    return w;
  }

  #onEvent = (namespace: string) => (event: ReleaseEvent) => {
    this.#writer(namespace, event.release).push(event);
    this.#o.logger.info({ release: event.release, event: event.type, component: event.component }, event.message);
  };

  async #finishEvents(release: string): Promise<void> {
    const w = this.#writers.get(release);
    this.#writers.delete(release);
    await w?.finish();
  }

  #count(record: ReleaseRecord | undefined, environment: string, outcome: string): void {
    this.#o.metrics.releases.inc({ environment, outcome });
    if (record && outcome === "promoted" && record.finishedAt) {
      const seconds = (Date.parse(record.finishedAt) - Date.parse(record.startedAt)) / 1000;
      if (Number.isFinite(seconds)) this.#o.metrics.timeToPromote.observe({ environment }, seconds);
    }
  }

  /**
   * Starts a release in the background; resolves with its id once the engine has accepted it (holds the Lease, or
   * waits for it), or rejects with the engine's error (LOCKED, INVALID_PLAN, CLUSTER) when it never started.
   */
  #launch(
    namespace: string,
    environment: string,
    start: (onEvent: (e: ReleaseEvent) => void, signal: AbortSignal) => Promise<ReleaseRecord>,
    /** Runs once the release has ended (whatever the outcome). */
    onEnd?: () => Promise<void>,
  ): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let id: string | undefined;
      const record = this.#onEvent(namespace);
      const run = start((event) => {
        record(event);
        if (!id) {
          id = event.release;
          resolve(id);
        }
      }, this.#cancel.signal);
      const tracked = run.then(
        async (done) => {
          this.#count(done, environment, "promoted");
          await this.#finishEvents(done.id);
        },
        async (error: unknown) => {
          if (!id) return reject(error);
          const code = error instanceof ReleaseError ? error.code.toLowerCase() : "error";
          this.#count(undefined, environment, code === "aborted" ? "aborted" : "failed");
          if (!(error instanceof ReleaseError)) this.#o.logger.error({ release: id, err: String(error) }, "release");
          await this.#finishEvents(id);
        },
      );
      const ended = tracked.then(() => (id ? onEnd?.().catch(() => undefined) : undefined));
      this.#running.add(ended);
      void ended.finally(() => this.#running.delete(ended));
    });
  }

  /**
   * A deploy: the same delivery (Idempotency-Key, else the digest of a release still running) is the same release.
   * `key` claims are kept in the cluster, so a retry landing on another replica finds them.
   */
  async deploy(input: {
    project: string;
    environment: Environment;
    urlEnvironment: string;
    plan: ReleasePlan;
    key: string | undefined;
    queue: boolean;
    signal: AbortSignal;
  }): Promise<DeployOutcome> {
    const { plan, environment: env, key, project, urlEnvironment } = input;
    const ns = env.namespace;
    const digestKey = `payload-digest:${plan.payloadDigest}`;
    const state = this.#o.state;
    if (key) {
      for (;;) {
        const claim = await state.claimKey(ns, project, urlEnvironment, key, plan.payloadDigest);
        if (claim === true) break;
        if (claim.digest !== plan.payloadDigest)
          return {
            kind: "key-reused",
            message: "this Idempotency-Key was already used with another payload; send a new key for a new release",
          };
        const done = claim.release ? claim : await state.waitForKey(ns, project, urlEnvironment, key, input.signal);
        if (done?.release) return { kind: "accepted", release: done.release, duplicate: true };
        // The replica that claimed it could not start the release: claim it again.
      }
    } else {
      // No Idempotency-Key: the payload digest is the key while its release runs, claimed atomically in the cluster
      // (a create that only one delivery wins), so two simultaneous deliveries are one release. A release of the same
      // payload started with a key is found in the history.
      const running = (await this.#o.engine.history(env.name, ns)).find(
        (r) => !isTerminal(r.state) && r.payloadDigest === plan.payloadDigest,
      );
      if (running) return { kind: "accepted", release: running.id, duplicate: true };
      for (;;) {
        const claim = await state.claimKey(ns, project, urlEnvironment, digestKey, plan.payloadDigest);
        if (claim === true) break;
        if (claim.release) {
          const running = await this.#o.engine.get(claim.release, ns).catch(() => undefined);
          if (running && !isTerminal(running.state)) return { kind: "accepted", release: running.id, duplicate: true };
          // Its release is over: the digest is free again for a new release of the same payload.
          await state.releaseKey(ns, project, urlEnvironment, digestKey).catch(() => undefined);
          continue;
        }
        const done = await state.waitForKey(ns, project, urlEnvironment, digestKey, input.signal);
        if (done?.release) return { kind: "accepted", release: done.release, duplicate: true };
      }
    }
    const claimed = key ?? digestKey;
    try {
      const release = await this.#launch(
        ns,
        env.name,
        (onEvent, signal) => this.#o.engine.apply(plan, { onEvent, waitForLock: input.queue, signal }),
        key ? undefined : () => state.releaseKey(ns, project, urlEnvironment, digestKey),
      );
      await state.completeKey(ns, project, urlEnvironment, claimed, release);
      return { kind: "accepted", release, duplicate: false };
    } catch (error) {
      await state.releaseKey(ns, project, urlEnvironment, claimed).catch(() => undefined);
      if (error instanceof ReleaseError && error.code === "LOCKED") {
        this.#count(undefined, env.name, "locked");
        return { kind: "locked", running: error.holder, message: error.message };
      }
      throw error;
    }
  }

  /** Rolls a promoted release back, as a new release; resolves with that release's id once it started. */
  rollback(namespace: string, environment: string, release: string, by: string): Promise<string> {
    return this.#launch(namespace, environment, (onEvent, signal) =>
      this.#o.engine.rollback(release, { namespace, by, onEvent, waitForLock: true, signal }),
    );
  }

  /**
   * Resumes the releases of these environments whose engine stopped renewing the Lease (a replica that died or
   * was stopped), now and every Lease duration: no event tells when a Lease expires.
   */
  startRecovery(places: { name: string; namespace: string }[]): void {
    for (const place of places) {
      const loop = (async () => {
        while (!this.#stop.signal.aborted) {
          try {
            const done = await this.#o.engine.recover(place.name, {
              namespace: place.namespace,
              policy: "resume",
              onEvent: this.#onEvent(place.namespace),
              signal: this.#cancel.signal,
            });
            for (const record of done) {
              this.#count(record, place.name, record.state === "promoted" ? "promoted" : record.state);
              await this.#finishEvents(record.id);
            }
          } catch (error) {
            if (!this.#stop.signal.aborted)
              this.#o.logger.warn({ environment: place.name, err: (error as Error).message }, "recovery");
          }
          await sleep(this.#o.leaseDurationSeconds * 1000, this.#stop.signal);
        }
      })();
      this.#running.add(loop);
      void loop.finally(() => this.#running.delete(loop));
    }
  }

  /**
   * Stops looking for releases to recover and waits, until the deadline, for the releases this replica runs. What
   * is still running then is handed over: its Lease expires and another replica resumes it. With `cancel`, they
   * are aborted back to stable instead (tests, the demo).
   */
  async stop(deadline: number, options: { cancel?: boolean } = {}): Promise<void> {
    this.#stop.abort();
    if (options.cancel) this.#cancel.abort();
    const all = Promise.allSettled([...this.#running]);
    await Promise.race([all, sleep(Math.max(0, deadline - Date.now()))]);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
