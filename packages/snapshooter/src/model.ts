/**
 * Code as data: a graph of objects named by 20-digit tags. Folders contain projects, projects contain objects, and
 * objects relate to each other. An export is a sequence of records, each an object or a relation.
 */
import { z } from "zod";
import { canonicalCopy, NOT_JSON } from "./canonical.js";

export const TAG_PATTERN = /^\d{20}$/;
/** Seed 004's Home folder, the usual root. */
export const HOME_TAG = "10000000000000000000";
/** The relation type that makes the tree a snapshot follows. */
export const CONTAINS = "contains";

export const tagSchema = z.string().regex(TAG_PATTERN, { error: "must be a tag of exactly 20 digits" });

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

export const objectKindSchema = z.enum(["folder", "project", "object"]);
export type ObjectKind = z.infer<typeof objectKindSchema>;

export const codeObjectSchema = z.strictObject({
  tag: tagSchema,
  kind: objectKindSchema,
  name: z.string(),
  /** The tag of the object's model (its class), when it has one. */
  model: tagSchema.optional(),
  properties: z.record(z.string(), jsonValue).default({}),
});
export type CodeObject = z.output<typeof codeObjectSchema>;

export const relationSchema = z.strictObject({
  from: tagSchema,
  to: tagSchema,
  /** `contains` for containment; any other name (`references`, `extends`, ...) for a plain relation. */
  type: z.string().min(1),
});
export type Relation = z.output<typeof relationSchema>;

/** One line of NDJSON, or one element of the JSON array: `{"record":"object",...}` or `{"record":"relation",...}`. */
export const exportRecordSchema = z.discriminatedUnion("record", [
  codeObjectSchema.extend({ record: z.literal("object") }),
  relationSchema.extend({ record: z.literal("relation") }),
]);
export type ExportRecord = z.output<typeof exportRecordSchema>;

/** The whole graph, or the part of it a snapshot holds. */
export interface CodeGraph {
  objects: Map<string, CodeObject>;
  relations: Relation[];
  /** Set by loadGraph: every object's keys are sorted all the way down, so patches are rendered without a copy. */
  canonical?: boolean;
}

const KINDS = new Set<string>(objectKindSchema.options);
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
