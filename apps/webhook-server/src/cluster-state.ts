/**
 * What the server keeps in the cluster beside the release engine's records, so that every replica sees the same
 * thing and a restart loses nothing: the events of each release (for SSE with Last-Event-ID), the Idempotency-Key of
 * each accepted delivery, and Flagger gates. Each is a ConfigMap, written with its resourceVersion (a 409 reads
 * again), created with POST (a 409 AlreadyExists means another replica got there first).
 */
import { createHash } from "node:crypto";
import { type KubeApi, ReleaseError, type ReleaseEvent } from "@rollway/release";
import { hasHttpStatus } from "@rollway/rollout-client";

const MANAGED_BY = { "app.kubernetes.io/managed-by": "rollway" };
const LABEL_EVENTS_OF = "rollway.dev/events-of";
const LABEL_IDEMPOTENCY = "rollway.dev/idempotency-environment";
const LABEL_GATE = "rollway.dev/flagger-gate";

/** API paths, named here so a reader sees what reaches the cluster. */
const paths = {
  configMaps: (ns: string) => `/api/v1/namespaces/${ns}/configmaps`,
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
};

export const eventsName = (release: string) => `rollway-events-${release}`.slice(0, 253);
const hashed = (prefix: string, ...parts: string[]) =>
  `${prefix}-${createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 40)}`;
export const idempotencyName = (project: string, environment: string, key: string) =>
  hashed("rollway-idempotency", project, environment, key);
export const gateName = (kind: GateKind, name: string, namespace: string) =>
  hashed("rollway-gate", kind, name, namespace);

export type GateKind = "gate" | "rollback";

interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** The cluster answered this HTTP status, whichever path the request took (rollout-client's one error class). */
export const isStatus = (error: unknown, status: number): boolean => hasHttpStatus(error, status);

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

export interface IdempotencyClaim {
  digest: string;
  /** Absent while the replica that claimed the key is still starting the release. */
  release?: string;
}

export class ClusterState {
  constructor(readonly api: KubeApi) {}

  async #get(ns: string, name: string, signal?: AbortSignal): Promise<ConfigMap | undefined> {
    try {
      return await this.api.request<ConfigMap>({
        method: "GET",
        path: paths.configMap(ns, name),
        what: `ConfigMap "${name}"`,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async #create(ns: string, cm: ConfigMap): Promise<boolean> {
    try {
      await this.api.request({
        method: "POST",
        path: paths.configMaps(ns),
        body: { apiVersion: "v1", kind: "ConfigMap", ...cm },
        what: `ConfigMap "${cm.metadata.name}"`,
      });
      return true;
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
  }

  /** Read-modify-write; `change` returns undefined to leave the object alone. Creates it when absent. */
  async #update(ns: string, name: string, change: (cm: ConfigMap | undefined) => ConfigMap | undefined) {
    for (let attempt = 0; ; attempt++) {
      const current = await this.#get(ns, name);
      const next = change(current);
      if (!next) return;
      try {
        if (!current) {
          if (await this.#create(ns, next)) return;
        } else {
          await this.api.request({
            method: "PUT",
            path: paths.configMap(ns, name),
            body: {
              apiVersion: "v1",
              kind: "ConfigMap",
              ...next,
              metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion },
            },
            what: `ConfigMap "${name}"`,
          });
          return;
        }
      } catch (error) {
        if (!isStatus(error, 409) || attempt >= 20) throw error;
      }
    }
  }

  async #delete(ns: string, name: string): Promise<void> {
    try {
      await this.api.request({ method: "DELETE", path: paths.configMap(ns, name), what: `ConfigMap "${name}"` });
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }

  // --- release events ---

  /** Appends events (in order) to a release's log, numbering them. */
  async appendEvents(ns: string, release: string, events: ReleaseEvent[], done = false): Promise<void> {
    await this.#update(ns, eventsName(release), (cm) => {
      const log = cm ? parseLog(cm) : { events: [], done: false, resourceVersion: undefined };
      let seq = log.events.at(-1)?.seq ?? 0;
      const all = [...log.events, ...events.map((e) => ({ ...e, seq: ++seq }))];
      return {
        metadata: { name: eventsName(release), labels: { ...MANAGED_BY, [LABEL_EVENTS_OF]: release } },
        data: { "events.json": JSON.stringify(all), ...(done || log.done ? { done: "true" } : {}) },
      };
    });
  }

  async readEvents(ns: string, release: string, signal?: AbortSignal): Promise<EventLog | undefined> {
    const cm = await this.#get(ns, eventsName(release), signal);
    return cm ? parseLog(cm) : undefined;
  }

  /** Every later version of a release's event log, until the signal aborts or the server ends the watch. */
  async *watchEvents(
    ns: string,
    release: string,
    resourceVersion: string | undefined,
    signal: AbortSignal,
  ): AsyncIterable<EventLog> {
    const name = eventsName(release);
    for await (const event of this.api.watch<ConfigMap>(
      paths.configMaps(ns),
      { fieldSelector: `metadata.name=${name}`, resourceVersion },
      `ConfigMap "${name}"`,
      signal,
    )) {
      if (event.type === "ADDED" || event.type === "MODIFIED") yield parseLog(event.object);
    }
  }

  // --- idempotency ---

  /**
   * Claims an Idempotency-Key for a payload digest: true when this call made the claim, else the claim that exists
   * (another delivery of the key, perhaps on another replica).
   */
  async claimKey(
    ns: string,
    project: string,
    environment: string,
    key: string,
    digest: string,
  ): Promise<true | IdempotencyClaim> {
    const name = idempotencyName(project, environment, key);
    const made = await this.#create(ns, {
      metadata: { name, labels: { ...MANAGED_BY, [LABEL_IDEMPOTENCY]: environment } },
      data: { digest },
    });
    if (made) return true;
    const cm = await this.#get(ns, name);
    if (!cm) return this.claimKey(ns, project, environment, key, digest);
    return claimOf(cm);
  }

  async completeKey(ns: string, project: string, environment: string, key: string, release: string) {
    await this.#update(ns, idempotencyName(project, environment, key), (cm) =>
      cm ? { metadata: cm.metadata, data: { ...cm.data, release } } : undefined,
    );
  }

  /** The release could not start: the key is free for the next delivery. */
  releaseKey(ns: string, project: string, environment: string, key: string): Promise<void> {
    return this.#delete(ns, idempotencyName(project, environment, key));
  }

  /** Waits for the replica that claimed the key to record its release (or to give the key up: undefined). */
  async waitForKey(
    ns: string,
    project: string,
    environment: string,
    key: string,
    signal: AbortSignal,
  ): Promise<IdempotencyClaim | undefined> {
    const name = idempotencyName(project, environment, key);
    for (;;) {
      const cm = await this.#get(ns, name, signal);
      if (!cm) return undefined;
      const claim = claimOf(cm);
      if (claim.release) return claim;
      for await (const event of this.api.watch<ConfigMap>(
        paths.configMaps(ns),
        { fieldSelector: `metadata.name=${name}`, resourceVersion: cm.metadata.resourceVersion },
        `ConfigMap "${name}"`,
        signal,
      )) {
        if (event.type === "DELETED") return undefined;
        const next = claimOf(event.object);
        if (next.release) return next;
      }
    }
  }

  // --- Flagger gates ---

  async isGateOpen(kind: GateKind, name: string, namespace: string): Promise<boolean> {
    return (await this.#get(namespace, gateName(kind, name, namespace))) !== undefined;
  }

  async setGate(kind: GateKind, name: string, namespace: string, open: boolean): Promise<void> {
    const cmName = gateName(kind, name, namespace);
    if (!open) return this.#delete(namespace, cmName);
    await this.#create(namespace, {
      metadata: { name: cmName, labels: { ...MANAGED_BY, [LABEL_GATE]: kind } },
      data: { kind, canary: name, namespace },
    });
  }
}

function parseLog(cm: ConfigMap): EventLog {
  let events: StoredEvent[] = [];
  try {
    events = JSON.parse(cm.data?.["events.json"] ?? "[]") as StoredEvent[];
  } catch (cause) {
    throw new ReleaseError("CLUSTER", `ConfigMap "${cm.metadata.name}" holds no valid events.json; delete it`, {
      resource: `ConfigMap "${cm.metadata.name}"`,
      cause,
    });
  }
  return { events, done: cm.data?.done === "true", resourceVersion: cm.metadata.resourceVersion };
}

const claimOf = (cm: ConfigMap): IdempotencyClaim => ({
  digest: cm.data?.digest ?? "",
  ...(cm.data?.release ? { release: cm.data.release } : {}),
});
