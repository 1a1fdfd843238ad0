/**
 * One watch per release, however many browsers follow it: the dashboard's live pages subscribe here, and the first
 * subscriber of a release starts reading its event log from the cluster, the last one to leave stops it. Two hundred
 * open pages cost two hundred small subscriber records, not two hundred watches on the API server.
 */
import type { StoredEvent } from "../cluster-state.js";
import type { DashboardData } from "./data.js";

export interface Subscriber {
  /** Events after this position are sent. */
  sent: number;
  send(event: StoredEvent): void;
  /** The log is complete: no event will follow. */
  done(): void;
}

interface Topic {
  events: StoredEvent[];
  done: boolean;
  subscribers: Set<Subscriber>;
  stop: AbortController;
}

export class LiveHub {
  readonly #topics = new Map<string, Topic>();

  constructor(
    readonly data: DashboardData,
    readonly onError: (release: string, error: unknown) => void,
  ) {}

  get topics(): number {
    return this.#topics.size;
  }

  /** Follows a release; returns the unsubscribe function. */
  subscribe(namespace: string, release: string, subscriber: Subscriber): () => void {
    const key = `${namespace}/${release}`;
    let topic = this.#topics.get(key);
    if (!topic) {
      const created: Topic = { events: [], done: false, subscribers: new Set(), stop: new AbortController() };
      topic = created;
      this.#topics.set(key, created);
      void this.#follow(namespace, release, created).finally(() => {
        if (this.#topics.get(key) === created) this.#topics.delete(key);
      });
    }
    const t = topic;
    t.subscribers.add(subscriber);
    for (const event of t.events) this.#deliver(subscriber, event);
    if (t.done) subscriber.done();
    return () => {
      t.subscribers.delete(subscriber);
      if (t.subscribers.size === 0) {
        t.stop.abort();
        if (this.#topics.get(key) === t) this.#topics.delete(key);
      }
    };
  }

  #deliver(subscriber: Subscriber, event: StoredEvent): void {
    if (event.seq <= subscriber.sent) return;
    subscriber.sent = event.seq;
    subscriber.send(event);
  }

  #publish(topic: Topic, events: StoredEvent[], done: boolean): void {
    const known = topic.events.at(-1)?.seq ?? 0;
    const fresh = events.filter((e) => e.seq > known);
    topic.events.push(...fresh);
    for (const s of topic.subscribers) for (const e of fresh) this.#deliver(s, e);
    if (done && !topic.done) {
      topic.done = true;
      for (const s of topic.subscribers) s.done();
    }
  }

  async #follow(namespace: string, release: string, topic: Topic): Promise<void> {
    const signal = AbortSignal.any([topic.stop.signal, this.data.stopping]);
    try {
      const log = await this.data.events(namespace, release);
      if (log) this.#publish(topic, log.events, log.done);
      let from = log?.resourceVersion;
      while (!topic.done && !signal.aborted) {
        for await (const next of this.data.watchEvents(namespace, release, from, signal)) {
          this.#publish(topic, next.events, next.done);
          from = next.resourceVersion;
          if (next.done) return;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      this.onError(release, error);
      // The pages reload and read again (their stream says "end").
      for (const s of topic.subscribers) s.done();
    }
  }
}
