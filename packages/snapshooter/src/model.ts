/**
 * Code as data: a graph of objects named by 20-digit tags. Folders contain projects, projects contain objects, and
 * objects relate to each other. An export is a sequence of records, each an object or a relation.
 */
import { z } from "zod";
import { TAG_PATTERN } from "./fast-record.js";

export { CONTAINS, parseRecordFast, TAG_PATTERN } from "./fast-record.js";

/** Seed 004's Home folder, the usual root. */
export const HOME_TAG = "10000000000000000000";

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
