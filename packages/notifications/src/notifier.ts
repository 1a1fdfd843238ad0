/**
 * The notifier: a subscriber of release events that never makes the release wait. `notify()` only queues; a few
 * workers claim each notification in the cluster (never twice across replicas), send it, retry 429/5xx/timeouts with
 * exponential backoff and jitter (honouring Retry-After, bounded), and give up after `maxAttempts` with a metric and
 * a log line. Logs name the destination and the outcome, never a URL, a key or a password.
 */
import type { ReleaseEvent } from "@rollway/release";
import type { Connection } from "@rollway/rollout-client";
import { Claims } from "./claim.js";
import type { NotificationEvent, NotificationsConfig } from "./config.js";
import { NotificationError } from "./errors.js";
import { Secrets } from "./secrets.js";
import { attempt, type Message } from "./send.js";
import { DEFAULT_TEMPLATES, type EventContext, render, trigger } from "./templates.js";

export type Outcome = "sent" | "gave-up" | "duplicate" | "dropped";

export interface OutcomeReport {
  destination: string;
  type: string;
  event: NotificationEvent;
  release: string;
  outcome: Outcome;
  attempts: number;
  /** For gave-up: the last failure (an HTTP status, "timed out", an SMTP code), never a secret. */
  reason?: string;
}

export interface NotifierLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface NotifierOptions {
  config: NotificationsConfig;
  /** The environment's namespace: claims and Secrets live there. */
  namespace: string;
  /** The cluster: claims (never twice across replicas) and Secret references. Without it, files only, no claims. */
  api?: Connection;
  /** This replica's name on its claims. */
  holder: string;
  logger?: NotifierLogger;
  /** Called once per notification and destination as it ends (metrics). */
  onOutcome?: (report: OutcomeReport) => void;
  concurrency?: number;
  /** Queued notifications kept at most; beyond, the oldest is dropped (with a report). */
  queueLimit?: number;
  /** A claim still `claimed` after this long is taken over (its replica died before it finished). Default 5 min. */
  staleAfterMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

interface Job {
  destination: string;
  key: string;
  event: NotificationEvent;
  release: string;
  message: Message;
}

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #queue: Job[] = [];
  readonly #secrets: Secrets;
  readonly #claims: Claims | undefined;
  /** Keys this process already took (without a cluster, the only guard against a replayed event). */
  readonly #seen = new Set<string>();
  readonly #stop = new AbortController();
  #workers = 0;
  #idle: (() => void)[] = [];

  constructor(options: NotifierOptions) {
    this.#o = options;
    const now = options.now ?? Date.now;
    this.#secrets = new Secrets(options.api, options.namespace, now);
    this.#claims = options.api
      ? new Claims(options.api, options.namespace, options.holder, {
          staleAfterMs: options.staleAfterMs ?? 5 * 60_000,
          now,
        })
      : undefined;
  }

  /** Queues what this release event triggers; returns at once and never throws. */
  notify(event: ReleaseEvent, context: EventContext = {}): void {
    if (this.#stop.signal.aborted || event.environment !== this.#o.config.environment) return;
    const triggered = trigger(event, context);
    if (!triggered) return;
    const { config } = this.#o;
    const template = config.templates[triggered.event] ?? DEFAULT_TEMPLATES[triggered.event];
    const text = render(template, triggered.variables);
    const destinations = new Set(
      config.subscriptions.filter((s) => s.on.includes(triggered.event)).flatMap((s) => s.to),
    );
    for (const destination of destinations) {
      const seen = `${triggered.key}\n${destination}`;
      if (this.#seen.has(seen)) continue;
      this.#seen.add(seen);
      this.#queue.push({
        destination,
        key: triggered.key,
        event: triggered.event,
        release: event.release,
        message: {
          ...text,
          event: triggered.event,
          variables: triggered.variables,
          deliveryId: triggered.key.replace(/[^A-Za-z0-9._-]/g, "."),
        },
      });
    }
    const limit = this.#o.queueLimit ?? 1000;
    while (this.#queue.length > limit) {
      const dropped = this.#queue.shift() as Job;
      this.#report(dropped, "dropped", 0, "queue full");
    }
    this.#kick();
  }

  /** Notifications waiting or being sent. */
  get pending(): number {
    return this.#queue.length + this.#workers;
  }

  /** Resolves once nothing is queued or being sent. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops: retries waiting are cut short and given up; nothing new is queued. */
  close(): Promise<void> {
    this.#stop.abort();
    return this.idle();
  }

  #kick(): void {
    const concurrency = this.#o.concurrency ?? 4;
    while (this.#workers < concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift() as Job;
      this.#workers++;
      void this.#deliver(job)
        .catch((error: unknown) => {
          this.#o.logger?.warn(
            { destination: job.destination, event: job.event, release: job.release, code: codeOf(error) },
            "notification not sent",
          );
          this.#report(job, "gave-up", 0, codeOf(error));
        })
        .finally(() => {
          this.#workers--;
          this.#kick();
          if (this.pending === 0) for (const resolve of this.#idle.splice(0)) resolve();
        });
    }
  }

  async #deliver(job: Job): Promise<void> {
    const { config } = this.#o;
    const destination = config.destinations[job.destination];
    if (!destination) return;
    if (this.#claims && !(await this.#claims.claim(job.key, job.destination, job.release))) {
      this.#report(job, "duplicate", 0);
      return;
    }
    const { maxAttempts, backoffMs, maxBackoffMs, attemptTimeoutMs } = config.delivery;
    const sleep = this.#o.sleep ?? defaultSleep;
    const random = this.#o.random ?? Math.random;
    let reason = "";
    let attempts = 0;
    while (attempts < maxAttempts && !this.#stop.signal.aborted) {
      attempts++;
      const signal = AbortSignal.any([AbortSignal.timeout(attemptTimeoutMs), this.#stop.signal]);
      const result = await attempt(destination, job.message, this.#secrets, `destinations.${job.destination}`, signal);
      if (result.ok) {
        await this.#finish(job, "sent", attempts);
        this.#o.logger?.info(
          { destination: job.destination, type: destination.type, event: job.event, release: job.release, attempts },
          "notification sent",
        );
        this.#report(job, "sent", attempts);
        return;
      }
      reason = result.reason;
      if (!result.retry || attempts >= maxAttempts) break;
      const backoff = Math.min(maxBackoffMs, backoffMs * 2 ** (attempts - 1)) * (0.5 + random() / 2);
      await sleep(Math.min(maxBackoffMs, result.retryAfterMs ?? backoff), this.#stop.signal);
    }
    await this.#finish(job, "gave-up", attempts);
    this.#o.logger?.warn(
      {
        destination: job.destination,
        type: destination.type,
        event: job.event,
        release: job.release,
        attempts,
        reason,
      },
      "notification given up",
    );
    this.#report(job, "gave-up", attempts, reason);
  }

  async #finish(job: Job, state: "sent" | "gave-up", attempts: number): Promise<void> {
    await this.#claims?.finish(job.key, job.destination, state, attempts).catch((error: unknown) => {
      this.#o.logger?.warn({ destination: job.destination, code: codeOf(error) }, "notification claim not updated");
    });
  }

  #report(job: Job, outcome: Outcome, attempts: number, reason?: string): void {
    const type = this.#o.config.destinations[job.destination]?.type ?? "unknown";
    this.#o.onOutcome?.({
      destination: job.destination,
      type,
      event: job.event,
      release: job.release,
      outcome,
      attempts,
      ...(reason ? { reason } : {}),
    });
  }
}

const codeOf = (error: unknown): string =>
  error instanceof NotificationError ? error.code : ((error as { code?: string }).code ?? "ERROR");

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
