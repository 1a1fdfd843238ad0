/**
 * Reads an export from a byte stream, record by record, so a large export is never held whole in one string.
 * The format is sniffed from the first non-blank byte: `[` is a JSON array of records, `{` is NDJSON (one record a line).
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import StreamArray from "stream-json/streamers/StreamArray.js";
import { SnapshooterError } from "../errors.js";

/** One record as read, not yet validated, with where it came from for error messages. */
export interface RawRecord {
  value: unknown;
  /** `export.ndjson line 12`, `export.json record #12`. */
  where: string;
  line?: number;
}

export type ExportFormat = "json" | "ndjson";

async function sniff(stream: Readable, label: string): Promise<{ format: ExportFormat; stream: Readable }> {
  const iterator = stream[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    head.push(chunk);
    const first = chunk.find(
      (byte) =>
        byte !== 0x20 &&
        byte !== 0x0a &&
        byte !== 0x0d &&
        byte !== 0x09 &&
        byte !== 0xef &&
        byte !== 0xbb &&
        byte !== 0xbf,
    );
    if (first === undefined) continue;
    const format: ExportFormat | undefined = first === 0x5b ? "json" : first === 0x7b ? "ndjson" : undefined;
    if (!format) {
      iterator.return?.();
      throw new SnapshooterError("INVALID_EXPORT", `${label} is neither a JSON array of records nor NDJSON`, {
        problems: [
          { path: label, message: `starts with ${JSON.stringify(String.fromCharCode(first))}; expected '[' or '{'` },
        ],
      });
    }
    const rest = Readable.from(
      (async function* () {
        yield* head;
        for (;;) {
          const more = await iterator.next();
          if (more.done) return;
          yield more.value as Buffer;
        }
      })(),
      { objectMode: false },
    );
    return { format, stream: rest };
  }
  throw new SnapshooterError("INVALID_EXPORT", `${label} is empty`, {
    problems: [{ path: label, message: "no record" }],
  });
}

export async function* readExportStream(stream: Readable, label: string): AsyncGenerator<RawRecord> {
  const sniffed = await sniff(stream, label);
  if (sniffed.format === "ndjson") yield* readNdjson(sniffed.stream, label);
  else yield* readJsonArray(sniffed.stream, label);
}

async function* readNdjson(stream: Readable, label: string): AsyncGenerator<RawRecord> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new SnapshooterError("INVALID_EXPORT", `${label} has a line that is not JSON`, {
          problems: [{ path: `${label} line ${line}`, message: jsonErrorWithoutSnippet(error) }],
        });
      }
      yield { value, where: `${label} line ${line}`, line };
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

// Node's JSON.parse quotes the input around the error; an export may hold anything, so keep only the position.
function jsonErrorWithoutSnippet(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /position (\d+)/.exec(message);
  if (position) return `invalid JSON at column ${Number(position[1]) + 1}`;
  return /end of JSON/i.test(message) ? "invalid JSON: the line ends before the record does" : "invalid JSON";
}

async function* readJsonArray(stream: Readable, label: string): AsyncGenerator<RawRecord> {
  const parser = StreamArray.withParser();
  stream.pipe(parser);
  stream.on("error", (error) => parser.destroy(error));
  let index = 0;
  try {
    for await (const item of parser as AsyncIterable<{ key: number; value: unknown }>) {
      index = item.key + 1;
      yield { value: item.value, where: `${label} record #${index}` };
    }
  } catch (error) {
    if (error instanceof SnapshooterError) throw error;
    throw new SnapshooterError("INVALID_EXPORT", `${label} is not a valid JSON array of records`, {
      problems: [
        { path: `${label} after record #${index}`, message: error instanceof Error ? error.message : String(error) },
      ],
    });
  } finally {
    stream.unpipe(parser);
    stream.destroy();
    if (!parser.destroyed) {
      parser.destroy();
      await once(parser, "close").catch(() => undefined);
    }
  }
}
