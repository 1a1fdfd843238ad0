/**
 * The snapshot's own read of an export: each record is validated and turned into the text its patch file holds as
 * soon as it is read, so no parsed tree of the whole export is ever kept (see BENCHMARKS.md, 2026-12-06 afternoon).
 *
 * - A relation in the usual form, `{"record":"relation","from":"<20 digits>","to":"<20 digits>","type":"<text>"}`
 *   with a type of printable ASCII (no quote, no backslash), is read straight from its bytes: every such text is
 *   one `exportRecordSchema` accepts (a strict object with exactly those keys, two tags, a non-empty type), and it
 *   is kept as its tags' ids and its type's id, from which the patch line is written.
 * - An object record in a usual form is written straight from its bytes into its canonical JSON line
 *   (`readObjectRecord`, canonical-bytes.ts, which takes only forms the schema accepts and whose printed bytes are
 *   certain, and declines the rest).
 * - Every other record is parsed and validated by the same code as `loadGraph` (`createRecordTaker`: the fast path,
 *   then zod with its messages), and an object is kept as its canonical JSON line's UTF-8 bytes.
 *
 * Nothing is kept per record on the JavaScript heap: relations are three numbers (tag ids and a type id) in typed
 * arrays, objects' lines sit in large byte pages, and each patch file is rendered into one reused buffer when the
 * files are iterated (`PatchFiles`). Hundreds of thousands of small strings surviving young-generation GCs were a
 * quarter of a snapshot's CPU (BENCHMARKS.md, 2026-12-06 evening).
 *
 * So a snapshot accepts and refuses exactly what `loadGraph` does, with the same problems, and writes the same bytes
 * as `renderPatches(selectSnapshot(loadGraph(...)))` (tested in prerendered.test.ts).
 */
import { createHash } from "node:crypto";
import {
  canonicalJson,
  MANIFEST_FILE,
  type Manifest,
  type ManifestEntry,
  PATCH_FORMAT,
  patchPath,
} from "./canonical.js";
import { objectRecordFields, readObjectRecord } from "./canonical-bytes.js";
import { type SnapshooterProblem, throwIfAborted } from "./errors.js";
import {
  collectSyntaxError,
  createRecordTaker,
  MAX_PROBLEMS,
  repeatedObject,
  takeBatches,
  throwExportProblems,
  walkContainment,
} from "./graph.js";
import { CONTAINS, type ObjectKind, type Relation } from "./model.js";
import { parseRecordText, RecordSplitter } from "./sources/parse-stream.js";
import type { CodeAsDataSource } from "./sources/source.js";
import { readTagDigits, TagIds } from "./tag-ids.js";
import type { RendersInto } from "./write.js";

const KINDS: readonly (ObjectKind | undefined)[] = [undefined, "folder", "project", "object"];
const KIND_CODE: Record<ObjectKind, number> = { folder: 1, project: 2, object: 3 };
/** Objects' lines are kept in pages of this size (a longer line gets a page of its own). */
const PAGE_SIZE = 4 << 20;

function grown<T extends Int32Array | Uint8Array>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  const out = new (array.constructor as new (n: number) => T)(Math.max(needed, array.length * 2));
  out.set(array);
  return out;
}

/**
 * An export read for snapshots: objects as their patch lines' bytes, relations as tag ids and a type id, every tag
 * numbered once so the walk, the grouping and the sorting work on integers.
 */
export class PrerenderedGraph {
  readonly ids = new TagIds();
  objectCount = 0;
  relationCount = 0;
  /** Relation types by id. */
  readonly types: string[] = [];
  private readonly typeIds = new Map<string, number>();
  /**
   * The first few types that are plain (printable ASCII, no `"` or `\`), as bytes, matched against relations' bytes:
   * such a type's bytes in a record need no other check.
   */
  private readonly plainTypes: { bytes: Buffer; id: number }[] = [];
  /** By id (0 past the end): the object's kind as an index of KINDS, 0 for a tag that names no object. */
  kindCode = new Uint8Array(1024);
  /** By id: where the object was first defined, for the message about a repeated tag. */
  line = new Int32Array(1024);
  /** By id: the page, offset and length of the object's canonical JSON line. */
  page = new Int32Array(1024);
  offset = new Int32Array(1024);
  length = new Int32Array(1024);
  /** By id, for folders and projects only: the name, for the patch file and the manifest. */
  readonly names: (string | undefined)[] = [];
  readonly pages: Buffer[] = [];
  private pageAt = PAGE_SIZE;
  /** By relation: the ids of its tags and its type. */
  relFrom = new Int32Array(4096);
  relTo = new Int32Array(4096);
  relType = new Int32Array(4096);

  /** A view of the chunk being read, for reads of four bytes at a time (made again when the chunk changes). */
  private viewed: Buffer | undefined;
  private view: DataView = new DataView(new ArrayBuffer(0));

  viewOf(bytes: Buffer): DataView {
    if (bytes !== this.viewed) {
      this.viewed = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    return this.view;
  }

  kindOf(id: number): ObjectKind | undefined {
    return KINDS[this.kindCode[id] ?? 0];
  }

  /** The id of a relation type, numbered now if new. */
  typeId(type: string): number {
    let id = this.typeIds.get(type);
    if (id === undefined) {
      id = this.types.push(type) - 1;
      this.typeIds.set(type, id);
      if (this.plainTypes.length < 8 && isPlainType(type))
        this.plainTypes.push({ bytes: Buffer.from(type, "latin1"), id });
    }
    return id;
  }

  /** The id of a known plain type (see `plainTypes`) whose bytes are `bytes[from, to)`, or -1. */
  plainTypeOfBytes(bytes: Buffer, from: number, to: number): number {
    const n = to - from;
    const known = this.plainTypes;
    for (let t = 0; t < known.length; t++) {
      const candidate = (known[t] as { bytes: Buffer }).bytes;
      if (candidate.length !== n) continue;
      let i = 0;
      while (i < n && candidate[i] === bytes[from + i]) i++;
      if (i === n) return (known[t] as { id: number }).id;
    }
    return -1;
  }

  addRelation(from: number, to: number, type: number): void {
    const i = this.relationCount++;
    if (i >= this.relFrom.length) {
      this.relFrom = grown(this.relFrom, i + 1);
      this.relTo = grown(this.relTo, i + 1);
      this.relType = grown(this.relType, i + 1);
    }
    this.relFrom[i] = from;
    this.relTo[i] = to;
    this.relType[i] = type;
  }

  /** Keeps the object unless its tag was defined before; then returns the line of that definition. */
  addObject(id: number, kind: ObjectKind, name: string, json: string, line: number): number | undefined {
    if (id < this.kindCode.length && this.kindCode[id] !== 0) return this.line[id];
    this.grow(id);
    this.kindCode[id] = KIND_CODE[kind];
    this.line[id] = line;
    if (kind !== "object") this.names[id] = name;
    // At most 3 bytes of UTF-8 per UTF-16 unit: a line that might not fit starts a new page.
    let page = this.pages[this.pages.length - 1];
    if (page === undefined || json.length * 3 > page.length - this.pageAt) {
      page = Buffer.allocUnsafeSlow(Math.max(PAGE_SIZE, Buffer.byteLength(json)));
      this.pages.push(page);
      this.pageAt = 0;
    }
    const written = page.write(json, this.pageAt);
    this.page[id] = this.pages.length - 1;
    this.offset[id] = this.pageAt;
    this.length[id] = written;
    this.pageAt += written;
    this.objectCount++;
    return undefined;
  }

  /**
   * Keeps the object record `bytes[start, end)` when `readObjectRecord` takes it, written straight into the page:
   * returns 0, or the line of the tag's earlier definition (then the object is not kept); -1 when the record is not
   * taken (nothing kept: the caller parses it).
   */
  addObjectBytes(bytes: Buffer, start: number, end: number, line: number): number {
    let page = this.pages[this.pages.length - 1];
    // The line is never longer than the record (blanks and the "record" member go; at most `"properties":{}` comes).
    const room = end - start + 16;
    if (page === undefined || room > page.length - this.pageAt) {
      page = Buffer.allocUnsafeSlow(Math.max(PAGE_SIZE, room));
      this.pages.push(page);
      this.pageAt = 0;
    }
    const lineEnd = readObjectRecord(bytes, start, end, page, this.pageAt);
    if (lineEnd < 0) return -1;
    const { tagAt, kind, nameStart, nameEnd } = objectRecordFields;
    const id = this.ids.internBytes(bytes, tagAt);
    if (id < this.kindCode.length && this.kindCode[id] !== 0) return this.line[id] as number;
    this.grow(id);
    this.kindCode[id] = kind;
    this.line[id] = line;
    if (kind !== KIND_CODE.object) this.names[id] = JSON.parse(bytes.toString("utf8", nameStart, nameEnd)) as string;
    this.page[id] = this.pages.length - 1;
    this.offset[id] = this.pageAt;
    this.length[id] = lineEnd - this.pageAt;
    this.pageAt = lineEnd;
    this.objectCount++;
    return 0;
  }

  private grow(id: number): void {
    if (id < this.kindCode.length) return;
    const n = Math.max(id + 1, this.kindCode.length * 2);
    this.kindCode = grown(this.kindCode, n);
    this.line = grown(this.line, n);
    this.page = grown(this.page, n);
    this.offset = grown(this.offset, n);
    this.length = grown(this.length, n);
  }

  /** The object's canonical JSON line, or undefined for a tag that names no object (for tests and messages). */
  objectJson(id: number): string | undefined {
    if (!this.kindCode[id]) return undefined;
    const offset = this.offset[id] as number;
    return (this.pages[this.page[id] as number] as Buffer).toString(
      "utf8",
      offset,
      offset + (this.length[id] as number),
    );
  }

  /** Every relation as read, in order (for tests). */
  relations(): Relation[] {
    const { ids } = this;
    return Array.from({ length: this.relationCount }, (_, i) => ({
      from: ids.tag(this.relFrom[i] as number),
      to: ids.tag(this.relTo[i] as number),
      type: this.types[this.relType[i] as number] as string,
    }));
  }
}

/** Bytes written or compared four at a time: the bytes, and their whole little-endian 32-bit words. */
interface Piece {
  bytes: Buffer;
  words: Int32Array;
}

function piece(text: string): Piece {
  const bytes = Buffer.from(text);
  const words = new Int32Array(bytes.length >>> 2);
  for (let w = 0; w < words.length; w++) words[w] = bytes.readInt32LE(4 * w);
  return { bytes, words };
}

const RELATION_HEAD = Buffer.from('{"record":"relation","from":"');
const TO_KEY = Buffer.from('","to":"');
const TYPE_KEY = Buffer.from('","type":"');
const TAG_LENGTH = 20;
const FROM_AT = RELATION_HEAD.length;
const TO_AT = FROM_AT + TAG_LENGTH + TO_KEY.length;
const TYPE_AT = TO_AT + TAG_LENGTH + TYPE_KEY.length;

const RELATION_HEAD_PIECE = piece(RELATION_HEAD.toString());
const TO_KEY_PIECE = piece(TO_KEY.toString());
const TYPE_KEY_PIECE = piece(TYPE_KEY.toString());

/** Whether `bytes[at]` (`view` over `bytes`) holds `p`, compared four bytes at a time. */
function matchesPiece(bytes: Buffer, view: DataView, at: number, p: Piece): boolean {
  const { bytes: expected, words } = p;
  for (let w = 0; w < words.length; w++) if (view.getInt32(at + 4 * w, true) !== words[w]) return false;
  for (let i = 4 * words.length; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

/** Both tags' parts of the relation being read (`readTagDigits`): from at 0, to at 3. */
const relationParts = new Int32Array(6);

/**
 * Adds the relation `bytes[start, end)` (`view` over `bytes`) to the graph when it is in the usual form (trailing
 * blanks allowed) and returns true; false leaves it to JSON.parse and the schema. Nothing is numbered before the
 * whole record is checked. Compared and read four bytes at a time (byte by byte, with each tag's digits read twice,
 * the read of a 100,000-object export took ~27 ms more main-thread CPU, median of 6 alternating runs).
 */
function addRelationBytes(graph: PrerenderedGraph, bytes: Buffer, view: DataView, start: number, end: number): boolean {
  let last = end;
  while (last > start) {
    const c = bytes[last - 1] as number;
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    last--;
  }
  // At least one byte of type, then `"}`.
  if (last - start < TYPE_AT + 3 || bytes[last - 1] !== 125 || bytes[last - 2] !== 34) return false;
  const parts = relationParts;
  if (!matchesPiece(bytes, view, start, RELATION_HEAD_PIECE) || !readTagDigits(view, start + FROM_AT, parts, 0))
    return false;
  if (!matchesPiece(bytes, view, start + FROM_AT + TAG_LENGTH, TO_KEY_PIECE)) return false;
  if (!readTagDigits(view, start + TO_AT, parts, 3)) return false;
  if (!matchesPiece(bytes, view, start + TO_AT + TAG_LENGTH, TYPE_KEY_PIECE)) return false;
  // A type seen before is matched at once; another is checked byte by byte, then numbered.
  let type = graph.plainTypeOfBytes(bytes, start + TYPE_AT, last - 2);
  if (type < 0) {
    for (let i = start + TYPE_AT; i < last - 2; i++) if (!isPlainCode(bytes[i] as number)) return false;
    type = graph.typeId(bytes.toString("latin1", start + TYPE_AT, last - 2));
  }
  const { ids } = graph;
  const from = ids.internParts(parts, 0, bytes, start + FROM_AT);
  const to = ids.internParts(parts, 3, bytes, start + TO_AT);
  graph.addRelation(from, to, type);
  return true;
}

/** Printable ASCII but `"` and `\`: what a relation type's bytes in the usual form may hold. */
function isPlainCode(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 34 && c !== 92;
}

/** Whether a relation type is made of plain codes only: one whose bytes a record holds as they are. */
function isPlainType(type: string): boolean {
  if (type.length === 0) return false;
  for (let i = 0; i < type.length; i++) if (!isPlainCode(type.charCodeAt(i))) return false;
  return true;
}

/**
 * Reads and validates every record of `source` (its bytes when it gives them, else its parsed batches), with the
 * same problems as `loadGraph`.
 */
export async function loadPrerenderedGraph(source: CodeAsDataSource, signal?: AbortSignal): Promise<PrerenderedGraph> {
  const graph = new PrerenderedGraph();
  const problems: SnapshooterProblem[] = [];
  /** An object record in a usual form, read straight from its bytes (see canonical-bytes.ts); false: not taken. */
  const takeObjectBytes = (
    bytes: Buffer,
    start: number,
    end: number,
    label: string,
    line: number,
    index: number | undefined,
  ): boolean => {
    const earlier = graph.addObjectBytes(bytes, start, end, line);
    if (earlier < 0) return false;
    if (earlier > 0) {
      const tag = bytes.toString("latin1", objectRecordFields.tagAt, objectRecordFields.tagAt + TAG_LENGTH);
      problems.push(repeatedObject(index === undefined ? { label, line } : { label, line, index }, tag, earlier));
    }
    return true;
  };
  const take = createRecordTaker(
    problems,
    // Objects from the taker have their keys sorted all the way down: JSON.stringify prints canonical JSON.
    (object, line) =>
      graph.addObject(graph.ids.intern(object.tag), object.kind, object.name, JSON.stringify(object), line),
    (relation: Relation) => {
      graph.addRelation(graph.ids.intern(relation.from), graph.ids.intern(relation.to), graph.typeId(relation.type));
    },
  );

  try {
    if (source.bytes) {
      const { label, chunks } = await source.bytes(signal);
      const splitter = new RecordSplitter(
        label,
        (bytes, start, end, line, index) => {
          if (addRelationBytes(graph, bytes, graph.viewOf(bytes), start, end)) return;
          if (takeObjectBytes(bytes, start, end, label, line, index)) return;
          take(parseRecordText(bytes.toString("utf8", start, end), label, line, index));
        },
        // A JSON array's element alone on its line: taken when it is valid JSON, else scanned as usual.
        (bytes, start, end, line, index) => {
          if (addRelationBytes(graph, bytes, graph.viewOf(bytes), start, end)) return true;
          if (takeObjectBytes(bytes, start, end, label, line, index)) return true;
          let value: unknown;
          try {
            value = JSON.parse(bytes.toString("utf8", start, end));
          } catch {
            return false;
          }
          take({ value, label, line, index });
          return true;
        },
      );
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

/** Sorts `keys[a, b)`: by insertion for the few relations most tags have, else the built-in numeric sort. */
function sortRange(keys: Float64Array, a: number, b: number): void {
  if (b - a > 24) {
    keys.subarray(a, b).sort();
    return;
  }
  for (let i = a + 1; i < b; i++) {
    const key = keys[i] as number;
    let j = i - 1;
    while (j >= a && (keys[j] as number) > key) {
      keys[j + 1] = keys[j] as number;
      j--;
    }
    keys[j + 1] = key;
  }
}

/** Every relation of the export as (from, type, to) ids, sorted and without duplicates; and the containment lists. */
interface SortedRelations {
  from: Int32Array;
  type: Int32Array;
  to: Int32Array;
  count: number;
  /** The `contains` relations' `to` ids, grouped by the rank of `from`, each group in tag order, duplicates kept. */
  children: { rank: Int32Array; start: Int32Array; list: Int32Array };
}

/**
 * Every relation in (rank of from, rank of type, rank of to) order, in linear time but for the small per-tag sorts:
 * grouped by the rank of `from` (a counting sort), then each group sorted by (rank of type, rank of to) as one exact
 * number. One large sort of mixed-radix keys cost more (~60 ms of comparisons for 250,000 relations), and another
 * of the `contains` relations gave the containment lists; here those lists come out of this order. Null when
 * (types × tags) is not exact in a double (the caller then sorts with `relationOrder`).
 */
function sortRelations(
  graph: PrerenderedGraph,
  rank: Int32Array,
  byRank: Int32Array,
  typeRank: Int32Array,
  typeOrder: readonly number[],
  containsType: number,
): SortedRelations | null {
  const n = graph.ids.size;
  const t = graph.types.length;
  if (t * n > 2 ** 52) return null;
  const total = graph.relationCount;
  const { relFrom, relTo, relType } = graph;
  // next[r]: where the next relation whose `from` has rank r goes (the groups' starts, then their ends once filled).
  const next = new Int32Array(n + 1);
  for (let i = 0; i < total; i++) (next[(rank[relFrom[i] as number] as number) + 1] as number)++;
  for (let r = 1; r <= n; r++) (next[r] as number) += next[r - 1] as number;
  const keys = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    const r = rank[relFrom[i] as number] as number;
    keys[(next[r] as number)++] = (typeRank[relType[i] as number] as number) * n + (rank[relTo[i] as number] as number);
  }
  let a = 0;
  for (let r = 0; r < n; r++) {
    const b = next[r] as number;
    if (b - a > 1) sortRange(keys, a, b);
    a = b;
  }
  const from = new Int32Array(total);
  const type = new Int32Array(total);
  const to = new Int32Array(total);
  const containsRank = containsType < 0 ? -1 : (typeRank[containsType] as number);
  const start = new Int32Array(n + 1);
  let containsCount = 0;
  for (let k = 0; k < total; k++) {
    const key = keys[k] as number;
    if (key >= containsRank * n && key < (containsRank + 1) * n) containsCount++;
  }
  const list = new Int32Array(containsCount);
  let unique = 0;
  let children = 0;
  a = 0;
  for (let r = 0; r < n; r++) {
    const b = next[r] as number;
    const id = byRank[r] as number;
    for (let k = a; k < b; k++) {
      const key = keys[k] as number;
      let typeR = Math.floor(key / n);
      if (typeR * n > key) typeR--;
      const toR = key - typeR * n;
      const child = byRank[toR] as number;
      if (typeR === containsRank) list[children++] = child;
      // An export may list a relation twice: equal keys are neighbours once sorted.
      if (k > a && key === keys[k - 1]) continue;
      from[unique] = id;
      type[unique] = typeOrder[typeR] as number;
      to[unique] = child;
      unique++;
    }
    start[r + 1] = children;
    a = b;
  }
  return { from, type, to, count: unique, children: { rank, start, list } };
}

/**
 * Relations as one sortable number each: (rank of from, rank of type, rank of to) in mixed radix, when the largest
 * such number is exact in a double; else null (then `relationOrder` compares the three parts).
 */
function relationKeys(
  graph: PrerenderedGraph,
  selected: Int32Array,
  count: number,
  rank: Int32Array,
  typeRank: Int32Array,
): Float64Array | null {
  const n = graph.ids.size;
  const t = graph.types.length;
  if (n * t * n > Number.MAX_SAFE_INTEGER) return null;
  const keys = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const i = selected[k] as number;
    keys[k] =
      ((rank[graph.relFrom[i] as number] as number) * t + (typeRank[graph.relType[i] as number] as number)) * n +
      (rank[graph.relTo[i] as number] as number);
  }
  return keys.sort();
}

/** The selected relations' indexes in (from, type, to) order, by comparing the parts (for very large exports). */
export function relationOrder(
  graph: PrerenderedGraph,
  selected: Int32Array,
  rank: Int32Array,
  typeRank: Int32Array,
): Int32Array {
  const { relFrom, relTo, relType } = graph;
  return selected.sort(
    (a, b) =>
      (rank[relFrom[a] as number] as number) - (rank[relFrom[b] as number] as number) ||
      (typeRank[relType[a] as number] as number) - (typeRank[relType[b] as number] as number) ||
      (rank[relTo[a] as number] as number) - (rank[relTo[b] as number] as number),
  );
}

const OPEN_LIST = Buffer.from("[\n    ");
const NEXT_ITEM = Buffer.from(",\n    ");
const CLOSE_LIST = Buffer.from("\n  ]");
const EMPTY_LIST = Buffer.from("[]");
const REL_FROM = Buffer.from('{"from":"');
const REL_TO = Buffer.from('","to":"');
const REL_LINE = REL_FROM.length + TAG_LENGTH + REL_TO.length + TAG_LENGTH;

const REL_FROM_PIECE = piece(REL_FROM.toString());
const REL_TO_PIECE = piece(REL_TO.toString());

/** Writes `p` at `out[at]` (`view` over `out`); returns the end. */
function putPiece(out: Buffer, view: DataView, at: number, p: Piece): number {
  const { bytes, words } = p;
  for (let w = 0; w < words.length; w++) view.setUint32(at + 4 * w, words[w] as number, true);
  for (let i = 4 * words.length; i < bytes.length; i++) out[at + i] = bytes[i] as number;
  return at + bytes.length;
}

/** Copies the tag of `id` (its 20 digits from `digits`, aligned at `20 * id`) to `out[at]` as five 32-bit words. */
function putTag(view: DataView, at: number, digits: DataView, id: number): void {
  const from = id * TAG_LENGTH;
  view.setUint32(at, digits.getUint32(from, true), true);
  view.setUint32(at + 4, digits.getUint32(from + 4, true), true);
  view.setUint32(at + 8, digits.getUint32(from + 8, true), true);
  view.setUint32(at + 12, digits.getUint32(from + 12, true), true);
  view.setUint32(at + 16, digits.getUint32(from + 16, true), true);
}

/** Copies `bytes` to `out[at]`; returns the end. A byte loop: Buffer#copy costs more than it saves on a few bytes. */
function put(out: Uint8Array, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) out[at + i] = bytes[i] as number;
  return at + bytes.length;
}

function listSize(items: number, bytes: number): number {
  return items === 0
    ? EMPTY_LIST.length
    : OPEN_LIST.length + bytes + (items - 1) * NEXT_ITEM.length + CLOSE_LIST.length;
}

/**
 * The loops of a patch file's rendering, each in a function of its own: inside one long `render`, each loop was
 * compiled on its own (on-stack replacement) and the code after it, never run yet, threw the optimized code away,
 * so `render` was optimized three times with all it inlines (measured under load: ~190 ms of the optimizing
 * compiler's time, on a core the snapshot shares).
 */
function objectListBytes(graph: PrerenderedGraph, objectList: Int32Array, o0: number, o1: number): number {
  let bytes = 0;
  for (let o = o0; o < o1; o++) bytes += graph.length[objectList[o] as number] as number;
  return bytes;
}

function relationListBytes(
  relType: Int32Array,
  relationList: Int32Array,
  typeTail: readonly Piece[],
  r0: number,
  r1: number,
): number {
  let bytes = 0;
  for (let r = r0; r < r1; r++)
    bytes += REL_LINE + (typeTail[relType[relationList[r] as number] as number] as Piece).bytes.length;
  return bytes;
}

/** The objects' lines `objectList[o0, o1)` at `out[at]`, separated; returns the end. */
function putObjects(
  out: Buffer,
  at: number,
  graph: PrerenderedGraph,
  objectList: Int32Array,
  o0: number,
  o1: number,
): number {
  for (let o = o0; o < o1; o++) {
    if (o > o0) for (let i = 0; i < NEXT_ITEM.length; i++) out[at++] = NEXT_ITEM[i] as number;
    const object = objectList[o] as number;
    const start = graph.offset[object] as number;
    // A few hundred bytes: the native copy is ~10x a byte loop (into a buffer already touched).
    at += (graph.pages[graph.page[object] as number] as Buffer).copy(
      out,
      at,
      start,
      start + (graph.length[object] as number),
    );
  }
  return at;
}

/**
 * The relations' lines `relationList[r0, r1)` at `out[at]`, separated; returns the end. Written four bytes at a
 * time (a DataView's 32-bit writes, at any offset): a byte loop per part took ~3x longer for a snapshot's 250,000
 * lines. Each line but the last ends with its type's joint: the end of the line, the separator and the next line's
 * start in one piece.
 */
function putRelations(
  out: Buffer,
  at: number,
  digits: Buffer,
  relations: { from: Int32Array; to: Int32Array; type: Int32Array; list: Int32Array },
  types: { tail: readonly Piece[]; joint: readonly Piece[] },
  r0: number,
  r1: number,
): number {
  if (r0 === r1) return at;
  const { from: relFrom, to: relTo, type: relType, list: relationList } = relations;
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  const digitsView = new DataView(digits.buffer, digits.byteOffset, digits.length);
  at = putPiece(out, view, at, REL_FROM_PIECE);
  for (let r = r0; r < r1; r++) {
    const k = relationList[r] as number;
    putTag(view, at, digitsView, relFrom[k] as number);
    at = putPiece(out, view, at + TAG_LENGTH, REL_TO_PIECE);
    putTag(view, at, digitsView, relTo[k] as number);
    at += TAG_LENGTH;
    const type = relType[k] as number;
    at = putPiece(out, view, at, (r + 1 < r1 ? types.joint[type] : types.tail[type]) as Piece);
  }
  return at;
}

/** One patch file: its owner, path, and where its objects and relations are in the sorted lists. */
interface FilePlan {
  owner: number;
  path: string;
  kind: ObjectKind;
  name: string;
  parent: string | null;
  objects: [number, number];
  relations: [number, number];
}

/**
 * A snapshot's patch files, rendered one at a time when iterated: each file's bytes are written into one buffer
 * reused for every file (valid until the next step), then the manifest. Nothing of 44 MB of patches is kept, and no
 * fresh memory is touched per file (first touches of fresh pages cost more than the rendering). Iterable again; or
 * rendered into memory the consumer gives, the consumer hashing them (`patchesInto`, `after`: see `RendersInto`).
 */
export class PatchFiles implements Iterable<[string, Uint8Array | string]>, RendersInto {
  constructor(
    private readonly graph: PrerenderedGraph,
    private readonly plans: readonly FilePlan[],
    private readonly objectList: Int32Array,
    private readonly relations: { from: Int32Array; to: Int32Array; type: Int32Array; list: Int32Array },
    private readonly types: { tail: readonly Piece[]; joint: readonly Piece[] },
    private readonly meta: { name: string; rootTags: readonly string[]; exclude: readonly string[] },
    readonly objects: number,
  ) {}

  /** How many files, the manifest included. */
  get size(): number {
    return this.plans.length + 1;
  }

  /** Renders `plan` into the `size` bytes `room(size)` gives; returns them. */
  private render(plan: FilePlan, room: (size: number) => Buffer): Buffer {
    const { graph, objectList, types, relations } = this;
    const tag = graph.ids.tag(plan.owner);
    const head = Buffer.from(
      `{\n  "format": ${JSON.stringify(PATCH_FORMAT)},\n  "kind": ${JSON.stringify(plan.kind)},\n  "name": ${JSON.stringify(plan.name)},\n  "objects": `,
    );
    const middle = Buffer.from(`,\n  "parent": ${JSON.stringify(plan.parent)},\n  "relations": `);
    const tail = Buffer.from(`,\n  "tag": ${JSON.stringify(tag)}\n}\n`);
    const o0 = plan.objects[0];
    const o1 = plan.objects[1];
    const r0 = plan.relations[0];
    const r1 = plan.relations[1];
    const objectBytes = objectListBytes(graph, objectList, o0, o1);
    const relationBytes = relationListBytes(relations.type, relations.list, types.tail, r0, r1);
    const size =
      head.length + listSize(o1 - o0, objectBytes) + middle.length + listSize(r1 - r0, relationBytes) + tail.length;
    const out = room(size);
    let at = put(out, 0, head);
    at = put(out, at, o1 === o0 ? EMPTY_LIST : OPEN_LIST);
    at = putObjects(out, at, graph, objectList, o0, o1);
    if (o1 > o0) at = put(out, at, CLOSE_LIST);
    at = put(out, at, middle);
    at = put(out, at, r1 === r0 ? EMPTY_LIST : OPEN_LIST);
    at = putRelations(out, at, graph.ids.digits, relations, types, r0, r1);
    if (r1 > r0) at = put(out, at, CLOSE_LIST);
    at = put(out, at, tail);
    if (at !== size) throw new Error(`patch file of ${tag}: ${at} bytes written, ${size} expected`);
    return out;
  }

  *[Symbol.iterator](): Iterator<[string, Uint8Array | string]> {
    // One buffer per iteration, reused for each file: two iterations at once never share it.
    let scratch: Buffer = Buffer.allocUnsafe(0);
    const digests = new Map<string, string>();
    for (const [path, bytes] of this.patches((size) => {
      if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 2 * scratch.length));
      return scratch.subarray(0, size);
    })) {
      digests.set(path, createHash("sha256").update(bytes).digest("hex"));
      yield [path, bytes];
    }
    yield* this.after((path) => digests.get(path) as string);
  }

  patchesInto(space: (bytes: number) => Uint8Array): Iterable<[string, Uint8Array]> {
    return {
      [Symbol.iterator]: () =>
        this.patches((size) => {
          const room = space(size);
          return Buffer.from(room.buffer, room.byteOffset, size);
        }),
    };
  }

  /** Each patch file, rendered into `room(size)`. */
  private *patches(room: (size: number) => Buffer): Generator<[string, Uint8Array]> {
    for (const plan of this.plans) yield [plan.path, this.render(plan, room)];
  }

  /** The manifest, listing each patch file with its SHA-256 (hex, `digestOf(path)`). */
  after(digestOf: (path: string) => string): [string, string][] {
    let relations = 0;
    const entries: ManifestEntry[] = this.plans.map((plan) => {
      const count = plan.relations[1] - plan.relations[0];
      relations += count;
      return {
        path: plan.path,
        tag: this.graph.ids.tag(plan.owner),
        kind: plan.kind,
        name: plan.name,
        objects: plan.objects[1] - plan.objects[0],
        relations: count,
        sha256: digestOf(plan.path),
      };
    });
    const manifest: Manifest = {
      format: PATCH_FORMAT,
      name: this.meta.name,
      rootTags: [...new Set(this.meta.rootTags)].sort(),
      exclude: [...new Set(this.meta.exclude)].sort(),
      objects: this.objects,
      relations,
      files: entries,
    };
    return [[MANIFEST_FILE, canonicalJson(manifest)]];
  }
}

/*
 * The selection's loops over every object or relation, each in a function of its own (as `render`'s, see
 * `objectListBytes`): inside `renderPrerendered`, the code ran unoptimized until each loop was compiled on its own
 * (on-stack replacement), every element read through an inline cache.
 */

/** The patch files, one per owner, in walk order; each file's objects in tag order (ids taken in rank order). */
function objectsByFile(
  order: Int32Array,
  owner: Int32Array,
  byRank: Int32Array,
): { owners: number[]; fileOf: Int32Array; objectStart: Int32Array; objectList: Int32Array } {
  const owners: number[] = [];
  const fileOf = new Int32Array(owner.length).fill(-1);
  for (let i = 0; i < order.length; i++) {
    const id = order[i] as number;
    if (owner[id] === id) {
      fileOf[id] = owners.length;
      owners.push(id);
    }
  }
  const fileCount = owners.length;
  const objectStart = new Int32Array(fileCount + 1);
  for (let i = 0; i < order.length; i++)
    (objectStart[(fileOf[owner[order[i] as number] as number] as number) + 1] as number)++;
  for (let f = 0; f < fileCount; f++) (objectStart[f + 1] as number) += objectStart[f] as number;
  const objectList = new Int32Array(order.length);
  const fill = objectStart.slice(0, fileCount);
  for (let r = 0; r < byRank.length; r++) {
    const id = byRank[r] as number;
    const own = owner[id] as number;
    if (own >= 0) objectList[(fill[fileOf[own] as number] as number)++] = id;
  }
  return { owners, fileOf, objectStart, objectList };
}

/**
 * Keeps, in place and in order, the sorted relations of the snapshot: from in it, and for `contains`, to as well.
 * Returns how many.
 */
function keepSelected(sorted: SortedRelations, owner: Int32Array, containsType: number): number {
  const { from: relFrom, type: relType, to: relTo } = sorted;
  let unique = 0;
  for (let k = 0; k < sorted.count; k++) {
    const from = relFrom[k] as number;
    if ((owner[from] as number) < 0) continue;
    const to = relTo[k] as number;
    const type = relType[k] as number;
    if (type === containsType && owner[to] === -1) continue;
    relFrom[unique] = from;
    relType[unique] = type;
    relTo[unique] = to;
    unique++;
  }
  return unique;
}

/** The relations `[0, count)` grouped by file (a stable counting sort, so each file's stay sorted). */
function relationsByFile(
  relFrom: Int32Array,
  count: number,
  owner: Int32Array,
  fileOf: Int32Array,
  fileCount: number,
): { relationStart: Int32Array; relationList: Int32Array } {
  const relationStart = new Int32Array(fileCount + 1);
  for (let k = 0; k < count; k++)
    (relationStart[(fileOf[owner[relFrom[k] as number] as number] as number) + 1] as number)++;
  for (let f = 0; f < fileCount; f++) (relationStart[f + 1] as number) += relationStart[f] as number;
  const relationList = new Int32Array(count);
  const fill = relationStart.slice(0, fileCount);
  for (let k = 0; k < count; k++)
    relationList[(fill[fileOf[owner[relFrom[k] as number] as number] as number] as number)++] = k;
  return { relationStart, relationList };
}

/**
 * One snapshot's patch files from a prerendered graph: the same selection as `selectSnapshot` and the same bytes as
 * `renderPatches`. Also returns which tags the snapshot holds, for the deletion guard.
 */
export function renderPrerendered(
  graph: PrerenderedGraph,
  meta: { name: string; rootTags: readonly string[]; exclude: readonly string[] },
  options: { exactKeys?: boolean } = {},
): { files: PatchFiles; objects: number; has(tag: string): boolean } {
  const { ids } = graph;
  const containsType = graph.types.indexOf(CONTAINS);
  const { rank, byRank } = ids.ranks();
  const typeOrder = graph.types
    .map((_, i) => i)
    .sort((a, b) => {
      const [x, y] = [graph.types[a] as string, graph.types[b] as string];
      return x < y ? -1 : x > y ? 1 : 0;
    });
  const typeRank = new Int32Array(graph.types.length);
  typeOrder.forEach((type, r) => {
    typeRank[type] = r;
  });
  const sorted =
    options.exactKeys === false ? null : sortRelations(graph, rank, byRank, typeRank, typeOrder, containsType);
  // Each object's children in tag order already, so the walk need not sort them (a comparator call per child): from
  // the sorted relations, else the contains relations sorted as (rank of from, rank of to) in one exact double each,
  // when they fit.
  const children: number[][] = [];
  const addChild = (from: number, to: number) => {
    const list = children[from];
    if (list) list.push(to);
    else children[from] = [to];
  };
  const n = ids.size;
  const childrenSorted = sorted !== null || n * n <= Number.MAX_SAFE_INTEGER;
  if (sorted) {
    // The lists are `sorted.children`.
  } else if (childrenSorted) {
    const keys = new Float64Array(graph.relationCount);
    let count = 0;
    for (let i = 0; i < graph.relationCount; i++) {
      if (graph.relType[i] !== containsType) continue;
      keys[count++] = (rank[graph.relFrom[i] as number] as number) * n + (rank[graph.relTo[i] as number] as number);
    }
    const sorted = keys.subarray(0, count).sort();
    for (let k = 0; k < count; k++) {
      const key = sorted[k] as number;
      const to = key % n;
      addChild(byRank[(key - to) / n] as number, byRank[to] as number);
    }
  } else {
    for (let i = 0; i < graph.relationCount; i++)
      if (graph.relType[i] === containsType) addChild(graph.relFrom[i] as number, graph.relTo[i] as number);
  }
  const { order, owner, parent } = walkContainment(
    sorted
      ? { ids, children, childRanges: sorted.children, kindOf: (id) => graph.kindOf(id) }
      : { ids, children, childrenSorted, kindOf: (id) => graph.kindOf(id) },
    meta,
  );

  const { owners, fileOf, objectStart, objectList } = objectsByFile(order, owner, byRank);
  const fileCount = owners.length;

  // What ends each relation's line, `","type":<type as JSON>}`, and the same joined to the next line's start.
  const typeTail = graph.types.map((type) => `","type":${JSON.stringify(type)}}`);
  const types = {
    tail: typeTail.map((text) => piece(text)),
    joint: typeTail.map((text) => piece(`${text}${NEXT_ITEM.toString()}${REL_FROM.toString()}`)),
  };
  // The relations each file holds: from in the snapshot, and for `contains`, to as well. Sorted as (from, type, to)
  // triples, duplicates dropped, then grouped by file (stable, so still sorted).
  let relFrom: Int32Array;
  let relType: Int32Array;
  let relTo: Int32Array;
  let unique = 0;
  if (sorted) {
    // Kept in place: the sorted triples, those of the snapshot.
    ({ from: relFrom, type: relType, to: relTo } = sorted);
    unique = keepSelected(sorted, owner, containsType);
  } else {
    const selected = new Int32Array(graph.relationCount);
    let count = 0;
    for (let i = 0; i < graph.relationCount; i++) {
      if ((owner[graph.relFrom[i] as number] as number) < 0) continue;
      if (graph.relType[i] === containsType && owner[graph.relTo[i] as number] === -1) continue;
      selected[count++] = i;
    }
    relFrom = new Int32Array(count);
    relType = new Int32Array(count);
    relTo = new Int32Array(count);
    const keys = options.exactKeys === false ? null : relationKeys(graph, selected, count, rank, typeRank);
    const n = ids.size;
    const t = graph.types.length;
    const byParts = keys ? undefined : relationOrder(graph, selected.subarray(0, count), rank, typeRank);
    let [pf, pt, py] = [-1, -1, -1];
    for (let k = 0; k < count; k++) {
      let from: number;
      let to: number;
      let type: number;
      if (keys) {
        const key = keys[k] as number;
        const toRank = key % n;
        const rest = (key - toRank) / n;
        const typeR = rest % t;
        from = byRank[(rest - typeR) / t] as number;
        to = byRank[toRank] as number;
        type = typeOrder[typeR] as number;
      } else {
        const i = (byParts as Int32Array)[k] as number;
        [from, to, type] = [graph.relFrom[i] as number, graph.relTo[i] as number, graph.relType[i] as number];
      }
      // An export may list a relation twice: equal triples are neighbours once sorted.
      if (from === pf && to === pt && type === py) continue;
      [pf, pt, py] = [from, to, type];
      relFrom[unique] = from;
      relTo[unique] = to;
      relType[unique] = type;
      unique++;
    }
  }
  const { relationStart, relationList } = relationsByFile(relFrom, unique, owner, fileOf, fileCount);

  const compare = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  const plans: FilePlan[] = owners.map((id, f) => {
    const kind = graph.kindOf(id) as ObjectKind;
    const up = parent[id] as number;
    return {
      owner: id,
      path: patchPath(kind, ids.tag(id)),
      kind,
      name: graph.names[id] as string,
      parent: up === -1 ? null : ids.tag(up),
      objects: [objectStart[f] as number, objectStart[f + 1] as number],
      relations: [relationStart[f] as number, relationStart[f + 1] as number],
    };
  });
  plans.sort((a, b) => compare(a.path, b.path));
  const files = new PatchFiles(
    graph,
    plans,
    objectList,
    { from: relFrom, to: relTo, type: relType, list: relationList },
    types,
    meta,
    order.length,
  );
  return {
    files,
    objects: order.length,
    has: (tag) => {
      const id = ids.get(tag);
      return id !== undefined && owner[id] !== -1;
    },
  };
}
