/**
 * The one place a parsed record is validated and handed on, given the export record schema: the worker threads of a
 * large export load zod only when a record needs it (record-worker.ts), so this module imports none.
 */
import { sortKeys } from "./canonical.js";
import type { SnapshooterProblem } from "./errors.js";
import { parseRecordFast } from "./fast-record.js";
import type { CodeObject, ExportRecord, Relation } from "./model.js";
import { describeRecord, type RawRecord } from "./sources/parse-stream.js";

/** What the taker needs of `exportRecordSchema`. */
export interface RecordSchema {
  safeParse(
    value: unknown,
  ):
    | { success: true; data: ExportRecord }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/**
 * Validates one parsed record with the export record schema (the fast path first, `schema` (zod's) for anything it
 * does not accept and for every message) and hands the object or relation on. Problems go to `problems` with the record's
 * line or number and field. `addObject` stores an object and returns the line of an earlier definition of its tag,
 * if there was one (then the object is not stored). Shared by `loadGraph` and the snapshot's prerendered graph, so
 * both accept exactly the same records with the same messages.
 */
export function takeRecordsWith(
  schema: RecordSchema,
  problems: SnapshooterProblem[],
  addObject: (object: CodeObject, line: number) => number | undefined,
  addRelation: (relation: Relation) => void,
): (raw: RawRecord) => void {
  return (raw) => {
    const fast = parseRecordFast(raw.value);
    if (fast?.record === "relation") {
      addRelation(fast.relation);
      return;
    }
    let object: CodeObject;
    if (fast) object = fast.object;
    else {
      const parsed = schema.safeParse(raw.value);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const field = issue.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("");
          problems.push({
            path: `${describeRecord(raw)}${field ? ` ${field.replace(/^\./, "")}` : ""}`,
            message: issue.message,
          });
        }
        return;
      }
      if (parsed.data.record === "relation") {
        const { from, to, type } = parsed.data;
        addRelation({ from, to, type });
        return;
      }
      const { record: _record, ...rest } = parsed.data;
      object = sortKeys(rest);
    }
    const earlier = addObject(object, raw.line);
    if (earlier !== undefined) {
      problems.push({
        path: describeRecord(raw),
        message: `repeats object ${object.tag}, already defined on line ${earlier}`,
      });
    }
  };
}
