/**
 * events.k8s.io/v1 Events are the core/v1 Events in another shape, one storage for both as in the real server
 * (k8s.io/kubernetes pkg/apis/events/v1 conversion): regarding = involvedObject, note = message,
 * reportingController = reportingComponent, deprecatedSource/FirstTimestamp/LastTimestamp/Count = source/
 * firstTimestamp/lastTimestamp/count; reason, type, action, related, series, eventTime, reportingInstance as is.
 */
import type { KubeObject } from "../crds.js";
import { isPlainObject } from "../patch/index.js";

const renames: [core: string, v1: string][] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["reportingComponent", "reportingController"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
];
const same = ["reason", "type", "action", "related", "series", "eventTime", "reportingInstance"];

function move(from: Record<string, unknown>, pairs: [string, string][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [a, b] of pairs) {
    const v = from[a];
    if (v !== undefined && v !== null && v !== "" && !(isPlainObject(v) && Object.keys(v).length === 0)) out[b] = v;
  }
  for (const k of same) if (from[k] !== undefined && from[k] !== null && from[k] !== "") out[k] = from[k];
  return out;
}

export function toEventsV1(core: KubeObject): KubeObject {
  return {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: core.metadata,
    ...move(core as unknown as Record<string, unknown>, renames),
  } as KubeObject;
}

/** The core/v1 Event an events.k8s.io/v1 body stands for; anything that is not an object is passed on to be refused. */
export function toCoreEvent(body: unknown): unknown {
  if (!isPlainObject(body)) return body;
  if (body.apiVersion !== undefined && body.apiVersion !== "events.k8s.io/v1") return body;
  return {
    apiVersion: "v1",
    kind: body.kind ?? "Event",
    metadata: body.metadata ?? {},
    ...move(
      body,
      renames.map(([a, b]) => [b, a]),
    ),
  };
}
