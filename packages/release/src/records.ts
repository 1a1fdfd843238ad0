/**
 * Release records: one ConfigMap per release, labelled with its environment and state, holding the release as
 * JSON (id, payload digest, plan, state, approvals, timestamps). Kept in the cluster so that status, history and
 * approvals survive any process, and any replica of the server, the CLI or the Action can read or approve.
 */

import { type AnyObject, type Connection, hasHttpStatus } from "@rollway/rollout-client";
import type { PodTemplate } from "./cluster-state.js";
import { ReleaseError } from "./errors.js";
import type { ApprovalGate } from "./events.js";
import { CONFIG_MAP } from "./kinds.js";
import type { ReleasePlan } from "./plan.js";

export const LABEL_RELEASE = "rollway.dev/release";
export const LABEL_RELEASE_ENVIRONMENT = "rollway.dev/environment";
export const LABEL_RELEASE_STATE = "rollway.dev/release-state";
export const RECORD_DATA_KEY = "release.json";

export type ReleaseState =
  | "applying"
  | "waiting-for-approval"
  | "promoting"
  | "promoted"
  | "aborting"
  | "aborted"
  | "failed"
  | "rolled-back";

export const TERMINAL_STATES: readonly ReleaseState[] = ["promoted", "aborted", "failed", "rolled-back"];

/**
 * The engine's acknowledgement of a decision (the decision handshake, decisions.ts): the engine running the release
 * saw it and acts on it. A record written before the handshake has none; such a decision counts as unacknowledged.
 */
export interface Acknowledged {
  /** The engine (Lease holder identity) that saw the decision. */
  ackedBy?: string;
  ackedAt?: string;
}

export interface Approval extends Acknowledged {
  gate: ApprovalGate;
  by: string;
  at: string;
}

export interface AbortRequest extends Acknowledged {
  by: string;
  at: string;
}

export interface ReleaseRecord {
  id: string;
  environment: string;
  namespace: string;
  payloadDigest: string;
  state: ReleaseState;
  plan: ReleasePlan;
  approvals: Approval[];
  /** Someone asked for the release to be aborted (any process); the engine running it acts on it. */
  abortRequested?: AbortRequest;
  /** Which engine runs it (the Lease holder). */
  engine: string;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Why it failed or was aborted. */
  message?: string;
  /** For a rollback: the release it undoes. */
  rollbackOf?: string;
  /** For a rollback further back than the newest promoted release: the newer promoted releases it undoes too. */
  undoes?: string[];
  /** For a promoted release: service → the oConfig version now current (`next` recorded as current). */
  oConfigCurrent?: Record<string, string>;
  /**
   * Component → the pod template users were served when the release began (read from status, see served.ts): what
   * an abort puts back exactly, config volume included, and what a rollback of this release restores.
   */
  servedBefore?: Record<string, PodTemplate>;
  /** Components an abort could not bring back (a write kept failing): the release is `failed` and says how to finish. */
  leftover?: string[];
  /** Engines that took the release over after its engine stopped renewing the Lease, in order. */
  takeovers?: { from: string; by: string; at: string }[];
  /** Recreate components scaled to zero for their migration Jobs: the replicas to restore. */
  scaledDown?: Record<string, number>;
}

interface ConfigMapObject {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export const recordName = (id: string): string => `rollway-release-${id}`;

const recordManifest = (
  record: ReleaseRecord,
  resourceVersion?: string,
): ConfigMapObject & { apiVersion: string; kind: string } => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: {
    name: recordName(record.id),
    ...(resourceVersion ? { resourceVersion } : {}),
    labels: {
      "app.kubernetes.io/managed-by": "rollway",
      [LABEL_RELEASE]: record.id,
      [LABEL_RELEASE_ENVIRONMENT]: record.environment,
      [LABEL_RELEASE_STATE]: record.state,
    },
  },
  data: { [RECORD_DATA_KEY]: JSON.stringify(record) },
});

function fromConfigMap(cm: ConfigMapObject): ReleaseRecord {
  const text = cm.data?.[RECORD_DATA_KEY];
  try {
    return JSON.parse(text ?? "") as ReleaseRecord;
  } catch (cause) {
    throw new ReleaseError(
      "CLUSTER",
      `ConfigMap "${cm.metadata.name}" is labelled as a release record but its ${RECORD_DATA_KEY} is not JSON; delete it or fix it`,
      { resource: `ConfigMap "${cm.metadata.name}"`, cause },
    );
  }
}

export async function createRecord(api: Connection, record: ReleaseRecord): Promise<void> {
  await api.objects.create(inNamespace(record.namespace, recordManifest(record)));
}

/** The record's ConfigMap in the namespace of the request, never the connection's default. */
const inNamespace = (namespace: string, cm: ConfigMapObject & { apiVersion: string; kind: string }) => ({
  ...cm,
  metadata: { ...cm.metadata, namespace },
});

export async function getRecord(api: Connection, namespace: string, id: string): Promise<ReleaseRecord> {
  try {
    return fromConfigMap(await api.objects.get<ConfigMapObject>({ ...CONFIG_MAP, namespace, name: recordName(id) }));
  } catch (error) {
    if (hasHttpStatus(error, 404))
      throw new ReleaseError("NOT_FOUND", `no release "${id}" in namespace "${namespace}"`, {
        release: id,
        cause: error,
      });
    throw error;
  }
}

/** Releases of an environment, newest first. */
export async function listRecords(api: Connection, namespace: string, environment: string): Promise<ReleaseRecord[]> {
  const list = await api.objects.list<ConfigMapObject>(
    { ...CONFIG_MAP, namespace },
    { labelSelector: `${LABEL_RELEASE},${LABEL_RELEASE_ENVIRONMENT}=${environment}` },
  );
  return list.items.map(fromConfigMap).sort(newestStartedFirst);
}

/**
 * Read-modify-write with the resourceVersion, so two processes (an approval and the engine) never overwrite each
 * other: a 409 reads again and re-applies the change. A change that returns the record it was given (the same
 * object) writes nothing: it resolves with the record as read.
 */
export async function updateRecord(
  api: Connection,
  namespace: string,
  id: string,
  change: (record: ReleaseRecord) => ReleaseRecord,
  now: () => string,
): Promise<ReleaseRecord> {
  for (let attempt = 0; ; attempt++) {
    const cm = await api.objects.get<ConfigMapObject>({ ...CONFIG_MAP, namespace, name: recordName(id) });
    const current = fromConfigMap(cm);
    const changed = change(current);
    if (changed === current) return current;
    const next = { ...changed, updatedAt: now() };
    try {
      await api.objects.replace(inNamespace(namespace, recordManifest(next, cm.metadata.resourceVersion)));
      return next;
    } catch (error) {
      if (!hasHttpStatus(error, 409) || attempt >= 10) throw error;
    }
  }
}

/**
 * The record as it is now, then every change of it, following its ConfigMap with rollout-client's one
 * list-then-watch (no polling): a watch that ends resumes, a 410 (expired history, at the start of a watch or as an
 * `ERROR` event) lists again, so a change written meanwhile is seen at once. Until the signal aborts.
 */
export async function* followRecord(
  api: Connection,
  namespace: string,
  id: string,
  signal: AbortSignal,
): AsyncGenerator<ReleaseRecord> {
  const name = recordName(id);
  for await (const event of api.objects.listWatch<ConfigMapObject & AnyObject>(
    { ...CONFIG_MAP, namespace, name },
    { signal },
  )) {
    if (event.type === "LISTED") {
      const [cm] = event.objects;
      // No such record: the direct read says so with the cluster's own error (404, NOT_FOUND).
      yield fromConfigMap(
        cm ?? (await api.objects.get<ConfigMapObject>({ ...CONFIG_MAP, namespace, name }, { signal })),
      );
    } else if (event.type === "ADDED" || event.type === "MODIFIED") yield fromConfigMap(event.object);
  }
  signal.throwIfAborted();
  throw new ReleaseError("CLUSTER", `the watch on ConfigMap "${name}" in namespace "${namespace}" ended`);
}

/** `current`: the newest promoted release when the watch starts (none yet: undefined); `promoted`: one promoted since. */
export type PromotionEvent =
  | { type: "current"; record: ReleaseRecord | undefined }
  | { type: "promoted"; record: ReleaseRecord };

const newestFirst = (a: ReleaseRecord, b: ReleaseRecord) =>
  a.finishedAt === b.finishedAt ? 0 : (a.finishedAt ?? "") < (b.finishedAt ?? "") ? 1 : -1;

type RecordsChange =
  | { type: "listed"; records: ReleaseRecord[] }
  | { type: "changed"; record: ReleaseRecord; deleted: boolean }
  /** The watch ended, expired or failed: what follows is a new list. */
  | { type: "resync" };

function parseOrSkip(cm: ConfigMapObject): ReleaseRecord[] {
  try {
    return [fromConfigMap(cm)];
  } catch {
    return []; // A damaged record is reported by direct reads (getRecord, listRecords); followers leave it out.
  }
}

/**
 * The release records a label selector picks, through rollout-client's one list-then-watch: a list, then a watch
 * from its version that resumes when it ends and lists again on 410; a failure is `resync` while it retries (with
 * its back-off). Until the signal aborts.
 */
async function* followRecords(
  api: Connection,
  namespace: string,
  labelSelector: string,
  signal: AbortSignal,
): AsyncIterable<RecordsChange> {
  try {
    for await (const event of api.objects.listWatch<ConfigMapObject & AnyObject>(
      { ...CONFIG_MAP, namespace },
      { labelSelector, signal },
    )) {
      if (event.type === "LISTED") yield { type: "listed", records: event.objects.flatMap(parseOrSkip) };
      else if (event.type === "INTERRUPTED") yield { type: "resync" };
      else
        for (const record of parseOrSkip(event.object))
          yield { type: "changed", record, deleted: event.type === "DELETED" };
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/**
 * The promotions of an environment from now on, from one watch on its release records (no polling): first the
 * newest promoted release as `current` (undefined when there is none), then each release as it reaches `promoted`.
 * When the watch ends or expires, the records are listed again and whatever was promoted meanwhile is reported, once.
 */
export async function* watchPromotions(
  api: Connection,
  namespace: string,
  environment: string,
  signal: AbortSignal,
): AsyncIterable<PromotionEvent> {
  const promoted = new Set<string>();
  let first = true;
  const selector = `${LABEL_RELEASE},${LABEL_RELEASE_ENVIRONMENT}=${environment}`;
  for await (const change of followRecords(api, namespace, selector, signal)) {
    if (change.type === "listed") {
      const done = change.records.filter((r) => r.state === "promoted").sort(newestFirst);
      if (first) {
        first = false;
        for (const r of done) promoted.add(r.id);
        yield { type: "current", record: done[0] };
        continue;
      }
      for (const record of done.reverse()) {
        if (promoted.has(record.id)) continue;
        promoted.add(record.id);
        yield { type: "promoted", record };
      }
    } else if (change.type === "changed" && !change.deleted) {
      const { record } = change;
      if (record.state !== "promoted" || promoted.has(record.id)) continue;
      promoted.add(record.id);
      yield { type: "promoted", record };
    }
  }
}

/** Release records of one namespace kept current by a watch: what a server answers reads of finished releases from. */
export interface RecordCache {
  /** The record, or undefined when the cache is not in sync or does not know it (then read the cluster). */
  get(id: string): ReleaseRecord | undefined;
  /** An environment's releases, newest first, or undefined while the cache is not in sync. */
  list(environment: string): ReleaseRecord[] | undefined;
  /** Resolves once the first list is in. */
  readonly synced: Promise<void>;
  close(): void;
}

/**
 * Lists the release records of a namespace once, then follows them with a watch (an informer): reads cost no
 * request to the API server and lag it by the watch's delay, milliseconds. From the end of a watch until the next
 * list is in, the cache says it is not in sync and callers read the cluster.
 */
export function cacheRecords(api: Connection, namespace: string, options: { signal?: AbortSignal } = {}): RecordCache {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const records = new Map<string, ReleaseRecord>();
  let inSync = false;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  void (async () => {
    try {
      for await (const change of followRecords(api, namespace, LABEL_RELEASE, signal)) {
        if (change.type === "listed") {
          records.clear();
          for (const r of change.records) records.set(r.id, r);
          inSync = true;
          markSynced();
        } else if (change.type === "changed") {
          if (change.deleted) records.delete(change.record.id);
          else records.set(change.record.id, change.record);
        } else {
          inSync = false;
        }
      }
    } catch {
      // A failure that is no use retrying (403: not allowed to watch): reads go to the cluster, which says why.
    }
    inSync = false;
  })();
  return {
    get: (id) => (inSync ? records.get(id) : undefined),
    list: (environment) =>
      inSync ? [...records.values()].filter((r) => r.environment === environment).sort(newestStartedFirst) : undefined,
    synced,
    close: () => controller.abort(),
  };
}

const newestStartedFirst = (a: ReleaseRecord, b: ReleaseRecord) =>
  a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : b.id.localeCompare(a.id);
