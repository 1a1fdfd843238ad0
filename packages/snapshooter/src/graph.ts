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
import { TagIds } from "./tag-ids.js";

export const MAX_PROBLEMS = 20;

/**
 * Validates one parsed record with the export record schema (the fast path first, zod for anything it does not
 * accept and for every message) and hands the object or relation on. Problems go to `problems` with the record's
 * line or number and field. `addObject` stores an object and returns the line of an earlier definition of its tag,
 * if there was one (then the object is not stored). Shared by `loadGraph` and the snapshot's prerendered graph, so
 * both accept exactly the same records with the same messages.
 */
export function createRecordTaker(
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
        addRelation({ from, to, type });
        return;
      }
      const { record: _record, ...rest } = parsed.data;
      object = sortKeys(rest);
    }
    const earlier = addObject(object, raw.line);
    if (earlier !== undefined) problems.push(repeatedObject(raw, object.tag, earlier));
  };
}

/** The problem of an object record whose tag was defined before, on line `earlier`. */
export function repeatedObject(
  raw: { label: string; line: number; index?: number },
  tag: string,
  earlier: number,
): SnapshooterProblem {
  return { path: describeRecord(raw), message: `repeats object ${tag}, already defined on line ${earlier}` };
}

/** The export's problems, found while reading it, as the one INVALID_EXPORT error; nothing when there were none. */
export function throwExportProblems(source: CodeAsDataSource, problems: readonly SnapshooterProblem[]): void {
  if (problems.length > 0) {
    throw new SnapshooterError("INVALID_EXPORT", `the code-as-data export ${source.description} is invalid:`, {
      problems: problems.slice(0, MAX_PROBLEMS),
    });
  }
}

/** A syntax error ends the stream: it is reported after the record problems found before it. */
export function collectSyntaxError(error: unknown, problems: SnapshooterProblem[]): void {
  if (!(error instanceof SnapshooterError) || error.code !== "INVALID_EXPORT" || problems.length === 0) throw error;
  problems.push(...error.problems);
}

/** Feeds every record of the source's batches to `take`, until MAX_PROBLEMS problems are collected. */
export async function takeBatches(
  source: CodeAsDataSource,
  take: (raw: RawRecord) => void,
  problems: readonly SnapshooterProblem[],
  signal?: AbortSignal,
): Promise<void> {
  for await (const batch of source.batches(signal)) {
    throwIfAborted(signal);
    for (const raw of batch) take(raw);
    if (problems.length >= MAX_PROBLEMS) break;
  }
}

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
  const take = createRecordTaker(
    problems,
    (object, line) => {
      const earlier = firstSeen.get(object.tag);
      if (earlier !== undefined) return earlier;
      firstSeen.set(object.tag, line);
      objects.set(object.tag, object);
      return undefined;
    },
    (relation) => relations.push(relation),
  );

  try {
    await takeBatches(source, take, problems, signal);
  } catch (error) {
    collectSyntaxError(error, problems);
  }
  throwIfAborted(signal);
  throwExportProblems(source, problems);
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
 * The containment tree as integers: every tag has an id, `kindOf(id)` is its object's kind (undefined when the export
 * defines no object with that tag), `children[id]` the ids it contains (duplicates allowed).
 */
export interface ContainmentGraph {
  ids: TagIds;
  children: readonly (number[] | undefined)[];
  /** Every `children[id]` is in tag order already (then the walk need not sort them). */
  childrenSorted?: boolean;
  /**
   * Instead of `children`: every child list in one array, each in tag order (duplicates kept); the children of `id` are
   * `list[start[rank[id]], start[rank[id] + 1])` (no small array per container).
   */
  childRanges?: { rank: Int32Array; start: Int32Array; list: Int32Array };
  kindOf(id: number): CodeObject["kind"] | undefined;
}

/** What a snapshot holds, by id: the objects in walk order, and for each the patch file (owner) holding it. */
export interface ContainmentWalk {
  order: Int32Array;
  /** The owner's id for each selected object, -1 for the rest. */
  owner: Int32Array;
  /** For each owner, the owner of the container it was reached from; -1 for a root. */
  parent: Int32Array;
}

/**
 * Every object reachable by containment from `rootTags`, minus whatever lies under `exclude` (the excluded objects
 * included). The walk is breadth-first over sorted tags, so an object contained twice always lands in the same file.
 * On ids rather than tags: `selectSnapshot` and the snapshot's prerendered graph both walk with it.
 */
export function walkContainment(
  graph: ContainmentGraph,
  options: { rootTags: readonly string[]; exclude: readonly string[] },
): ContainmentWalk {
  const { ids, children } = graph;
  const roots = [...new Set(options.rootTags)].sort(compareTags);
  const missingRoots = roots.filter((tag) => {
    const id = ids.get(tag);
    return id === undefined || graph.kindOf(id) === undefined;
  });
  if (missingRoots.length > 0) {
    throw new SnapshooterError("UNKNOWN_ROOT", "a root tag is not in the code-as-data export", {
      problems: missingRoots.map((tag) => ({
        path: `rootTags ${tag}`,
        message: "no object with this tag in the export",
      })),
    });
  }
  const excluded = new Uint8Array(ids.size);
  for (const tag of options.exclude) {
    const id = ids.get(tag);
    if (id !== undefined) excluded[id] = 1;
  }
  const owner = new Int32Array(ids.size).fill(-1);
  const parent = new Int32Array(ids.size).fill(-1);
  const problems: SnapshooterProblem[] = [];
  // Each id is walked once at most: sized once, no growing.
  const order = new Int32Array(ids.size);
  let count = 0;
  for (const root of roots) {
    const id = ids.get(root) as number;
    if (excluded[id] || owner[id] !== -1) continue;
    owner[id] = id;
    order[count++] = id;
  }
  const ranges = graph.childRanges;
  for (let i = 0; i < count; i++) {
    const id = order[i] as number;
    let list: ArrayLike<number> | undefined;
    let first = 0;
    let end = 0;
    if (ranges) {
      const r = ranges.rank[id] as number;
      list = ranges.list;
      first = ranges.start[r] as number;
      end = ranges.start[r + 1] as number;
    } else {
      const kids = children[id];
      if (!kids) continue;
      if (!graph.childrenSorted) kids.sort(ids.compare);
      list = kids;
      end = kids.length;
    }
    const own = owner[id] as number;
    for (let c = first; c < end; c++) {
      const child = list[c] as number;
      if (excluded[child] || owner[child] !== -1) continue;
      const kind = graph.kindOf(child);
      if (kind === undefined) {
        if (problems.length < MAX_PROBLEMS) {
          const [tag, missing] = [ids.tag(id), ids.tag(child)];
          problems.push({
            path: `relation ${tag} contains ${missing}`,
            message: `object ${missing} is not in the export`,
          });
        }
        continue;
      }
      if (kind === "object") owner[child] = own;
      else {
        owner[child] = child;
        parent[child] = own;
      }
      order[count++] = child;
    }
  }
  if (problems.length > 0) {
    throw new SnapshooterError("INVALID_EXPORT", "the code-as-data export contains objects it does not define:", {
      problems,
    });
  }
  return { order: order.subarray(0, count), owner, parent };
}

/**
 * Every object reachable by containment from `rootTags`, minus whatever lies under `exclude` (the excluded objects
 * included), with the relations among them.
 */
export function selectSnapshot(
  graph: CodeGraph,
  options: { rootTags: readonly string[]; exclude: readonly string[] },
): Selection {
  const ids = new TagIds();
  // The tag strings at hand, so the walk and the maps below make none.
  const tags: string[] = [];
  const intern = (tag: string) => {
    const id = ids.intern(tag);
    tags[id] = tag;
    return id;
  };
  for (const tag of graph.objects.keys()) intern(tag);
  const children: number[][] = [];
  for (const relation of graph.relations) {
    if (relation.type !== CONTAINS) continue;
    const [from, to] = [intern(relation.from), intern(relation.to)];
    const list = children[from];
    if (list) list.push(to);
    else children[from] = [to];
  }
  const walk = walkContainment({ ids, children, kindOf: (id) => graph.objects.get(tags[id] as string)?.kind }, options);
  const objects = new Map<string, CodeObject>();
  const owners = new Map<string, string>();
  const parents = new Map<string, string | null>();
  for (const id of walk.order) {
    const tag = tags[id] as string;
    objects.set(tag, graph.objects.get(tag) as CodeObject);
    const own = walk.owner[id] as number;
    owners.set(tag, tags[own] as string);
    if (own === id) parents.set(tag, walk.parent[id] === -1 ? null : (tags[walk.parent[id] as number] as string));
  }
  const relations = graph.relations.filter((r) => objects.has(r.from) && (r.type !== CONTAINS || objects.has(r.to)));
  return { objects, relations, owners, parents, ...(graph.canonical ? { canonical: true } : {}) };
}
