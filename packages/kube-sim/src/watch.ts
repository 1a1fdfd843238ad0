/**
 * Watches over the store, with the semantics of the Kubernetes watch API:
 * - no resourceVersion (or "0"): a synthetic ADDED for every current object, then changes;
 * - resourceVersion N: every change after N, or one ERROR event with a 410 Expired Status when the history no
 *   longer reaches back to N (the client must list again);
 * - with a selector, an object that starts matching arrives as ADDED and one that stops matching as DELETED.
 */
import type { KubeObject } from "./crds.js";
import { apiErrors, type KubeStatus } from "./errors.js";
import type { ResourceType } from "./resources.js";
import { typeKey } from "./resources.js";
import type { Store, StoreEvent } from "./store.js";

export type WatchEvent =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: KubeObject }
  | { type: "BOOKMARK"; object: KubeObject }
  | { type: "ERROR"; object: KubeStatus };

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
}

export interface Watch {
  close(): void;
}

/**
 * Starts a watch; `send` is called synchronously for replayed events and then for each matching change.
 * Throws 400 for bad selectors or resource versions before anything is sent.
 */
export function openWatch(
  store: Store,
  type: ResourceType,
  options: WatchOptions,
  send: (event: WatchEvent) => void,
): Watch {
  const selection = store.selection(type, options.namespace, options);
  const key = typeKey(type);
  const rv = options.resourceVersion;
  let replay: StoreEvent[] | undefined;
  if (rv !== undefined && rv !== "" && rv !== "0") {
    if (!/^\d+$/.test(rv)) throw apiErrors.badRequest(`resourceVersion: Invalid value: "${rv}": must be an integer`);
    replay = store.eventsSince(Number(rv));
    if (replay === undefined) {
      const err = apiErrors.gone(`too old resource version: ${rv} (${store.oldestResumableVersion() + 1})`);
      send({ type: "ERROR", object: err.toStatus() });
      return { close() {} };
    }
  }

  const deliver = (e: StoreEvent): void => {
    if (e.typeKey !== key) return;
    const now = store.matches(e.object, selection);
    if (e.type === "ADDED") {
      if (now) send({ type: "ADDED", object: e.object });
      return;
    }
    if (e.type === "DELETED") {
      if (store.matches(e.previous ?? e.object, selection)) send({ type: "DELETED", object: e.object });
      return;
    }
    const before = e.previous ? store.matches(e.previous, selection) : false;
    if (now && before) send({ type: "MODIFIED", object: e.object });
    else if (now) send({ type: "ADDED", object: e.object });
    else if (before) send({ type: "DELETED", object: e.object });
  };

  if (replay) for (const e of replay) deliver(e);
  else for (const o of store.listRaw(type, options.namespace, options).items) send({ type: "ADDED", object: o });
  const unsubscribe = store.subscribe(deliver);
  return { close: unsubscribe };
}
