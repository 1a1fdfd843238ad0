/**
 * The snapshot's own read of an export: each record is validated and turned into the text its patch file holds as
 * soon as it is read, so no parsed tree of the whole export is ever kept (see BENCHMARKS.md, 2026-12-06 afternoon).
 *
 * - A relation in the usual form, `{"record":"relation","from":"<20 digits>","to":"<20 digits>","type":"<text>"}`
 *   with a type of printable ASCII (no quote, no backslash), is read straight from its bytes: every such text is
 *   one `exportRecordSchema` accepts (a strict object with exactly those keys, two tags, a non-empty type), and it
 *   is kept as its sort key, from which the patch line is written.
 * - Every other record is parsed and validated by the same code as `loadGraph` (`createRecordTaker`: the fast path,
 *   then zod with its messages), and an object is kept as its canonical JSON line.
 *
 * So a snapshot accepts and refuses exactly what `loadGraph` does, with the same problems, and writes the same bytes
 * as `renderPatches(selectSnapshot(loadGraph(...)))` (tested in prerendered.test.ts).
 */
import { type PatchGroup, relationKey, renderPatchGroups } from "./canonical.js";
import { type SnapshooterProblem, throwIfAborted } from "./errors.js";
import {
  collectSyntaxError,
  createRecordTaker,
  MAX_PROBLEMS,
  takeBatches,
  throwExportProblems,
  walkContainment,
} from "./graph.js";
import { CONTAINS, type ObjectKind, type Relation } from "./model.js";
import { parseRecordText, RecordSplitter } from "./sources/parse-stream.js";
import type { CodeAsDataSource } from "./sources/source.js";
import { TagIds } from "./tag-ids.js";

/** An object as its patch file needs it. */
interface RenderedObject {
  kind: ObjectKind;
  name: string;
  /** Its canonical JSON (keys sorted all the way down), one line of the patch file. */
  json: string;
  /** Where it was first defined, for the message about a repeated tag. */
  line: number;
}

/**
 * An export read for snapshots: objects as their patch lines, relations as their sort keys (`relationKey`), every
 * tag numbered once so the walk and the grouping work on integers.
 */
export interface PrerenderedGraph {
  ids: TagIds;
  /** By id; undefined for a tag the export names in relations only. */
  objects: (RenderedObject | undefined)[];
  objectCount: number;
  relationKeys: string[];
  /** By relation: the id of its `from`. */
  relationFrom: number[];
  /** By relation: the id of its `to` for a `contains` relation, -1 for any other. */
  relationContains: number[];
}

const RELATION_HEAD = Buffer.from('{"record":"relation","from":"');
const CONTAINS_BYTES = Buffer.from(CONTAINS);
const TO_KEY = Buffer.from('","to":"');
const TYPE_KEY = Buffer.from('","type":"');
const TAG_LENGTH = 20;
const FROM_AT = RELATION_HEAD.length;
const TO_AT = FROM_AT + TAG_LENGTH + TO_KEY.length;
const TYPE_AT = TO_AT + TAG_LENGTH + TYPE_KEY.length;

function matches(bytes: Buffer, at: number, expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

function isDigits(bytes: Buffer, at: number): boolean {
  for (let i = at; i < at + TAG_LENGTH; i++) {
    const c = bytes[i] as number;
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Adds the relation `bytes[start, end)` to the graph when it is in the usual form (trailing blanks allowed) and
 * returns true; false leaves it to JSON.parse and the schema.
 */
function addRelationBytes(graph: PrerenderedGraph, bytes: Buffer, start: number, end: number): boolean {
  let last = end;
  while (last > start) {
    const c = bytes[last - 1] as number;
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    last--;
  }
  // At least one byte of type, then `"}`.
  if (last - start < TYPE_AT + 3 || bytes[last - 1] !== 125 || bytes[last - 2] !== 34) return false;
  if (!matches(bytes, start, RELATION_HEAD) || !isDigits(bytes, start + FROM_AT)) return false;
  if (!matches(bytes, start + FROM_AT + TAG_LENGTH, TO_KEY) || !isDigits(bytes, start + TO_AT)) return false;
  if (!matches(bytes, start + TO_AT + TAG_LENGTH, TYPE_KEY)) return false;
  for (let i = start + TYPE_AT; i < last - 2; i++) {
    const c = bytes[i] as number;
    if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return false;
  }
  // The key laid out in a scratch buffer and decoded once: one flat string, no concatenation to flatten later.
  const typeLength = last - 2 - (start + TYPE_AT);
  const length = TAG_LENGTH + typeLength + 1 + TAG_LENGTH;
  if (scratch.length < length) scratch = Buffer.allocUnsafe(length * 2);
  // Byte loops: Buffer#copy costs more than it saves on a few bytes.
  const out = scratch;
  for (let i = 0; i < TAG_LENGTH; i++) out[i] = bytes[start + FROM_AT + i] as number;
  for (let i = 0; i < typeLength; i++) out[TAG_LENGTH + i] = bytes[start + TYPE_AT + i] as number;
  out[TAG_LENGTH + typeLength] = 0;
  for (let i = 0; i < TAG_LENGTH; i++) out[TAG_LENGTH + typeLength + 1 + i] = bytes[start + TO_AT + i] as number;
  graph.relationKeys.push(out.toString("latin1", 0, length));
  graph.relationFrom.push(graph.ids.internBytes(bytes, start + FROM_AT));
  const contains = typeLength === CONTAINS_BYTES.length && matches(bytes, start + TYPE_AT, CONTAINS_BYTES);
  graph.relationContains.push(contains ? graph.ids.internBytes(bytes, start + TO_AT) : -1);
  return true;
}

let scratch = Buffer.allocUnsafe(256);

/**
 * Reads and validates every record of `source` (its bytes when it gives them, else its parsed batches), with the
 * same problems as `loadGraph`.
 */
export async function loadPrerenderedGraph(source: CodeAsDataSource, signal?: AbortSignal): Promise<PrerenderedGraph> {
  const graph: PrerenderedGraph = {
    ids: new TagIds(),
    objects: [],
    objectCount: 0,
    relationKeys: [],
    relationFrom: [],
    relationContains: [],
  };
  const problems: SnapshooterProblem[] = [];
  const take = createRecordTaker(
    problems,
    (object, line) => {
      const id = graph.ids.intern(object.tag);
      const earlier = graph.objects[id];
      if (earlier !== undefined) return earlier.line;
      // Objects from the taker have their keys sorted all the way down: JSON.stringify prints canonical JSON.
      graph.objects[id] = { kind: object.kind, name: object.name, json: JSON.stringify(object), line };
      graph.objectCount++;
      return undefined;
    },
    (relation: Relation) => {
      graph.relationKeys.push(relationKey(relation));
      graph.relationFrom.push(graph.ids.intern(relation.from));
      graph.relationContains.push(relation.type === CONTAINS ? graph.ids.intern(relation.to) : -1);
    },
  );

  try {
    if (source.bytes) {
      const { label, chunks } = await source.bytes(signal);
      const splitter = new RecordSplitter(label, (bytes, start, end, line, index) => {
        if (!addRelationBytes(graph, bytes, start, end))
          take(parseRecordText(bytes.toString("utf8", start, end), label, line, index));
      });
      let stopped = false;
      const iterator = chunks[Symbol.asyncIterator]();
      try {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          throwIfAborted(signal);
          splitter.push(next.value);
          if (problems.length >= MAX_PROBLEMS) {
            stopped = true;
            break;
          }
        }
        if (!stopped) splitter.end();
      } finally {
        await iterator.return?.();
      }
    } else await takeBatches(source, take, problems, signal);
  } catch (error) {
    collectSyntaxError(error, problems);
  }
  throwIfAborted(signal);
  throwExportProblems(source, problems);
  return graph;
}

/**
 * One snapshot's patch files from a prerendered graph: the same selection as `selectSnapshot` and the same bytes as
 * `renderPatches`. Also returns which tags the snapshot holds, for the deletion guard.
 */
export function renderPrerendered(
  graph: PrerenderedGraph,
  meta: { name: string; rootTags: readonly string[]; exclude: readonly string[] },
): { files: Map<string, string>; objects: number; has(tag: string): boolean } {
  const { ids, objects } = graph;
  const { tags } = ids;
  const children: number[][] = [];
  for (let i = 0; i < graph.relationContains.length; i++) {
    const to = graph.relationContains[i] as number;
    if (to < 0) continue;
    const from = graph.relationFrom[i] as number;
    const list = children[from];
    if (list) list.push(to);
    else children[from] = [to];
  }
  const { order, owner, parent } = walkContainment({ ids, children, kindOf: (id) => objects[id]?.kind }, meta);
  const members: { objects: number[]; relationKeys: string[] }[] = [];
  const owners: number[] = [];
  for (const id of order) {
    const own = owner[id] as number;
    if (own === id) {
      members[id] = { objects: [], relationKeys: [] };
      owners.push(id);
    }
    members[own]?.objects.push(id);
  }
  for (let i = 0; i < graph.relationKeys.length; i++) {
    const own = owner[graph.relationFrom[i] as number] as number;
    if (own < 0) continue;
    // A `contains` relation is kept only when what it contains is in the snapshot too.
    const to = graph.relationContains[i] as number;
    if (to >= 0 && owner[to] === -1) continue;
    members[own]?.relationKeys.push(graph.relationKeys[i] as string);
  }
  const groups = new Map<string, PatchGroup>();
  for (const id of owners) {
    const container = objects[id] as RenderedObject;
    const group = members[id] as { objects: number[]; relationKeys: string[] };
    const up = parent[id] as number;
    groups.set(tags[id] as string, {
      kind: container.kind,
      name: container.name,
      parent: up === -1 ? null : (tags[up] as string),
      objects: group.objects.sort(ids.compare).map((o) => (objects[o] as RenderedObject).json),
      relationKeys: group.relationKeys,
    });
  }
  return {
    files: renderPatchGroups(groups, meta, order.length),
    objects: order.length,
    has: (tag) => {
      const id = ids.get(tag);
      return id !== undefined && owner[id] !== -1;
    },
  };
}
