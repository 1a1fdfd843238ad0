/**
 * The export record schema's fast path, without zod: what a worker thread needs to read a valid export (zod is loaded
 * only when a record needs its messages). model.ts re-exports it with the schemas.
 */
import { canonicalCopy, NOT_JSON } from "./canonical.js";
import type { CodeObject, JsonValue, ObjectKind, Relation } from "./model.js";

export const TAG_PATTERN = /^\d{20}$/;
/** The relation type that makes the tree a snapshot follows. */
export const CONTAINS = "contains";

const KINDS = new Set<string>(["folder", "project", "object"]);
const OBJECT_KEYS = new Set(["record", "tag", "kind", "name", "model", "properties"]);
const RELATION_KEYS = new Set(["record", "from", "to", "type"]);

function isTag(value: unknown): value is string {
  return typeof value === "string" && TAG_PATTERN.test(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function onlyKeys(value: Record<string, unknown>, allowed: Set<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

/**
 * The export record schema's fast path: returns the object or relation when `value` is certainly valid, undefined
 * when zod must look (and explain what is wrong). It accepts a strict subset of what `exportRecordSchema` accepts
 * and returns the same data; zod stays the single source of truth for shapes and messages.
 */
export function parseRecordFast(
  value: unknown,
): { record: "object"; object: CodeObject } | { record: "relation"; relation: Relation } | undefined {
  if (!isPlainObject(value)) return undefined;
  if (value.record === "object") {
    const { tag, kind, name, model, properties } = value;
    if (!onlyKeys(value, OBJECT_KEYS) || !isTag(tag) || typeof kind !== "string" || !KINDS.has(kind)) return undefined;
    if (typeof name !== "string" || (model !== undefined && !isTag(model))) return undefined;
    const props = properties === undefined ? {} : isPlainObject(properties) ? canonicalCopy(properties) : NOT_JSON;
    if (props === NOT_JSON) return undefined;
    // Keys in sorted order, so the patch writer need not copy the object again.
    const object =
      model === undefined
        ? { kind: kind as ObjectKind, name, properties: props as Record<string, JsonValue>, tag }
        : { kind: kind as ObjectKind, model, name, properties: props as Record<string, JsonValue>, tag };
    return { record: "object", object };
  }
  if (value.record === "relation") {
    const { from, to, type } = value;
    if (!onlyKeys(value, RELATION_KEYS) || !isTag(from) || !isTag(to) || typeof type !== "string" || type === "")
      return undefined;
    return { record: "relation", relation: { from, to, type } };
  }
  return undefined;
}
