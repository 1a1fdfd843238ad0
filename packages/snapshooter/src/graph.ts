/** Builds the graph from an export's records, and selects what a snapshot holds: reachable by containment, minus exclusions. */
import { sortKeys } from "./canonical.js";
import { SnapshooterError, type SnapshooterProblem, throwIfAborted } from "./errors.js";
import {
  CONTAINS,
  type CodeGraph,
  type CodeObject,
  exportRecordSchema,
  parseRecordFast,
  type Relation,
} from "./model.js";
import { describeRecord, type RawRecord } from "./sources/parse-stream.js";
import type { CodeAsDataSource } from "./sources/source.js";

const MAX_PROBLEMS = 20;

/**
 * Reads every record of `source`, validates it, and builds the graph. Invalid records are all reported (the first 20),
 * each with its line or record number and field; nothing is returned from an export with a problem.
 */
export async function loadGraph(source: CodeAsDataSource, signal?: AbortSignal): Promise<CodeGraph> {
  const objects = new Map<string, CodeObject>();
  const relations: Relation[] = [];
  const problems: SnapshooterProblem[] = [];
  // Only the line of each object's first definition, not a message: 100,000 strings would cost real time.
  const firstSeen = new Map<string, number>();

  const take = (raw: RawRecord) => {
    const fast = parseRecordFast(raw.value);
    if (fast?.record === "relation") {
      relations.push(fast.relation);
      return;
    }
    let object: CodeObject | undefined = fast?.object;
    if (!fast) {
      const parsed = exportRecordSchema.safeParse(raw.value);
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
        relations.push({ from, to, type });
        return;
      }
      const { record: _record, ...rest } = parsed.data;
      object = sortKeys(rest);
    }
    if (!object) return;
    const earlier = firstSeen.get(object.tag);
    if (earlier !== undefined) {
      problems.push({
        path: describeRecord(raw),
        message: `repeats object ${object.tag}, already defined on line ${earlier}`,
      });
    } else {
      firstSeen.set(object.tag, raw.line);
      objects.set(object.tag, object);
    }
  };

  try {
    for await (const batch of source.batches(signal)) {
      throwIfAborted(signal);
      for (const raw of batch) take(raw);
      if (problems.length >= MAX_PROBLEMS) break;
    }
  } catch (error) {
    // A syntax error ends the stream; report it after the record problems found before it.
    if (!(error instanceof SnapshooterError) || error.code !== "INVALID_EXPORT" || problems.length === 0) throw error;
    problems.push(...error.problems);
  }
  throwIfAborted(signal);
  if (problems.length > 0) {
    throw new SnapshooterError("INVALID_EXPORT", `the code-as-data export ${source.description} is invalid:`, {
      problems: problems.slice(0, MAX_PROBLEMS),
    });
  }
  return { objects, relations, canonical: true };
}

/** What one snapshot holds. */
export interface Selection {
  objects: Map<string, CodeObject>;
  relations: Relation[];
  /** For each selected object, the tag of the folder or project whose patch file holds it. */
  owners: Map<string, string>;
  /** For each patch-file owner, the owner of the container it was reached from (null for a root). */
  parents: Map<string, string | null>;
  /** Every object's keys are sorted all the way down (the graph came from loadGraph). */
  canonical?: boolean;
}

function compareTags(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Every object reachable by containment from `rootTags`, minus whatever lies under `exclude` (the excluded objects
 * included). The walk is breadth-first over sorted tags, so an object contained twice always lands in the same file.
 */
export function selectSnapshot(
  graph: CodeGraph,
  options: { rootTags: readonly string[]; exclude: readonly string[] },
): Selection {
  const excluded = new Set(options.exclude);
  const roots = [...new Set(options.rootTags)].sort(compareTags);
  const missingRoots = roots.filter((tag) => !graph.objects.has(tag));
  if (missingRoots.length > 0) {
    throw new SnapshooterError("UNKNOWN_ROOT", "a root tag is not in the code-as-data export", {
      problems: missingRoots.map((tag) => ({
        path: `rootTags ${tag}`,
        message: "no object with this tag in the export",
      })),
    });
  }

  const children = new Map<string, string[]>();
  for (const relation of graph.relations) {
    if (relation.type !== CONTAINS) continue;
    const list = children.get(relation.from);
    if (list) list.push(relation.to);
    else children.set(relation.from, [relation.to]);
  }

  const objects = new Map<string, CodeObject>();
  const owners = new Map<string, string>();
  const parents = new Map<string, string | null>();
  const problems: SnapshooterProblem[] = [];
  const queue: string[] = [];
  for (const root of roots) {
    if (excluded.has(root) || objects.has(root)) continue;
    objects.set(root, graph.objects.get(root) as CodeObject);
    owners.set(root, root);
    parents.set(root, null);
    queue.push(root);
  }
  for (let i = 0; i < queue.length; i++) {
    const tag = queue[i] as string;
    const owner = owners.get(tag) as string;
    const list = children.get(tag);
    if (!list) continue;
    list.sort(compareTags);
    for (const child of list) {
      if (excluded.has(child) || objects.has(child)) continue;
      const object = graph.objects.get(child);
      if (!object) {
        if (problems.length < MAX_PROBLEMS) {
          problems.push({ path: `relation ${tag} contains ${child}`, message: `object ${child} is not in the export` });
        }
        continue;
      }
      objects.set(child, object);
      if (object.kind === "object") owners.set(child, owner);
      else {
        owners.set(child, child);
        parents.set(child, owner);
      }
      queue.push(child);
    }
  }
  if (problems.length > 0) {
    throw new SnapshooterError("INVALID_EXPORT", "the code-as-data export contains objects it does not define:", {
      problems,
    });
  }

  const relations = graph.relations.filter((r) => objects.has(r.from) && (r.type !== CONTAINS || objects.has(r.to)));
  return { objects, relations, owners, parents, ...(graph.canonical ? { canonical: true } : {}) };
}
