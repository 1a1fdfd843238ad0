import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderPatches } from "./canonical.js";
import { SnapshooterError } from "./errors.js";
import { loadGraph, selectSnapshot } from "./graph.js";
import { HOME_TAG } from "./model.js";
import { loadPrerenderedGraph, renderPrerendered } from "./prerendered.js";
import { readExportStream } from "./sources/parse-stream.js";
import type { CodeAsDataSource } from "./sources/source.js";
import { exportText, generateRecords, OLYMPE_TAG, tagOf } from "./test-helpers/generate.js";
import type { PatchFileSet } from "./write.js";

/**
 * A source serving `text` cut into pieces at `cuts`, through both of its doors: bytes and parsed batches. With
 * `reuse`, every piece is served in one buffer, overwritten by the next (as a file source does).
 */
function sourceOf(text: string, cuts: number[] = [], reuse = false): CodeAsDataSource {
  const bytes = Buffer.from(text);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    if (p > last) pieces.push(bytes.subarray(last, p));
    last = p;
  }
  async function* chunks() {
    if (!reuse) return yield* pieces;
    const shared = Buffer.alloc(Math.max(0, ...pieces.map((p) => p.length)));
    for (const piece of pieces) {
      shared.fill(0x7b);
      piece.copy(shared);
      yield shared.subarray(0, piece.length);
    }
    shared.fill(0x7b);
  }
  return {
    description: "export",
    batches: () => readExportStream(chunks(), "export"),
    bytes: async () => ({ label: "export", chunks: chunks() }),
  };
}

const meta = { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG] };

/** The files as bytes, or the refusal, each way (the snapshot's read also with its fallback sort of relations). */
async function both(source: CodeAsDataSource) {
  const outcome = async (run: () => Promise<PatchFileSet>) => {
    try {
      // Copied as they come: a snapshot's bytes are only valid until the next file is taken.
      return Array.from(await run(), ([path, content]) => [path, Buffer.from(content)] as const);
    } catch (error) {
      if (!(error instanceof SnapshooterError)) throw error;
      return { code: error.code, problems: error.problems };
    }
  };
  const expected = await outcome(async () => renderPatches(selectSnapshot(await loadGraph(source), meta), meta));
  const actual = await outcome(async () => renderPrerendered(await loadPrerenderedGraph(source), meta).files);
  const compared = await outcome(
    async () => renderPrerendered(await loadPrerenderedGraph(source), meta, { exactKeys: false }).files,
  );
  return { expected, actual, compared };
}

async function problemsOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshooterError);
    return { code: (error as SnapshooterError).code, problems: (error as SnapshooterError).problems };
  }
  return "no error";
}

// Relations written in forms the byte reader must leave to JSON.parse, and types it must keep as they are.
const oddType = fc.constantFrom("contains", "model", "a\u0000b", 'say "hi"', "back\\slash", "Zürich", "x", "é\u0000");
const oddForm = fc.constantFrom("usual", "spaced", "reordered", "escaped");

function relationText(from: string, to: string, type: string, form: string): string {
  switch (form) {
    case "spaced":
      return `{ "record": "relation", "from": "${from}", "to": "${to}", "type": ${JSON.stringify(type)} }`;
    case "reordered":
      return JSON.stringify({ type, to, from, record: "relation" });
    case "escaped":
      return `{"record":"relation","from":"${from}","to":"${to}","type":${JSON.stringify(type).replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)}}`;
    default:
      return `{"record":"relation","from":"${from}","to":"${to}","type":${JSON.stringify(type)}}`;
  }
}

// Objects in forms the byte reader takes (the usual, spaced, reordered, non-ASCII) and forms it leaves to JSON.parse
// (escapes it does not print back, exponents, a key given twice), for tags that may repeat a generated object's.
const oddObjectForm = fc.constantFrom("usual", "spaced", "reordered", "unicode", "escaped", "exponent", "twice");

function objectText(tag: string, form: string): string {
  const object = { record: "object", tag, kind: "object", name: "odd", properties: { n: 1, b: [true, null], a: "x" } };
  switch (form) {
    case "spaced":
      return JSON.stringify(object, null, 1).replace(/\n/g, " ");
    case "reordered":
      return JSON.stringify({
        properties: object.properties,
        name: object.name,
        kind: "object",
        tag,
        record: "object",
      });
    case "unicode":
      return JSON.stringify({ ...object, name: "Zürich 😀", properties: { é: "\u2028" } });
    case "escaped":
      return JSON.stringify(object).replace('"odd"', '"o\\u0064d\\/"');
    case "exponent":
      return JSON.stringify(object).replace('"n":1', '"n":1e2');
    case "twice":
      return JSON.stringify(object).replace('"n":1', '"n":1,"n":2');
    default:
      return JSON.stringify(object);
  }
}

describe("the snapshot's prerendered read of an export", () => {
  it("writes the same files as renderPatches(selectSnapshot(loadGraph)), whatever the format, cuts and relation forms (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.tuple(fc.nat(35), fc.nat(35), oddType, oddForm), { maxLength: 25 }),
        fc.array(fc.tuple(fc.nat(60), oddObjectForm), { maxLength: 4 }),
        fc.constantFrom("json", "ndjson"),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (seed, extra, objects, format, cuts) => {
          const records = generateRecords({
            seed,
            folders: 2,
            projectsPerFolder: 2,
            objectsPerProject: 6,
            shuffle: true,
          });
          const lines = records.map((r) => JSON.stringify(r));
          for (const [a, b, type, form] of extra) lines.push(relationText(tagOf(a), tagOf(b), type, form));
          for (const [a, form] of objects) lines.push(objectText(tagOf(a), form));
          const text =
            format === "ndjson" ? `${lines.join("\r\n")}\n` : `[\n${lines.map((l) => `  ${l}`).join(" ,\n")}\n]\n`;
          const { expected, actual, compared } = await both(sourceOf(text, cuts));
          expect(actual).toEqual(expected);
          expect(compared).toEqual(expected);
          // Chunks whose memory is reused for the next: the same files (or refusal) as the whole text in one piece.
          const reused = await both(sourceOf(text, cuts, true));
          expect(reused).toEqual(await both(sourceOf(text)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("sorts the relations of tags that have many (past the small sorts), duplicates and missing children included, as selectSnapshot does (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 20, max: 45 }),
        // Many relations from a few tags, to tags that may be missing objects, some given twice.
        fc.array(fc.tuple(fc.nat(3), fc.nat(120), fc.constantFrom("contains", "model", "uses", "a")), {
          maxLength: 80,
        }),
        fc.constantFrom("json", "ndjson"),
        async (seed, objectsPerProject, extra, format) => {
          const records = generateRecords({ seed, folders: 2, projectsPerFolder: 2, objectsPerProject, shuffle: true });
          const lines = records.map((r) => JSON.stringify(r));
          for (const [a, b, type] of extra) {
            const line = relationText(tagOf(a), tagOf(b), type, "usual");
            lines.push(line);
            if (b % 7 === 0) lines.push(line);
          }
          const text = format === "ndjson" ? `${lines.join("\n")}\n` : `[${lines.join(",\n")}]`;
          const { expected, actual, compared } = await both(sourceOf(text));
          expect(actual).toEqual(expected);
          expect(compared).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("reads the usual relations straight from their bytes and keeps the others for JSON.parse, with equal results", async () => {
    const records = generateRecords({ folders: 1, projectsPerFolder: 1, objectsPerProject: 3 });
    const text = exportText(records, "ndjson");
    const graph = await loadPrerenderedGraph(sourceOf(text));
    const viaParse = await loadPrerenderedGraph({ ...sourceOf(text), bytes: undefined } as CodeAsDataSource);
    expect(graph.relations()).toEqual(viaParse.relations());
    expect(graph.relationCount).toBeGreaterThan(0);
    const tags = (g: typeof graph) => Array.from({ length: g.ids.size }, (_, id) => g.ids.tag(id));
    expect(tags(graph)).toEqual(tags(viaParse));
    const objects = (g: typeof graph) => tags(g).map((_, id) => [g.kindOf(id), g.objectJson(id)]);
    expect(objects(graph)).toEqual(objects(viaParse));
    expect(graph.objectCount).toBe(records.filter((r) => r.record === "object").length);
  });

  it("numbers tags in the same order whether a relation is read from its bytes or left to JSON.parse", async () => {
    const lines = [
      '{"record":"object","tag":"10000000000000000000","kind":"folder","name":"Home"}',
      // The usual shape but for the type (not ASCII): left to JSON.parse, after the next relation's tags.
      '{"record":"relation","from":"10000000000000000005","to":"10000000000000000006","type":"référence"}',
      '{"record":"relation","from":"10000000000000000007","to":"10000000000000000008","type":"references"}',
      '{"record":"relation","from":"10000000000000000009","to":"10000000000000000010", "type":"x"}',
      '{"record":"object","tag":"10000000000000000006","kind":"folder","name":"A"}',
    ];
    const text = `${lines.join("\n")}\n`;
    const graph = await loadPrerenderedGraph(sourceOf(text));
    const viaParse = await loadPrerenderedGraph({ ...sourceOf(text), bytes: undefined } as CodeAsDataSource);
    const tags = (g: typeof graph) => Array.from({ length: g.ids.size }, (_, id) => g.ids.tag(id));
    expect(tags(graph)).toEqual(tags(viaParse));
    expect(graph.relations()).toEqual(viaParse.relations());
  });

  it.each([
    [
      "a relation of the usual shape with a short tag, an empty type, an unknown key",
      [
        '{"record":"relation","from":"1000000000000000000","to":"10000000000000000001","type":"contains"}',
        '{"record":"relation","from":"10000000000000000000","to":"10000000000000000001","type":""}',
        '{"record":"relation","from":"10000000000000000000","to":"10000000000000000001","type":"x","extra":1}',
      ],
    ],
    [
      "a type with a quote or a backslash, then the same type's bytes unescaped in a relation of the usual shape",
      [
        '{"record":"relation","from":"10000000000000000000","to":"10000000000000000001","type":"say \\"hi\\""}',
        '{"record":"relation","from":"10000000000000000000","to":"10000000000000000001","type":"back\\\\slash"}',
        '{"record":"relation","from":"10000000000000000000","to":"10000000000000000001","type":"say "hi""}',
        '{"record":"relation","from":"10000000000000000000","to":"10000000000000000001","type":"back\\slash"}',
      ],
    ],
    [
      "a repeated object and broken JSON after it",
      [
        '{"record":"object","tag":"10000000000000000000","kind":"folder","name":"Home"}',
        '{"record":"relation","from":"10000000000000000000","to":"10000000000000000001","type":"contains"}',
        '{"record":"object","tag":"10000000000000000000","kind":"folder","name":"Again"}',
        '{"record":"relation","from":',
      ],
    ],
    [
      "broken JSON between good records, a record split over two lines, two records on one line",
      [
        '{"record":"object","tag":"10000000000000000000","kind":"folder","name":"Home"}',
        '{"record":"relation","from":"10000000000000000000",\n"to":"10000000000000000001","type":"contains"}',
        '{"record":"object","tag":"10000000000000000002","kind":"folder","name":"A"}, {"record":"object","tag":"10000000000000000003","kind":"folder","name":"B"}',
        '{"record":"object","tag":"10000000000000000001","kind":"folder","name":x}',
        '{"record":"object","tag":"10000000000000000004","kind":"folder","name":"C"}',
      ],
    ],
  ])("refuses %s with the same problems as loadGraph", async (_what, lines) => {
    for (const text of [`${lines.join("\n")}\n`, `[${lines.join(",\n")}]`]) {
      const expected = await problemsOf(loadGraph(sourceOf(text)));
      expect(expected).not.toBe("no error");
      expect(await problemsOf(loadPrerenderedGraph(sourceOf(text)))).toEqual(expected);
    }
  });

  it("says which tags the snapshot holds, for the deletion guard", async () => {
    const records = generateRecords({ folders: 1, projectsPerFolder: 1, objectsPerProject: 3 });
    const snapshot = renderPrerendered(await loadPrerenderedGraph(sourceOf(exportText(records, "json"))), meta);
    const selection = selectSnapshot(await loadGraph(sourceOf(exportText(records, "json"))), meta);
    expect(snapshot.objects).toBe(selection.objects.size);
    for (const r of records) {
      if (r.record === "object") expect(snapshot.has(r.tag)).toBe(selection.objects.has(r.tag));
    }
    expect(snapshot.has("not a tag")).toBe(false);
  });
});
