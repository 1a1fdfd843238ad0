/**
 * The snapshot's own read of an export: each record is validated and turned into the bytes its patch file holds as
 * soon as it is read, so no parsed tree of the whole export is ever kept (see BENCHMARKS.md, 2026-12-06 afternoon).
 *
 * - A relation in the usual form, `{"record":"relation","from":"<20 digits>","to":"<20 digits>","type":"<text>"}`
 *   with a type of printable ASCII (no quote, no backslash), is read straight from its bytes: every such text is
 *   one `exportRecordSchema` accepts (a strict object with exactly those keys, two tags, a non-empty type), and it
 *   is kept as its sort key, from which the patch line is written.
 * - Every other record is parsed and validated by the same code as `loadGraph` (`createRecordTaker`: the fast path,
 *   then zod with its messages), in batches (record-batch.ts); an object is kept as its canonical JSON's UTF-8 bytes.
 *   Past `minParallelBytes` of export, the batches go to worker threads (record-workers.ts) while this
 *   thread reads on; their results are taken in the export's order, so repeated tags and problems come out the same.
 *
 * So a snapshot accepts and refuses exactly what `loadGraph` does, with the same problems, and writes the same bytes
 * as `renderPatches(selectSnapshot(loadGraph(...)))` (tested in prerendered.test.ts).
 */
import {
  MANIFEST_FILE,
  type ManifestEntry,
  manifestText,
  PATCH_FORMAT,
  patchList,
  patchPath,
  relationKey,
  relationLines,
  sha256,
} from "./canonical.js";
import { SnapshooterError, type SnapshooterProblem, throwIfAborted } from "./errors.js";
import {
  collectSyntaxError,
  createRecordTaker,
  MAX_PROBLEMS,
  takeBatches,
  throwExportProblems,
  walkContainment,
} from "./graph.js";
import { CONTAINS, exportRecordSchema, type ObjectKind, type Relation } from "./model.js";
import {
  BatchBuilder,
  type BatchResult,
  OBJECT_KINDS,
  OUTCOME_INVALID,
  OUTCOME_OBJECT,
  type RecordBatch,
  TAG_LENGTH,
  takeRecordBatch,
} from "./record-batch.js";
import { defaultWorkerCount, RecordWorkers } from "./record-workers.js";
import { describeRecord, RecordSplitter } from "./sources/parse-stream.js";
import type { CodeAsDataSource } from "./sources/source.js";
import { TagIds } from "./tag-ids.js";

/**
 * An export read for snapshots: each object as its patch line's UTF-8 bytes (a span of one of `arenas`), relations
 * as their sort keys (`relationKey`), every tag numbered once so the walk and the grouping work on integers. The
 * arrays by id hold undefined for a tag the export names in relations only.
 */
export interface PrerenderedGraph {
  ids: TagIds;
  /** How many worker threads read it (0: all in this thread). */
  workers: number;
  objectCount: number;
  /** By id: the object's kind, as an index of OBJECT_KINDS. */
  kinds: number[];
  /** By id: the name of a folder or project (other objects' names are not needed). */
  names: string[];
  /** By id: the line the object was first defined on, for the message about a repeated tag. */
  lines: number[];
  /** By id: where its canonical JSON is, `arenas[arena][start, end)`. */
  arena: number[];
  start: number[];
  end: number[];
  arenas: Uint8Array[];
  relationKeys: string[];
  /** Some relation's type holds a NUL character. */
  nulTypes: boolean;
  /** By relation: the id of its `from`. */
  relationFrom: number[];
  /** By relation: the id of its `to` for a `contains` relation, -1 for any other. */
  relationContains: number[];
}

/** The canonical JSON of the object with this tag, or undefined. */
export function objectJsonOf(graph: PrerenderedGraph, tag: string): string | undefined {
  const id = graph.ids.get(tag);
  if (id === undefined || graph.kinds[id] === undefined) return undefined;
  const bytes = graph.arenas[graph.arena[id] as number] as Uint8Array;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
    "utf8",
    graph.start[id] as number,
    graph.end[id] as number,
  );
}

/**
 * How a large export is read: `workers` threads (default: `defaultWorkerCount()`) once `minParallelBytes` of it have been read
 * (default 4 MB; a smaller export never starts a worker). `workers: 0` keeps everything in this thread.
 */
export interface ParallelOptions {
  workers?: number;
  minParallelBytes?: number;
  /** Bytes of records per batch (tests make it small, to have many batches in flight). */
  batchBytes?: number;
}

export const DEFAULT_MIN_PARALLEL_BYTES = 4 << 20;
const BATCH_BYTES = 256 << 10;

/** Where objects rendered in this thread keep their bytes (a batch's results bring their own). */
class ArenaWriter {
  private current: Buffer | undefined;
  private index = -1;
  private used = 0;

  constructor(private readonly graph: PrerenderedGraph) {}

  /** Stores `text` as UTF-8 for object `id`. */
  write(id: number, text: string): void {
    const room = text.length * 3;
    if (this.current === undefined || this.current.length - this.used < room) {
      this.current = Buffer.allocUnsafeSlow(Math.max(1 << 20, room));
      this.index = this.graph.arenas.push(this.current) - 1;
      this.used = 0;
    }
    const { graph } = this;
    graph.arena[id] = this.index;
    graph.start[id] = this.used;
    this.used += this.current.write(text, this.used, "utf8");
    graph.end[id] = this.used;
  }
}

function emptyGraph(): PrerenderedGraph {
  return {
    ids: new TagIds(),
    workers: 0,
    objectCount: 0,
    kinds: [],
    names: [],
    lines: [],
    arena: [],
    start: [],
    end: [],
    arenas: [],
    relationKeys: [],
    nulTypes: false,
    relationFrom: [],
    relationContains: [],
  };
}

function addRelationKey(graph: PrerenderedGraph, key: string): void {
  const { ids } = graph;
  graph.relationKeys.push(key);
  graph.relationFrom.push(ids.intern(key.slice(0, TAG_LENGTH)));
  const type = key.slice(TAG_LENGTH, -TAG_LENGTH - 1);
  graph.relationContains.push(type === CONTAINS ? ids.intern(key.slice(-TAG_LENGTH)) : -1);
}

/**
 * Takes a batch's results into the graph in record order: objects (a repeated tag is a problem naming the line of
 * its first definition, as `loadGraph` says it), relations, invalid records' problems; then a record that was not
 * JSON ends the export with its error.
 */
function takeBatchResult(
  graph: PrerenderedGraph,
  batch: Pick<RecordBatch, "label" | "lines" | "indexes">,
  result: BatchResult,
  problems: SnapshooterProblem[],
): void {
  const { ids } = graph;
  const arena = graph.arenas.push(result.json) - 1;
  const tags = Buffer.from(result.tags.buffer, result.tags.byteOffset, result.tags.byteLength);
  let object = 0;
  let relation = 0;
  let container = 0;
  let invalid = 0;
  let problem = 0;
  let jsonStart = 0;
  let relationStart = 0;
  const { relationText, relationTags } = result;
  if (result.nulTypes) graph.nulTypes = true;
  for (let i = 0; i < result.outcomes.length; i++) {
    const outcome = result.outcomes[i] as number;
    if (outcome === OUTCOME_OBJECT) {
      const id = ids.internBytes(tags, object * TAG_LENGTH);
      const kind = result.kinds[object] as number;
      const jsonEnd = result.jsonEnds[object] as number;
      const name = kind === 2 ? "" : (result.containerNames[container++] as string);
      const line = batch.lines[i] as number;
      const earlier = graph.lines[id];
      if (earlier !== undefined) {
        const index = batch.indexes[i] as number;
        problems.push({
          path: describeRecord({ label: batch.label, line, index: index === 0 ? undefined : index }),
          message: `repeats object ${ids.tags[id]}, already defined on line ${earlier}`,
        });
      } else {
        graph.kinds[id] = kind;
        if (kind !== 2) graph.names[id] = name;
        graph.lines[id] = line;
        graph.arena[id] = arena;
        graph.start[id] = jsonStart;
        graph.end[id] = jsonEnd;
        graph.objectCount++;
      }
      jsonStart = jsonEnd;
      object++;
    } else if (outcome === OUTCOME_INVALID) {
      const count = result.problemCounts[invalid++] as number;
      for (let p = 0; p < count; p++) problems.push(result.problems[problem++] as SnapshooterProblem);
    } else {
      // A relation: its key, and its tags numbered from the digits the batch read.
      const end = result.relationEnds[relation] as number;
      const key = relationText.slice(relationStart, end);
      const at = 4 * relation;
      const fromHigh = relationTags[at] as number;
      const fromLow = relationTags[at + 1] as number;
      const toHigh = relationTags[at + 2] as number;
      graph.relationKeys.push(key);
      graph.relationFrom.push(ids.internNumbers(fromHigh, fromLow, relationText, relationStart));
      graph.relationContains.push(
        toHigh < 0 ? -1 : ids.internNumbers(toHigh, relationTags[at + 3] as number, relationText, end - TAG_LENGTH),
      );
      relationStart = end;
      relation++;
    }
  }
  if (result.syntax) {
    throw new SnapshooterError("INVALID_EXPORT", result.syntax.message, { problems: result.syntax.problems });
  }
}

/**
 * Reads and validates every record of `source` (its bytes when it gives them, else its parsed batches), with the
 * same problems as `loadGraph`.
 */
export async function loadPrerenderedGraph(
  source: CodeAsDataSource,
  signal?: AbortSignal,
  parallel: ParallelOptions = {},
): Promise<PrerenderedGraph> {
  const graph = emptyGraph();
  const problems: SnapshooterProblem[] = [];
  if (!source.bytes) {
    const arenas = new ArenaWriter(graph);
    const take = createRecordTaker(
      problems,
      (object, line) => {
        const id = graph.ids.intern(object.tag);
        const earlier = graph.lines[id];
        if (earlier !== undefined) return earlier;
        const kind = OBJECT_KINDS.indexOf(object.kind);
        graph.kinds[id] = kind;
        if (kind !== 2) graph.names[id] = object.name;
        graph.lines[id] = line;
        // Objects from the taker have their keys sorted all the way down: JSON.stringify prints canonical JSON.
        arenas.write(id, JSON.stringify(object));
        graph.objectCount++;
        return undefined;
      },
      (relation: Relation) => {
        if (relation.type.includes("\u0000")) graph.nulTypes = true;
        addRelationKey(graph, relationKey(relation));
      },
    );
    try {
      await takeBatches(source, take, problems, signal);
    } catch (error) {
      collectSyntaxError(error, problems);
    }
    throwIfAborted(signal);
    throwExportProblems(source, problems);
    return graph;
  }

  const workers = parallel.workers ?? defaultWorkerCount();
  const minParallelBytes = parallel.minParallelBytes ?? DEFAULT_MIN_PARALLEL_BYTES;
  let pool: RecordWorkers | undefined;
  /** Batches handed to the workers, oldest first, with their results to come. */
  const inFlight: { batch: Pick<RecordBatch, "label" | "lines" | "indexes">; result: Promise<BatchResult> }[] = [];
  let read = 0;
  const { label, chunks } = await source.bytes(signal);
  const builder = new BatchBuilder(label, parallel.batchBytes ?? BATCH_BYTES);
  const flush = () => {
    if (builder.count === 0) return;
    const batch = builder.take();
    if (pool === undefined && workers > 0 && read >= minParallelBytes) {
      pool = new RecordWorkers(workers);
      graph.workers = workers;
    }
    if (pool === undefined) {
      takeBatchResult(graph, batch, takeRecordBatch(batch, exportRecordSchema), problems);
      return;
    }
    const result = pool.submit(batch);
    // Awaited in order below; a batch left behind by an earlier error must not be an unhandled rejection.
    result.catch(() => undefined);
    inFlight.push({ batch: { label: batch.label, lines: batch.lines, indexes: batch.indexes }, result });
  };
  const takeOldest = async () => {
    const next = inFlight.shift();
    if (next) takeBatchResult(graph, next.batch, await next.result, problems);
  };
  const splitter = new RecordSplitter(label, (bytes, start, end, line, index) => {
    builder.add(bytes, start, end, line, index);
    if (builder.full) flush();
  });
  try {
    let framing: unknown;
    let stopped = false;
    const iterator = chunks[Symbol.asyncIterator]();
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        throwIfAborted(signal);
        read += next.value.length;
        try {
          splitter.push(next.value);
        } catch (error) {
          framing = error;
          break;
        } finally {
          builder.copyRun();
        }
        // At most two batches waiting per worker: the export is read no faster than it is taken.
        while (pool !== undefined && inFlight.length > 2 * pool.size) await takeOldest();
        if (problems.length >= MAX_PROBLEMS) {
          stopped = true;
          break;
        }
      }
      if (!stopped && framing === undefined) {
        try {
          splitter.end();
        } catch (error) {
          framing = error;
        }
      }
    } finally {
      await iterator.return?.();
    }
    // The records before a framing problem are taken first: their own problems come before it.
    if (!stopped) flush();
    while (inFlight.length > 0 && problems.length < MAX_PROBLEMS) {
      throwIfAborted(signal);
      await takeOldest();
    }
    if (framing !== undefined) throw framing;
  } catch (error) {
    collectSyntaxError(error, problems);
  } finally {
    await pool?.close();
  }
  throwIfAborted(signal);
  throwExportProblems(source, problems);
  return graph;
}

const SEPARATOR_LENGTH = 6;

/** One patch file's bytes: the text `renderPatchText` (canonical.ts) writes, with the objects' bytes copied in. */
function renderPatchBytes(
  graph: PrerenderedGraph,
  head: { tag: string; kind: ObjectKind; name: string; parent: string | null },
  objects: readonly number[],
  relations: readonly string[],
): Buffer {
  const top = `{
  "format": ${JSON.stringify(PATCH_FORMAT)},
  "kind": ${JSON.stringify(head.kind)},
  "name": ${JSON.stringify(head.name)},
  "objects": ${objects.length === 0 ? "[]" : "[\n    "}`;
  const rest = `${objects.length === 0 ? "" : "\n  ]"},
  "parent": ${JSON.stringify(head.parent)},
  "relations": ${patchList(relations)},
  "tag": ${JSON.stringify(head.tag)}
}
`;
  const { arena, start, end, arenas } = graph;
  let size = Buffer.byteLength(top) + Buffer.byteLength(rest) + Math.max(0, objects.length - 1) * SEPARATOR_LENGTH;
  for (const id of objects) size += (end[id] as number) - (start[id] as number);
  const out = Buffer.allocUnsafe(size);
  let at = out.write(top, 0, "utf8");
  for (let i = 0; i < objects.length; i++) {
    const id = objects[i] as number;
    if (i > 0) {
      // `,\n    `: byte by byte, cheaper than a copy call for six bytes.
      out[at] = 44;
      out[at + 1] = 10;
      out[at + 2] = 32;
      out[at + 3] = 32;
      out[at + 4] = 32;
      out[at + 5] = 32;
      at += SEPARATOR_LENGTH;
    }
    const bytes = arenas[arena[id] as number] as Uint8Array;
    out.set(bytes.subarray(start[id] as number, end[id] as number), at);
    at += (end[id] as number) - (start[id] as number);
  }
  out.write(rest, at, "utf8");
  return out;
}

/**
 * One snapshot's patch files from a prerendered graph: the same selection as `selectSnapshot` and the same bytes as
 * `renderPatches`. Also returns which tags the snapshot holds, for the deletion guard.
 */
export function renderPrerendered(
  graph: PrerenderedGraph,
  meta: { name: string; rootTags: readonly string[]; exclude: readonly string[] },
): { files: Map<string, Buffer>; objects: number; has(tag: string): boolean } {
  const { ids, kinds } = graph;
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
  const kindOf = (id: number) => {
    const kind = kinds[id];
    return kind === undefined ? undefined : OBJECT_KINDS[kind];
  };
  const { order, owner, parent } = walkContainment({ ids, children, kindOf }, meta);
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
  const files: [string, Buffer][] = [];
  const entries: ManifestEntry[] = [];
  let relationCount = 0;
  for (const id of owners) {
    const group = members[id] as { objects: number[]; relationKeys: string[] };
    const up = parent[id] as number;
    const tag = tags[id] as string;
    const kind = kindOf(id) as ObjectKind;
    const name = graph.names[id] as string;
    const relations = relationLines(group.relationKeys, graph.nulTypes);
    relationCount += relations.length;
    const bytes = renderPatchBytes(
      graph,
      { tag, kind, name, parent: up === -1 ? null : (tags[up] as string) },
      group.objects.sort(ids.compare),
      relations,
    );
    const path = patchPath(kind, tag);
    files.push([path, bytes]);
    entries.push({
      path,
      tag,
      kind,
      name,
      objects: group.objects.length,
      relations: relations.length,
      sha256: sha256(bytes),
    });
  }
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const sorted = new Map(files);
  sorted.set(MANIFEST_FILE, Buffer.from(manifestText(entries, meta, order.length, relationCount)));
  return {
    files: sorted,
    objects: order.length,
    has: (tag) => {
      const id = ids.get(tag);
      return id !== undefined && owner[id] !== -1;
    },
  };
}
