/**
 * The one list-then-watch loop (client-go's reflector, client-node's `ListWatch`), for every caller: list (or start
 * a watch list, KEP-3157), then watch from that resourceVersion with bookmarks; when the stream closes, resume from
 * the last resourceVersion seen; on 410 Gone (at the start of a watch, or as an `ERROR` event) relist; on a
 * transient failure (429, 5xx, a reset) report it and try again after a back-off on the injectable clock; any other
 * failure (403, 404, 422…) ends the loop with its RolloutClientError. Until the signal aborts.
 *
 * client-node's own `ListWatch` was not used: it stops for good on any error other than 410 (the caller must
 * restart it), sends no `allowWatchBookmarks`, takes no AbortSignal or clock, and opens its watches through its own
 * fetch transport, a second one beside ours that would not share the retries or the error class.
 */
import { type Clock, type Connection, sleepOn } from "./connect.js";
import { errorFromResponse, type KubeStatusBody, type ResourceRef, RolloutClientError } from "./errors.js";

export interface ListWatchOptions {
  signal: AbortSignal;
  labelSelector?: string;
  fieldSelector?: string;
  /** Time for the back-off between failed attempts. Default: the connection's clock. */
  clock?: Clock;
  /**
   * `list` (default): a LIST, then a watch from its resourceVersion. `watch-list`: one watch with
   * `sendInitialEvents=true` whose replay ends with a bookmark (no LIST); a server that refuses it (422) is listed.
   */
  initial?: "list" | "watch-list";
  /** Transient failures in a row after which the loop gives up with the last one. Default: never gives up. */
  maxFailures?: number;
}

/**
 * `LISTED`: the whole set now (the first time, and after every relist): replace what you hold.
 * `ADDED`/`MODIFIED`/`DELETED`: one change. `INTERRUPTED`: the watch failed transiently and is being restarted; what
 * you hold is still true as of the last event, but may lag until the next event or `LISTED`.
 */
export type ListWatchEvent<T> =
  | { type: "LISTED"; objects: T[]; resourceVersion: string | undefined }
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T; resourceVersion: string | undefined }
  | { type: "INTERRUPTED"; error: RolloutClientError; failures: number };

const INITIAL_EVENTS_END = "k8s.io/initial-events-end";
const MAX_BACKOFF_MS = 30_000;
const BASE_BACKOFF_MS = 100;

interface Meta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> };
}

export async function* listWatch<T>(
  conn: Connection,
  path: string,
  resource: ResourceRef,
  options: ListWatchOptions,
): AsyncGenerator<ListWatchEvent<T>> {
  const { signal } = options;
  const clock = options.clock ?? conn.clock;
  const selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
  let watchList = options.initial === "watch-list";
  let resourceVersion: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    let emptyStream = false;
    try {
      if (resourceVersion === undefined && !watchList) {
        const list = await conn.request<{ metadata?: { resourceVersion?: string }; items?: T[] }>({
          method: "GET",
          path,
          query: selectors,
          resource,
          signal,
        });
        resourceVersion = list.metadata?.resourceVersion;
        // An API server's list always carries its resourceVersion. One without it (an empty 2xx from whatever else
        // answers on that address) proves nothing about the server's health, so the back-off keeps growing.
        if (resourceVersion !== undefined) failures = 0;
        yield { type: "LISTED", objects: list.items ?? [], resourceVersion };
      }
      const replaying = resourceVersion === undefined;
      const query = replaying
        ? { ...selectors, allowWatchBookmarks: "true", sendInitialEvents: "true", resourceVersionMatch: "NotOlderThan" }
        : { ...selectors, allowWatchBookmarks: "true", resourceVersion };
      const replay = new Map<string, T>();
      let inReplay = replaying;
      let received = 0;
      for await (const event of conn.watchStream(path, query, resource, signal)) {
        received++;
        if (event.type === "ERROR") {
          const status = event.object as KubeStatusBody;
          throw errorFromResponse(status.code ?? 500, status, resource, { method: "WATCH" });
        }
        const object = event.object as T & Meta;
        const rv = object.metadata?.resourceVersion;
        if (event.type === "BOOKMARK") {
          if (inReplay && object.metadata?.annotations?.[INITIAL_EVENTS_END] === "true") {
            inReplay = false;
            resourceVersion = rv;
            failures = 0;
            yield { type: "LISTED", objects: [...replay.values()], resourceVersion };
          } else if (!inReplay && rv) resourceVersion = rv;
          continue;
        }
        if (inReplay) {
          // Still in the replay of a watch list: collect, report it whole at its end bookmark.
          const key = `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
          if (event.type === "DELETED") replay.delete(key);
          else replay.set(key, object);
          continue;
        }
        if (rv) resourceVersion = rv;
        failures = 0;
        yield { type: event.type, object, resourceVersion };
      }
      // A replay cut before its end is started again, not resumed from its middle.
      emptyStream = received === 0 || inReplay;
    } catch (error) {
      if (signal.aborted) return;
      if (!(error instanceof RolloutClientError)) throw error;
      if (error.code === "GONE") {
        // The version is compacted away: what we hold may have missed changes, so list again (a plain LIST: one
        // request, and what client-go's reflector does too).
        resourceVersion = undefined;
        watchList = false;
        continue;
      }
      if (watchList && resourceVersion === undefined && error.code === "INVALID") {
        watchList = false; // no WatchList feature on this server: list instead
        continue;
      }
      if (error.code !== "UNAVAILABLE" && error.code !== "TIMEOUT") throw error;
      failures++;
      if (options.maxFailures !== undefined && failures >= options.maxFailures) throw error;
      yield { type: "INTERRUPTED", error, failures };
      await sleepOn(clock, backoff(failures), signal);
      continue;
    }
    // The server closed the stream (its watch timeout, or a dropped connection): resume from where we are; streams
    // that keep closing without a single event are taken as failures, so as not to spin.
    if (emptyStream) {
      failures++;
      await sleepOn(clock, backoff(failures), signal);
    }
  }
}

function backoff(failures: number): number {
  const exp = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(exp / 2 + (exp / 2) * Math.random());
}
