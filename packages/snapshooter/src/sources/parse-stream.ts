/**
 * Reads an export from a byte stream, record by record, so a large export is never held whole in memory.
 * The format is sniffed from the first non-blank byte: `[` is a JSON array of records, `{` is NDJSON (one record a
 * line). Both are split here, on the bytes, into one byte span per record: the snapshot renders most records straight
 * from their span (see prerendered.ts) and gives the others to `JSON.parse`. Splitting bytes rather than decoded text
 * skips decoding half the export, and a streaming tokenizer (stream-json) was measured about ten times slower on the
 * 100,000-object benchmark, see BENCHMARKS.md.
 */

import type { Readable } from "node:stream";
import { SnapshooterError } from "../errors.js";

/** One record as read, not yet validated, with where it came from for error messages. */
export interface RawRecord {
  value: unknown;
  /** The export's name, for messages. */
  label: string;
  /** The line the record starts on (1-based). */
  line: number;
  /** The record's number in a JSON array (1-based); absent for NDJSON. */
  index?: number;
}

/**
 * Receives each record's bytes, `bytes[start, end)`, in order. `index` is the record's number in a JSON array
 * (undefined for NDJSON). The bytes are only valid during the call.
 */
export type RecordSink = (bytes: Buffer, start: number, end: number, line: number, index: number | undefined) => void;

/** Where a record is, in words: `export.ndjson line 12`, `export.json record #12 (line 14)`. */
export function describeRecord(raw: { label: string; line: number; index?: number | undefined }): string {
  return raw.index === undefined
    ? `${raw.label} line ${raw.line}`
    : `${raw.label} record #${raw.index} (line ${raw.line})`;
}

function invalid(label: string, path: string, message: string): SnapshooterError {
  return new SnapshooterError("INVALID_EXPORT", `${label} is not a valid export`, { problems: [{ path, message }] });
}

// Node's JSON.parse quotes the input around the error; an export may hold anything, so keep only the position.
function jsonErrorWithoutSnippet(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /position (\d+)/.exec(message);
  if (position) return `invalid JSON at column ${Number(position[1]) + 1}`;
  const token = /Unexpected token '?(.)'?/.exec(message);
  if (token) return `invalid JSON: unexpected ${JSON.stringify(token[1])}`;
  return /end of JSON/i.test(message) ? "invalid JSON: the record ends early" : "invalid JSON";
}

/** `JSON.parse` of one record's text; a syntax error becomes INVALID_EXPORT naming the record. */
export function parseRecordText(text: string, label: string, line: number, index?: number): RawRecord {
  try {
    const value: unknown = JSON.parse(text);
    return index === undefined ? { value, label, line } : { value, label, line, index };
  } catch (error) {
    throw invalid(label, describeRecord({ label, line, index }), jsonErrorWithoutSnippet(error));
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const NEWLINE = 10;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const BOM = [0xef, 0xbb, 0xbf];

function isBlankByte(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** A UTF-8 byte order mark starts at `i` (the blank the old text splitter also skipped between records). */
function isBom(bytes: Buffer, i: number): boolean {
  return bytes[i] === BOM[0] && bytes[i + 1] === BOM[1] && bytes[i + 2] === BOM[2];
}

/** What `String.prototype.trim` would leave empty: ASCII blanks, and Unicode ones when the bytes hold any. */
function isBlankSpan(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = bytes[i] as number;
    if (c === 32 || (c >= 9 && c <= 13)) continue;
    if (c < 0x80) return false;
    return bytes.toString("utf8", i, end).trim() === "";
  }
  return true;
}

/**
 * Splits an export's bytes into records, chunk by chunk: `push` each chunk as it arrives, then `end`. Nothing of a
 * chunk is kept after `push` returns (a record cut by the chunk's end is copied), so a source may reuse its memory. Records are
 * given to the sink as soon as they are complete; a syntax problem of the export's framing (a trailing comma, content
 * after the array, a truncated array) throws after every record before it was given.
 */
export class RecordSplitter {
  private format: "unknown" | "ndjson" | "array" = "unknown";
  /** Bytes of the record under way that arrived in earlier chunks. */
  private pending: Buffer[] = [];
  private line = 1;
  // JSON array state.
  private depth = 0;
  private inString = false;
  private escaped = false;
  private inElement = false;
  private closed = false;
  private index = 0;
  private elementLine = 1;

  /**
   * `sink` gets every record. `trySink`, when given, is first offered a JSON array's element that sits alone on its
   * line before a comma, before its bytes are scanned: it takes it and returns true only when the span is one whole
   * valid JSON value (then the scan would have ended at that very comma), else returns false having done nothing.
   */
  constructor(
    private readonly label: string,
    private readonly sink: RecordSink,
    private readonly trySink?: (bytes: Buffer, start: number, end: number, line: number, index: number) => boolean,
  ) {}

  /** The comma that ends the line starting at `from` (blanks after it allowed), or -1. */
  private commaEndingLine(chunk: Buffer, from: number): number {
    const newline = chunk.indexOf(NEWLINE, from);
    if (newline < 0) return -1;
    let end = newline;
    while (end > from && isBlankByte(chunk[end - 1] as number)) end--;
    return end > from + 1 && chunk[end - 1] === COMMA ? end - 1 : -1;
  }

  push(chunk: Buffer): void {
    let start = 0;
    if (this.format === "unknown") {
      start = this.sniff(chunk);
      if (start < 0) return;
    }
    if (this.format === "ndjson") this.pushNdjson(chunk, start);
    else this.pushArray(chunk, start);
  }

  end(): void {
    if (this.format === "unknown") throw invalid(this.label, this.label, "is empty: no record");
    if (this.format === "ndjson") {
      const rest = this.takePending(undefined, 0, 0);
      if (rest && !isBlankSpan(rest, 0, rest.length)) this.sink(rest, 0, rest.length, this.line, undefined);
      return;
    }
    if (!this.closed) {
      throw invalid(
        this.label,
        `${this.label} line ${this.line}`,
        `the array ends early, after record #${this.inElement ? this.index - 1 : this.index}: the export is truncated`,
      );
    }
  }

  /** Finds the first non-blank byte and picks the format; -1 when the chunk is all blank. */
  private sniff(chunk: Buffer): number {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (c === NEWLINE) this.line++;
      if (isBlankByte(c)) continue;
      if (isBom(chunk, i)) {
        i += 2;
        continue;
      }
      if (c === OPEN_BRACE) this.format = "ndjson";
      else if (c === OPEN_BRACKET) this.format = "array";
      else {
        const text = chunk.toString("utf8", i).replace(/^[\s\uFEFF]+/, "");
        if (text === "") return -1;
        if (text.startsWith("{") || text.startsWith("[")) {
          // Unicode blanks before the first record: skip them as the text splitter did.
          this.format = text.startsWith("{") ? "ndjson" : "array";
          return chunk.length - Buffer.byteLength(text);
        }
        throw new SnapshooterError("INVALID_EXPORT", `${this.label} is neither a JSON array of records nor NDJSON`, {
          problems: [{ path: this.label, message: `starts with ${JSON.stringify(text[0])}; expected '[' or '{'` }],
        });
      }
      return i;
    }
    return -1;
  }

  /** The pending bytes joined with `chunk[from, to)`, or undefined when there are none. */
  private takePending(chunk: Buffer | undefined, from: number, to: number): Buffer | undefined {
    if (this.pending.length === 0) return undefined;
    const parts = chunk && to > from ? [...this.pending, chunk.subarray(from, to)] : this.pending;
    this.pending = [];
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  private pushNdjson(chunk: Buffer, from: number): void {
    let start = from;
    let end = chunk.indexOf(NEWLINE, start);
    if (end >= 0 && this.pending.length > 0) {
      const joined = this.takePending(chunk, start, end) as Buffer;
      if (!isBlankSpan(joined, 0, joined.length)) this.sink(joined, 0, joined.length, this.line, undefined);
      this.line++;
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    while (end >= 0) {
      // The usual record starts with `{`: no blank check needed.
      if (chunk[start] === OPEN_BRACE || !isBlankSpan(chunk, start, end))
        this.sink(chunk, start, end, this.line, undefined);
      this.line++;
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    // Copied: the source may reuse the chunk's memory for the next one.
    if (start < chunk.length) this.pending.push(Buffer.from(chunk.subarray(start)));
  }

  private trailingComma(line: number): SnapshooterError {
    return invalid(
      this.label,
      `${this.label} line ${line}`,
      `a record is expected after record #${this.index} (a trailing comma?)`,
    );
  }

  /**
   * Splits a JSON array into its elements by tracking nesting depth and strings (as the text splitter did, on bytes).
   * An element runs from its first byte to the comma or bracket that ends it.
   */
  private pushArray(chunk: Buffer, from: number): void {
    const { label } = this;
    let start = from;
    const n = chunk.length;
    for (let i = from; i < n; i++) {
      const c = chunk[i] as number;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        else if (c === NEWLINE) this.line++;
        continue;
      }
      if (c === NEWLINE) this.line++;
      if (this.closed) {
        if (!isBlankByte(c) && !isBom(chunk, i)) {
          throw invalid(label, `${label} line ${this.line}`, "has content after the end of the array");
        }
        if (c === BOM[0]) i += 2;
        continue;
      }
      if (this.depth === 0) {
        if (c === OPEN_BRACKET) this.depth = 1;
        else if (!isBlankByte(c)) throw invalid(label, `${label} line ${this.line}`, "must start with '['");
        continue;
      }
      if (this.depth === 1 && !this.inElement) {
        if (isBlankByte(c)) continue;
        if (isBom(chunk, i)) {
          i += 2;
          continue;
        }
        if (c === COMMA || c === CLOSE_BRACKET) {
          if (c === CLOSE_BRACKET && this.index === 0) {
            this.closed = true;
            this.depth = 0;
            continue;
          }
          throw this.trailingComma(this.line);
        }
        this.inElement = true;
        this.index++;
        this.elementLine = this.line;
        start = i;
        // An element alone on its line, ended by a comma: offered whole, without scanning its bytes.
        const comma = this.trySink ? this.commaEndingLine(chunk, i) : -1;
        if (comma >= 0 && this.trySink?.(chunk, i, comma, this.line, this.index)) {
          this.inElement = false;
          i = comma;
          let j = i + 1;
          while (j < n && isBlankByte(chunk[j] as number)) j++;
          if (chunk[j] === CLOSE_BRACKET) throw this.trailingComma(this.line);
          continue;
        }
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && this.depth > 1) this.depth--;
      else if (this.depth === 1 && (c === COMMA || c === CLOSE_BRACKET)) {
        const joined = this.takePending(chunk, start, i);
        if (joined) this.sink(joined, 0, joined.length, this.elementLine, this.index);
        else this.sink(chunk, start, i, this.elementLine, this.index);
        this.inElement = false;
        if (c === CLOSE_BRACKET) {
          this.closed = true;
          this.depth = 0;
        } else {
          // Look ahead for `]` right after a comma: a trailing comma.
          let j = i + 1;
          while (j < n && isBlankByte(chunk[j] as number)) j++;
          if (chunk[j] === CLOSE_BRACKET) throw this.trailingComma(this.line);
        }
      }
    }
    if (this.inElement) this.pending.push(Buffer.from(chunk.subarray(start)));
  }
}

/** The bytes of a stream's chunks (strings encoded as UTF-8); the stream is destroyed when iteration ends. */
export async function* byteChunks(stream: Readable | AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) {
      if (typeof chunk === "string") yield Buffer.from(chunk);
      else if (Buffer.isBuffer(chunk)) yield chunk;
      else {
        const bytes = chunk as Uint8Array;
        yield Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
    }
  } finally {
    if ("destroy" in stream) stream.destroy();
  }
}

/** The records of an export, in batches (one per chunk read): one await per batch, not per record. */
export async function* readExportStream(
  stream: Readable | AsyncIterable<unknown>,
  label: string,
): AsyncGenerator<RawRecord[]> {
  let out: RawRecord[] = [];
  const splitter = new RecordSplitter(label, (bytes, start, end, line, index) => {
    out.push(parseRecordText(bytes.toString("utf8", start, end), label, line, index));
  });
  const step = function* (run: () => void): Generator<RawRecord[]> {
    try {
      run();
    } catch (error) {
      // Hand over the records before the problem, so their own problems are reported first.
      if (out.length > 0) yield out;
      throw error;
    }
    if (out.length > 0) yield out;
    out = [];
  };
  for await (const chunk of byteChunks(stream)) yield* step(() => splitter.push(chunk));
  yield* step(() => splitter.end());
}
