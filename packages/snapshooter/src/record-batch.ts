/**
 * An export's records, handled in batches: a relation in the usual form is read straight from its bytes, every other
 * record is parsed and validated by the same code as `loadGraph` (`takeRecordsWith`), and each object's canonical
 * JSON is written as UTF-8 bytes. A batch is a pure function of its bytes, so it runs the same in the snapshot's own
 * thread (small exports) or in a worker thread (record-workers.ts); its results are plain arrays and bytes, cheap to
 * send between threads, and are taken in the export's order either way (prerendered.ts): the same objects, relations
 * and problems, in the same order.
 *
 * The usual relation, `{"record":"relation","from":"<20 digits>","to":"<20 digits>","type":"<text>"}` with a type of
 * printable ASCII (no quote, no backslash), is one `exportRecordSchema` accepts whatever the digits and the text (a
 * strict object with exactly those keys, two tags, a non-empty type); any other form goes to JSON.parse and the schema.
 */
import { relationKey } from "./canonical.js";
import { formatProblem, SnapshooterError, type SnapshooterProblem } from "./errors.js";
import { CONTAINS } from "./fast-record.js";
import type { CodeObject, ObjectKind } from "./model.js";
import { type RecordSchema, takeRecordsWith } from "./record-taker.js";
import { parseRecordText } from "./sources/parse-stream.js";

/** Records' bytes, with where each one came from. */
export interface RecordBatch {
  label: string;
  bytes: Uint8Array;
  /** Record i is `bytes[starts[i], ends[i])`. */
  starts: Int32Array;
  ends: Int32Array;
  lines: Int32Array;
  /** The record's number in a JSON array; 0 for NDJSON. */
  indexes: Int32Array;
  count: number;
}

export const OBJECT_KINDS: readonly ObjectKind[] = ["folder", "project", "object"];
const KIND_CODE: Record<ObjectKind, number> = { folder: 0, project: 1, object: 2 };
export const TAG_LENGTH = 20;

/** What each record turned out to be. */
export const OUTCOME_OBJECT = 0;
export const OUTCOME_RELATION = 1;
export const OUTCOME_INVALID = 2;

/** A batch's results, in plain arrays and bytes so they cross to another thread cheaply. */
export interface BatchResult {
  /** Records taken, in order; fewer than the batch's count when a record is not JSON (`syntax`). */
  outcomes: Uint8Array;
  /** Each object's canonical JSON, back to back; object i is `json[jsonEnds[i-1] ?? 0, jsonEnds[i])`. */
  json: Uint8Array;
  jsonEnds: Int32Array;
  /** Each object's tag, 20 ASCII digits (the schema allows no other). */
  tags: Uint8Array;
  kinds: Uint8Array;
  /** The names of the objects that are folders or projects, in order (other objects' names are not needed). */
  containerNames: string[];
  /** Each relation's `relationKey`, back to back (one string to send); relation i ends at `relationEnds[i]`. */
  relationText: string;
  relationEnds: Int32Array;
  /**
   * Four numbers a relation: its `from` tag's first and last ten digits, then its `to` tag's for a `contains`
   * relation (-1, -1 for any other), so the tags are numbered without reading the text again.
   */
  relationTags: Float64Array;
  /** Some relation's type holds a NUL character (which the sort keys' plain order cannot sort). */
  nulTypes: boolean;
  /** Each invalid record's problems, and how many each has. */
  problems: SnapshooterProblem[];
  problemCounts: number[];
  /** A record that is not JSON ends the export: its error, as `parseRecordText` threw it. */
  syntax?: { message: string; problems: SnapshooterProblem[] };
}

const RELATION_HEAD = Buffer.from('{"record":"relation","from":"');
const CONTAINS_BYTES = Buffer.from(CONTAINS);
const TO_KEY = Buffer.from('","to":"');
const TYPE_KEY = Buffer.from('","type":"');
const FROM_AT = RELATION_HEAD.length;
const TO_AT = FROM_AT + TAG_LENGTH + TO_KEY.length;
const TYPE_AT = TO_AT + TAG_LENGTH + TYPE_KEY.length;
const HALF = TAG_LENGTH / 2;

function matches(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

function isDigits(bytes: Uint8Array, at: number): boolean {
  for (let i = at; i < at + TAG_LENGTH; i++) {
    const c = bytes[i] as number;
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function digitsAt(bytes: Uint8Array, at: number): number {
  let n = 0;
  for (let i = at; i < at + HALF; i++) n = n * 10 + (bytes[i] as number) - 48;
  return n;
}

/** Collects a batch's results. */
class ResultWriter {
  json: Buffer;
  jsonLength = 0;
  readonly jsonEnds: number[] = [];
  readonly tags: Buffer;
  readonly kinds: number[] = [];
  readonly containerNames: string[] = [];
  readonly relationKeys: string[] = [];
  readonly relationEnds: number[] = [];
  relationLength = 0;
  readonly relationTags: number[] = [];
  nulTypes = false;
  /** A scratch buffer for relation keys read from bytes. */
  private scratch = Buffer.allocUnsafe(256);

  constructor(bytes: number, count: number) {
    this.json = Buffer.allocUnsafeSlow(Math.max(1 << 12, bytes));
    this.tags = Buffer.allocUnsafeSlow(count * TAG_LENGTH);
  }

  object(object: CodeObject): void {
    // Keys sorted all the way down (the taker's objects): JSON.stringify prints canonical JSON.
    const text = JSON.stringify(object);
    const room = this.jsonLength + text.length * 3;
    if (room > this.json.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(room, this.json.length * 2));
      this.json.copy(next, 0, 0, this.jsonLength);
      this.json = next;
    }
    this.jsonLength += this.json.write(text, this.jsonLength, "utf8");
    this.tags.write(object.tag, this.kinds.length * TAG_LENGTH, "latin1");
    this.jsonEnds.push(this.jsonLength);
    this.kinds.push(KIND_CODE[object.kind]);
    if (object.kind !== "object") this.containerNames.push(object.name);
  }

  private relationOf(key: string, fromHigh: number, fromLow: number, toHigh: number, toLow: number): void {
    this.relationKeys.push(key);
    this.relationLength += key.length;
    this.relationEnds.push(this.relationLength);
    this.relationTags.push(fromHigh, fromLow, toHigh, toLow);
  }

  relation(from: string, to: string, type: string): void {
    const contains = type === CONTAINS;
    if (type.includes("\u0000")) this.nulTypes = true;
    this.relationOf(
      relationKey({ from, to, type }),
      Number(from.slice(0, HALF)),
      Number(from.slice(HALF)),
      contains ? Number(to.slice(0, HALF)) : -1,
      contains ? Number(to.slice(HALF)) : -1,
    );
  }

  /** Takes the relation `bytes[start, end)` when it is in the usual form (trailing blanks allowed). */
  relationBytes(bytes: Buffer, start: number, end: number): boolean {
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
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafe(length * 2);
    // Byte loops: Buffer#copy costs more than it saves on a few bytes.
    const out = this.scratch;
    for (let i = 0; i < TAG_LENGTH; i++) out[i] = bytes[start + FROM_AT + i] as number;
    for (let i = 0; i < typeLength; i++) out[TAG_LENGTH + i] = bytes[start + TYPE_AT + i] as number;
    out[TAG_LENGTH + typeLength] = 0;
    for (let i = 0; i < TAG_LENGTH; i++) out[TAG_LENGTH + typeLength + 1 + i] = bytes[start + TO_AT + i] as number;
    const contains = typeLength === CONTAINS_BYTES.length && matches(bytes, start + TYPE_AT, CONTAINS_BYTES);
    this.relationOf(
      out.toString("latin1", 0, length),
      digitsAt(bytes, start + FROM_AT),
      digitsAt(bytes, start + FROM_AT + HALF),
      contains ? digitsAt(bytes, start + TO_AT) : -1,
      contains ? digitsAt(bytes, start + TO_AT + HALF) : -1,
    );
    return true;
  }
}

/** Thrown by `takeRecordBatch` without a schema when a record needs one (it is not in the fast path's form). */
export const NEEDS_SCHEMA = new Error("a record needs the export record schema");

const NO_SCHEMA: RecordSchema = {
  safeParse() {
    throw NEEDS_SCHEMA;
  },
};

/**
 * Reads and validates a batch's records; never throws for the export's own problems. Without `schema` (zod's
 * `exportRecordSchema`), it throws NEEDS_SCHEMA as soon as a record needs it: call again with the schema.
 */
export function takeRecordBatch(batch: RecordBatch, schema: RecordSchema = NO_SCHEMA): BatchResult {
  const { label, count } = batch;
  const bytes = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
  const outcomes = new Uint8Array(count);
  const out = new ResultWriter(bytes.length, count);
  const problems: SnapshooterProblem[] = [];
  const problemCounts: number[] = [];
  let outcome = OUTCOME_INVALID;
  const take = takeRecordsWith(
    schema,
    problems,
    (object) => {
      out.object(object);
      outcome = OUTCOME_OBJECT;
      // Repeated tags are found where the batches are taken in order.
      return undefined;
    },
    (relation) => {
      out.relation(relation.from, relation.to, relation.type);
      outcome = OUTCOME_RELATION;
    },
  );
  let syntax: BatchResult["syntax"];
  let taken = 0;
  for (; taken < count; taken++) {
    const start = batch.starts[taken] as number;
    const end = batch.ends[taken] as number;
    if (out.relationBytes(bytes, start, end)) {
      outcomes[taken] = OUTCOME_RELATION;
      continue;
    }
    const index = batch.indexes[taken] as number;
    const line = batch.lines[taken] as number;
    let raw: ReturnType<typeof parseRecordText>;
    try {
      raw = parseRecordText(bytes.toString("utf8", start, end), label, line, index === 0 ? undefined : index);
    } catch (error) {
      if (!(error instanceof SnapshooterError)) throw error;
      const details = error.problems.map((p) => `\n  ${formatProblem(p)}`).join("");
      const message =
        details && error.message.endsWith(details) ? error.message.slice(0, -details.length) : error.message;
      syntax = { message, problems: [...error.problems] };
      break;
    }
    outcome = OUTCOME_INVALID;
    const before = problems.length;
    take(raw);
    outcomes[taken] = outcome;
    if (outcome === OUTCOME_INVALID) problemCounts.push(problems.length - before);
  }
  return {
    outcomes: outcomes.subarray(0, taken),
    json: out.json.subarray(0, out.jsonLength),
    jsonEnds: Int32Array.from(out.jsonEnds),
    tags: out.tags.subarray(0, out.kinds.length * TAG_LENGTH),
    kinds: Uint8Array.from(out.kinds),
    containerNames: out.containerNames,
    relationText: out.relationKeys.join(""),
    relationEnds: Int32Array.from(out.relationEnds),
    relationTags: Float64Array.from(out.relationTags),
    nulTypes: out.nulTypes,
    problems,
    problemCounts,
    ...(syntax ? { syntax } : {}),
  };
}

/**
 * Collects record spans into batches of about `size` bytes. Records that lie one after the other in one buffer (as
 * the splitter gives them from a chunk) are copied together, one copy a run rather than one a record.
 */
export class BatchBuilder {
  private bytes: Buffer;
  private length = 0;
  private starts: number[] = [];
  private ends: number[] = [];
  private lines: number[] = [];
  private indexes: number[] = [];
  /** The run not copied yet: `runSource[runStart, runEnd)` goes at `length`. */
  private runSource: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;

  constructor(
    private readonly label: string,
    private readonly size: number,
  ) {
    this.bytes = Buffer.allocUnsafeSlow(size);
  }

  get count(): number {
    return this.ends.length;
  }

  get full(): boolean {
    return this.length + this.runEnd - this.runStart >= this.size;
  }

  add(bytes: Buffer, start: number, end: number, line: number, index: number | undefined): void {
    if (bytes !== this.runSource || start < this.runEnd) {
      this.copyRun();
      this.runSource = bytes;
      this.runStart = start;
    }
    const at = this.length + start - this.runStart;
    this.starts.push(at);
    this.ends.push(at + end - start);
    this.runEnd = end;
    this.lines.push(line);
    this.indexes.push(index ?? 0);
  }

  /** Copies the run of records so far: call before the buffer they are in may change (the end of a chunk). */
  copyRun(): void {
    const source = this.runSource;
    if (source === undefined) return;
    const need = this.length + this.runEnd - this.runStart;
    if (need > this.bytes.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(need, this.bytes.length * 2));
      this.bytes.copy(next, 0, 0, this.length);
      this.bytes = next;
    }
    source.copy(this.bytes, this.length, this.runStart, this.runEnd);
    this.length = need;
    this.runSource = undefined;
    this.runStart = 0;
    this.runEnd = 0;
  }

  /** The batch so far (its bytes handed over), and a fresh one started. */
  take(): RecordBatch {
    this.copyRun();
    const batch: RecordBatch = {
      label: this.label,
      bytes: this.bytes.subarray(0, this.length),
      starts: Int32Array.from(this.starts),
      ends: Int32Array.from(this.ends),
      lines: Int32Array.from(this.lines),
      indexes: Int32Array.from(this.indexes),
      count: this.ends.length,
    };
    this.bytes = Buffer.allocUnsafeSlow(this.size);
    this.length = 0;
    this.starts = [];
    this.ends = [];
    this.lines = [];
    this.indexes = [];
    return batch;
  }
}
