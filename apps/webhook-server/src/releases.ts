/**
 * The server's adapter of @rollway/release's release runner: releases start in the background and the HTTP answer
 * goes out once they are accepted; each run's end is counted in the metrics; recovery runs on every replica. The
 * lifecycle itself (event log, Idempotency-Key and payload claims, takeover) is the package's, the same as for the
 * CLI and the Action.
 */
import {
  type Environment,
  ReleaseError,
  type ReleasePlan,
  type ReleaseRecord,
  type ReleaseRunner,
} from "@rollway/release";
import type { Logger } from "pino";
import type { Metrics } from "./metrics.js";

const TERMINAL = new Set(["promoted", "aborted", "failed", "rolled-back"]);
export const isTerminal = (state: string): boolean => TERMINAL.has(state);

export type DeployOutcome =
  | { kind: "accepted"; release: string; duplicate: boolean }
  | { kind: "locked"; running: string | undefined; message: string }
  | { kind: "key-reused"; message: string };

export interface ReleasesOptions {
  runner: ReleaseRunner;
  logger: Logger;
  metrics: Metrics;
  leaseDurationSeconds: number;
}

export class Releases {
  readonly #o: ReleasesOptions;
  /** Releases this replica runs: settled promises are removed. */
  readonly #running = new Set<Promise<unknown>>();
  readonly #stop = new AbortController();
  /** Aborting this rolls back what this replica runs (tests and the demo); a real replica hands over instead. */
  readonly #cancel = new AbortController();

  constructor(options: ReleasesOptions) {
    this.#o = options;
    options.runner.subscribe((event) =>
      options.logger.info({ release: event.release, event: event.type, component: event.component }, event.message),
    );
  }

  get engine(): ReleaseRunner {
    return this.#o.runner;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  #track(environment: string, ended: Promise<ReleaseRecord>, release: string): void {
    const tracked = ended.then(
      (done) => this.#count(done, environment, "promoted"),
      (error: unknown) => {
        const code = error instanceof ReleaseError ? error.code.toLowerCase() : "error";
        this.#count(undefined, environment, code === "aborted" ? "aborted" : "failed");
        if (!(error instanceof ReleaseError)) this.#o.logger.error({ release, err: String(error) }, "release");
      },
    );
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
  }

  #count(record: ReleaseRecord | undefined, environment: string, outcome: string): void {
    this.#o.metrics.releases.inc({ environment, outcome });
    if (record && outcome === "promoted" && record.finishedAt) {
      const seconds = (Date.parse(record.finishedAt) - Date.parse(record.startedAt)) / 1000;
      if (Number.isFinite(seconds)) this.#o.metrics.timeToPromote.observe({ environment }, seconds);
    }
  }

  /** A deploy: the same delivery (Idempotency-Key, else the payload of a release still running) is the same release. */
  async deploy(input: {
    project: string;
    environment: Environment;
    urlEnvironment: string;
    plan: ReleasePlan;
    key: string | undefined;
    queue: boolean;
    signal: AbortSignal;
  }): Promise<DeployOutcome> {
    const { key, project, urlEnvironment } = input;
    try {
      const outcome = await this.#o.runner.deploy(input.plan, {
        ...(key ? { key: { scope: project, environment: urlEnvironment, value: key } } : {}),
        waitForLock: input.queue,
        signal: this.#cancel.signal,
        claimSignal: input.signal,
      });
      if (outcome.kind === "key-reused") return outcome;
      if (outcome.ended) this.#track(input.environment.name, outcome.ended, outcome.release);
      return { kind: "accepted", release: outcome.release, duplicate: outcome.duplicate };
    } catch (error) {
      if (error instanceof ReleaseError && error.code === "LOCKED") {
        this.#count(undefined, input.environment.name, "locked");
        return { kind: "locked", running: error.holder, message: error.message };
      }
      throw error;
    }
  }

  /** Rolls a promoted release back, as a new release; resolves with that release's id once it started. */
  async rollback(namespace: string, environment: string, release: string, by: string): Promise<string> {
    const runner = this.#o.runner;
    const launched = await runner.launch((onEvent) =>
      runner.rollback(release, { namespace, by, onEvent, waitForLock: true, signal: this.#cancel.signal }),
    );
    this.#track(environment, launched.ended, launched.release);
    return launched.release;
  }

  /** Takes over the releases of these environments whose engine died (a replica that stopped), on every replica. */
  startRecovery(places: { name: string; namespace: string }[]): void {
    const loop = this.#o.runner.recoverEvery(places, {
      intervalMs: this.#o.leaseDurationSeconds * 1000,
      signal: this.#stop.signal,
      runSignal: this.#cancel.signal,
      onRecovered: (record, place) => this.#count(record, place.name, record.state),
      onError: (error, place) =>
        this.#o.logger.warn({ environment: place.name, err: (error as Error).message }, "recovery"),
    });
    this.#running.add(loop);
    void loop.finally(() => this.#running.delete(loop));
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
