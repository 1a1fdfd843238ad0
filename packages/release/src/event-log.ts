/**
 * The event log of a release, kept in the cluster beside its record: every engine event in order, numbered (`seq`,
 * the SSE id a client resumes from with Last-Event-ID), and `done` once the engine that ran it returned. Written by
 * whichever process runs the release (server, CLI, Action: see release-runner.ts), so any of them can replay or
 * follow it. One ConfigMap per release.
 */

import type { Connection } from "@rollway/rollout-client";
import { followConfigMap, getConfigMap, MANAGED_BY, type SmallConfigMap, updateConfigMap } from "./config-map-store.js";
import { ReleaseError } from "./errors.js";
import type { ReleaseEvent } from "./events.js";

export const LABEL_EVENTS_OF = "rollway.dev/events-of";
export const EVENTS_DATA_KEY = "events.json";
export const eventLogName = (release: string): string => `rollway-events-${release}`.slice(0, 253);

/** One event of a release as stored and streamed: the engine's event with its position (the SSE id). */
export interface StoredEvent extends ReleaseEvent {
  seq: number;
}

export interface EventLog {
  events: StoredEvent[];
  /** The engine that ran the release returned: no event will follow. */
  done: boolean;
  resourceVersion: string | undefined;
}

/** Appends events (in order) to a release's log, numbering them; `done` closes the log. */
export async function appendEvents(
  api: Connection,
  ns: string,
  release: string,
  events: ReleaseEvent[],
  done = false,
): Promise<void> {
  await updateConfigMap(api, ns, eventLogName(release), (cm) => {
    const log = cm ? parseEventLog(cm) : { events: [], done: false, resourceVersion: undefined };
    if (events.length === 0 && (log.done || !done) && cm) return undefined;
    let seq = log.events.at(-1)?.seq ?? 0;
    const all = [...log.events, ...events.map((e) => ({ ...e, seq: ++seq }))];
    return {
      metadata: { name: eventLogName(release), labels: { ...MANAGED_BY, [LABEL_EVENTS_OF]: release } },
      data: { [EVENTS_DATA_KEY]: JSON.stringify(all), ...(done || log.done ? { done: "true" } : {}) },
    };
  });
}

export async function readEventLog(
  api: Connection,
  ns: string,
  release: string,
  signal?: AbortSignal,
): Promise<EventLog | undefined> {
  const cm = await getConfigMap(api, ns, eventLogName(release), signal);
  return cm ? parseEventLog(cm) : undefined;
}

/**
 * The log as it grows: its current version (when it exists), then every later one, through rollout-client's one
 * list-then-watch (relists on 410). Ends after the version marked `done`, or when the signal aborts.
 */
export async function* followEventLog(
  api: Connection,
  ns: string,
  release: string,
  signal: AbortSignal,
): AsyncIterable<EventLog> {
  for await (const cm of followConfigMap(api, ns, eventLogName(release), signal)) {
    if (!cm) continue;
    const log = parseEventLog(cm);
    yield log;
    if (log.done) return;
  }
}

export function parseEventLog(cm: SmallConfigMap): EventLog {
  let events: StoredEvent[] = [];
  try {
    events = JSON.parse(cm.data?.[EVENTS_DATA_KEY] ?? "[]") as StoredEvent[];
  } catch (cause) {
    throw new ReleaseError("CLUSTER", `ConfigMap "${cm.metadata.name}" holds no valid ${EVENTS_DATA_KEY}; delete it`, {
      resource: `ConfigMap "${cm.metadata.name}"`,
      cause,
    });
  }
  return { events, done: cm.data?.done === "true", resourceVersion: cm.metadata.resourceVersion };
}

/**
 * Appends one release's events to its log, in order, batching what arrives during a write, so the engine never
 * waits for the cluster. A write that fails is reported (`onError`) and the events are kept for the next write.
 */
export class EventLogWriter {
  readonly #pending: ReleaseEvent[] = [];
  #finishing = false;
  #flushing: Promise<void> | undefined;

  constructor(
    readonly api: Connection,
    readonly namespace: string,
    readonly release: string,
    readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  push(event: ReleaseEvent): void {
    this.#pending.push(event);
    void this.#kick();
  }

  /** Marks the log done (no event follows) once every pending event is written. */
  finish(): Promise<void> {
    this.#finishing = true;
    return this.#kick();
  }

  /** Resolves once what was pushed so far is written (or its write failed). */
  flushed(): Promise<void> {
    return this.#flushing ?? Promise.resolve();
  }

  #kick(): Promise<void> {
    this.#flushing ??= (async () => {
      try {
        while (this.#pending.length > 0 || this.#finishing) {
          const batch = this.#pending.slice();
          const done = this.#finishing;
          try {
            await appendEvents(this.api, this.namespace, this.release, batch, done);
          } catch (error) {
            this.onError(error);
            return; // kept in #pending: the next push or finish tries again
          }
          this.#pending.splice(0, batch.length);
          if (done && this.#pending.length === 0) {
            this.#finishing = false;
            return;
          }
        }
      } finally {
        this.#flushing = undefined;
      }
    })();
    return this.#flushing;
  }
}
