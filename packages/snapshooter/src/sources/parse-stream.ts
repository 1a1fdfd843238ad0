/**
 * Reads an export from a byte stream, record by record, so a large export is never held whole in one string.
 * The format is sniffed from the first non-blank byte: `[` is a JSON array of records, `{` is NDJSON (one record a
 * line). Both are split here into one text per record and each is given to `JSON.parse`: a streaming tokenizer
 * (stream-json) was measured about ten times slower on the 100,000-object benchmark, see BENCHMARKS.md.
 */

import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
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

/** Where a record is, in words: `export.ndjson line 12`, `export.json record #12 (line 14)`. */
export function describeRecord(raw: RawRecord): string {
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

function parseRecord(text: string, label: string, line: number, index?: number): RawRecord {
  try {
    const value: unknown = JSON.parse(text);
    return index === undefined ? { value, label, line } : { value, label, line, index };
  } catch (error) {
    throw invalid(
      label,
      describeRecord({ value: undefined, label, line, ...(index === undefined ? {} : { index }) }),
      jsonErrorWithoutSnippet(error),
    );
  }
}

/** Text chunks of a byte stream, decoded as UTF-8 without splitting a character across chunks. */
async function* textChunks(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  try {
    for await (const chunk of stream) {
      const text = typeof chunk === "string" ? chunk : decoder.write(chunk as Buffer);
      if (text) yield text;
    }
    const rest = decoder.end();
    if (rest) yield rest;
  } finally {
    stream.destroy();
  }
}

/** The records of an export, in batches (one per chunk read): one await per batch, not per record. */
export async function* readExportStream(stream: Readable, label: string): AsyncGenerator<RawRecord[]> {
  const chunks = textChunks(stream);
  let first: string | undefined;
  // Not for-await with break: that would close the generator, and the stream with it.
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
    const trimmed = next.value.replace(/^[\s\uFEFF]+/, "");
    if (trimmed === "") continue;
    first = trimmed;
    break;
  }
  if (first === undefined) throw invalid(label, label, "is empty: no record");
  const rest = (async function* () {
    yield first;
    yield* chunks;
  })();
  if (first.startsWith("{")) yield* readNdjson(rest, label);
  else if (first.startsWith("[")) yield* readJsonArray(rest, label);
  else {
    await chunks.return(undefined);
    throw new SnapshooterError("INVALID_EXPORT", `${label} is neither a JSON array of records nor NDJSON`, {
      problems: [{ path: label, message: `starts with ${JSON.stringify(first[0])}; expected '[' or '{'` }],
    });
  }
}

async function* readNdjson(chunks: AsyncGenerator<string>, label: string): AsyncGenerator<RawRecord[]> {
  let carry = "";
  let line = 0;
  for await (const chunk of chunks) {
    const out: RawRecord[] = [];
    try {
      let start = 0;
      let end = chunk.indexOf("\n");
      while (end >= 0) {
        line++;
        const text = carry + chunk.slice(start, end);
        carry = "";
        if (text.trim() !== "") out.push(parseRecord(text, label, line));
        start = end + 1;
        end = chunk.indexOf("\n", start);
      }
      carry += chunk.slice(start);
    } catch (error) {
      // Hand over the records before the bad line, so their own problems are reported first.
      if (out.length > 0) yield out;
      throw error;
    }
    if (out.length > 0) yield out;
  }
  line++;
  if (carry.trim() !== "") yield [parseRecord(carry, label, line)];
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const NEWLINE = 10;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

function isBlank(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 0xfeff;
}

/**
 * Splits a JSON array into its elements' texts by tracking nesting depth and strings, then parses each one. Only
 * the current element is ever held in memory.
 */
async function* readJsonArray(chunks: AsyncGenerator<string>, label: string): AsyncGenerator<RawRecord[]> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let carry = "";
  let inElement = false;
  let closed = false;
  let index = 0;
  let line = 1;
  let elementLine = 1;

  for await (const chunk of chunks) {
    let start = 0;
    const out: RawRecord[] = [];
    try {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i);
        if (c === NEWLINE) line++;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
          continue;
        }
        if (closed) {
          if (!isBlank(c)) throw invalid(label, `${label} line ${line}`, "has content after the end of the array");
          continue;
        }
        if (depth === 0) {
          if (c === OPEN_BRACKET) depth = 1;
          else if (!isBlank(c)) throw invalid(label, `${label} line ${line}`, "must start with '['");
          continue;
        }
        if (depth === 1 && !inElement) {
          if (isBlank(c)) continue;
          if (c === COMMA || c === CLOSE_BRACKET) {
            if (c === CLOSE_BRACKET && index === 0) {
              closed = true;
              depth = 0;
              continue;
            }
            throw invalid(
              label,
              `${label} line ${line}`,
              `a record is expected after record #${index} (a trailing comma?)`,
            );
          }
          inElement = true;
          index++;
          elementLine = line;
          start = i;
        }
        if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && depth > 1) depth--;
        else if (depth === 1 && (c === COMMA || c === CLOSE_BRACKET)) {
          out.push(parseRecord(carry + chunk.slice(start, i), label, elementLine, index));
          carry = "";
          inElement = false;
          if (c === CLOSE_BRACKET) {
            closed = true;
            depth = 0;
          } else {
            // Look ahead for `]` right after a comma: a trailing comma.
            let j = i + 1;
            while (j < chunk.length && isBlank(chunk.charCodeAt(j))) j++;
            if (chunk.charCodeAt(j) === CLOSE_BRACKET) {
              throw invalid(
                label,
                `${label} line ${line}`,
                `a record is expected after record #${index} (a trailing comma?)`,
              );
            }
          }
        }
      }
      if (inElement) carry += chunk.slice(start);
    } catch (error) {
      if (out.length > 0) yield out;
      throw error;
    }
    if (out.length > 0) yield out;
  }
  if (!closed) {
    throw invalid(
      label,
      `${label} line ${line}`,
      `the array ends early, after record #${inElement ? index - 1 : index}: the export is truncated`,
    );
  }
}
