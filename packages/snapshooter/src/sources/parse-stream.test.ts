import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SnapshooterError } from "../errors.js";
import { readExportStream } from "./parse-stream.js";

/** A stream delivering `text` in pieces cut at `cuts` (byte offsets), as a network would. */
function streamOf(text: string, cuts: number[] = []): Readable {
  const bytes = Buffer.from(text);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    if (p > last) pieces.push(bytes.subarray(last, p));
    last = p;
  }
  return Readable.from(pieces);
}

async function read(text: string, cuts: number[] = []) {
  const out: unknown[] = [];
  for await (const batch of readExportStream(streamOf(text, cuts), "export"))
    for (const record of batch) out.push(record.value);
  return out;
}

async function problem(text: string): Promise<string> {
  try {
    await read(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshooterError);
    const p = (error as SnapshooterError).problems[0];
    return `${p?.path}: ${p?.message}`;
  }
  throw new Error("expected a SnapshooterError");
}

const records = fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 8 });

describe("readExportStream", () => {
  it("reads a JSON array exactly as JSON.parse does, however the bytes are cut (property)", async () => {
    await fc.assert(
      fc.asyncProperty(records, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), async (values, cuts, pretty) => {
        const text = JSON.stringify(values, null, pretty ? 2 : undefined);
        expect(await read(text || "[]", cuts)).toEqual(JSON.parse(text));
      }),
      { numRuns: 150 },
    );
  });

  it("reads NDJSON exactly as JSON.parse reads each line, however the bytes are cut (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        records.filter((v) => v.length > 0),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (values, cuts) => {
          const text = `${values.map((v) => JSON.stringify(v)).join("\r\n")}\n`;
          expect(await read(text, cuts)).toEqual(values.map((v) => JSON.parse(JSON.stringify(v))));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("keeps multi-byte characters whole across cuts", async () => {
    const value = [{ name: "Zürich — 東京 🚀" }];
    const text = JSON.stringify(value);
    for (let cut = 0; cut < Buffer.byteLength(text); cut++) expect(await read(text, [cut])).toEqual(value);
  });

  it.each([
    ['[{"a":1},]', "export line 1: a record is expected after record #1 (a trailing comma?)"],
    ['[{"a":1}]\n{"b":2}', "export line 2: has content after the end of the array"],
    ['[{"a":1},\n{"a":}]', 'export record #2 (line 2): invalid JSON: unexpected "}"'],
    ['[{"a":1},\n{"a":2}', "export line 2: the array ends early, after record #1: the export is truncated"],
    ['{"a":1}\n{"a":\n', "export line 2: invalid JSON: the record ends early"],
  ])("says where %j is wrong", async (text, expected) => {
    expect(await problem(text)).toBe(expected);
  });
});
