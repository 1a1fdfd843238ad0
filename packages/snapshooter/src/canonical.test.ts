import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalCopy, MANIFEST_FILE, type Manifest, type PatchFile, renderPatches, sortKeys } from "./canonical.js";
import { SnapshooterError } from "./errors.js";
import { selectSnapshot } from "./graph.js";
import { type CodeGraph, HOME_TAG } from "./model.js";
import { generateRecords, OLYMPE_TAG } from "./test-helpers/generate.js";

function graphOf(records: ReturnType<typeof generateRecords>): CodeGraph {
  const graph: CodeGraph = { objects: new Map(), relations: [] };
  for (const r of records) {
    if (r.record === "object") {
      const { record: _r, ...object } = r;
      graph.objects.set(object.tag, object);
    } else graph.relations.push({ from: r.from, to: r.to, type: r.type });
  }
  return graph;
}

const seedMeta = { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG] };
const small = { folders: 2, projectsPerFolder: 3, objectsPerProject: 8 };

function render(records: ReturnType<typeof generateRecords>, meta = seedMeta) {
  return renderPatches(selectSnapshot(graphOf(records), meta), meta);
}

describe("selectSnapshot and renderPatches", () => {
  it("snapshots Home without the Olympe folder, one file per folder and project, and a manifest", () => {
    const records = generateRecords(small);
    const files = render(records);
    const paths = [...files.keys()];
    expect(paths.filter((p) => p.startsWith("folders/"))).toHaveLength(1 + small.folders);
    expect(paths.filter((p) => p.startsWith("projects/"))).toHaveLength(small.folders * small.projectsPerFolder);
    expect(paths.at(-1)).toBe(MANIFEST_FILE);
    expect(paths.some((p) => p.includes(OLYMPE_TAG))).toBe(false);
    const all = [...files.values()].join("");
    expect(all).not.toContain("Olympe core");

    const manifest = JSON.parse(files.get(MANIFEST_FILE) as string) as Manifest;
    expect(manifest.objects).toBe(
      1 + small.folders + small.folders * small.projectsPerFolder * (1 + small.objectsPerProject),
    );
    expect(manifest.files.map((f) => f.path)).toEqual(paths.slice(0, -1));
    const home = JSON.parse(files.get(`folders/${HOME_TAG}.json`) as string) as PatchFile;
    expect(home).toMatchObject({ tag: HOME_TAG, kind: "folder", name: "Home", parent: null });
    // The containment edge to the excluded folder is cut; model relations to Olympe's classes stay, as references.
    expect(home.relations.some((r) => r.to === OLYMPE_TAG)).toBe(false);
  });

  it("writes sorted keys, sorted objects and a final newline", () => {
    const files = render(generateRecords(small));
    const project = [...files.entries()].find(([p]) => p.startsWith("projects/"))?.[1] as string;
    expect(project.endsWith("}\n")).toBe(true);
    const parsed = JSON.parse(project) as PatchFile;
    expect(Object.keys(parsed)).toEqual(["format", "kind", "name", "objects", "parent", "relations", "tag"]);
    const tags = parsed.objects.map((o) => o.tag);
    expect(tags).toEqual([...tags].sort());
    expect(Object.keys(parsed.objects[0] ?? {})).toEqual([...Object.keys(parsed.objects[0] ?? {})].sort());
  });

  it("gives byte-identical files whatever the order of the export (property)", () => {
    const records = generateRecords(small);
    const reference = render(records);
    fc.assert(
      fc.property(fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }), (order) => {
        expect(render(order)).toEqual(reference);
      }),
      { numRuns: 25 },
    );
  });

  it("puts an object contained twice in one file only, the same one every time", () => {
    const records = generateRecords(small);
    const graph = graphOf(records);
    const projects = [...graph.objects.values()]
      .filter((o) => o.kind === "project")
      .map((o) => o.tag)
      .sort();
    const shared = [...graph.objects.values()].find((o) => o.kind === "object" && o.name.endsWith("-0"))?.tag as string;
    graph.relations.push({ from: projects[projects.length - 1] as string, to: shared, type: "contains" });
    const selection = selectSnapshot(graph, seedMeta);
    const files = renderPatches(selection, seedMeta);
    const holders = [...files.entries()].filter(
      ([p, text]) => p !== MANIFEST_FILE && text.includes(`"tag":"${shared}"`),
    );
    expect(holders).toHaveLength(1);
  });

  it("refuses a root that is not in the export, naming it", () => {
    const graph = graphOf(generateRecords(small));
    expect(() => selectSnapshot(graph, { rootTags: ["99999999999999999999"], exclude: [] })).toThrowError(
      expect.objectContaining({
        code: "UNKNOWN_ROOT",
        problems: [{ path: "rootTags 99999999999999999999", message: "no object with this tag in the export" }],
      }),
    );
  });

  it("refuses an export whose containment points to an object it does not define", () => {
    const graph = graphOf(generateRecords(small));
    graph.relations.push({ from: HOME_TAG, to: "30000000000000000000", type: "contains" });
    try {
      selectSnapshot(graph, seedMeta);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SnapshooterError);
      expect((error as SnapshooterError).problems).toEqual([
        {
          path: `relation ${HOME_TAG} contains 30000000000000000000`,
          message: "object 30000000000000000000 is not in the export",
        },
      ]);
    }
  });
});

describe("relations in a patch file", () => {
  it("are sorted by from, type, then to, duplicates dropped, whatever the types hold (NUL and quotes included)", () => {
    const tag = (n: number) => `3${String(n).padStart(19, "0")}`;
    const home = { tag: HOME_TAG, kind: "folder" as const, name: "Home", properties: {} };
    const objects = [1, 2, 3].map((n) => ({ tag: tag(n), kind: "object" as const, name: `o${n}`, properties: {} }));
    const types = ["ab", "a", 'a"q', "a-b", "a\u0000x", "b", "a"];
    const relations = [
      ...objects.map((o) => ({ from: HOME_TAG, to: o.tag, type: "contains" })),
      ...types.flatMap((type) => [
        { from: tag(2), to: tag(3), type },
        { from: tag(2), to: tag(1), type },
      ]),
    ];
    const compare = (a: (typeof relations)[number], b: (typeof relations)[number]) =>
      a.from !== b.from
        ? a.from < b.from
          ? -1
          : 1
        : a.type !== b.type
          ? a.type < b.type
            ? -1
            : 1
          : a.to < b.to
            ? -1
            : a.to > b.to
              ? 1
              : 0;
    const expected = [...new Map(relations.map((r) => [JSON.stringify(r), r])).values()].sort(compare);
    for (const withNul of [true, false]) {
      const rels = withNul ? relations : relations.filter((r) => !r.type.includes("\u0000"));
      const graph: CodeGraph = { objects: new Map([home, ...objects].map((o) => [o.tag, o])), relations: rels };
      const meta = { name: "n", rootTags: [HOME_TAG], exclude: [] };
      const file = JSON.parse(
        renderPatches(selectSnapshot(graph, meta), meta).get(`folders/${HOME_TAG}.json`) as string,
      );
      expect(file.relations).toEqual(expected.filter((r) => withNul || !r.type.includes("\u0000")));
    }
  });
});

describe("canonicalCopy", () => {
  it("orders keys as Object.keys(…).sort() does, however many and whatever they hold (property)", () => {
    const key = fc.oneof(fc.string(), fc.constantFrom("0", "1", "10", "2", "a", "B", "é", "\u0000", "__proto__"));
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
        fc.array(tie("value")),
        fc.dictionary(key, tie("value"), { maxKeys: 30 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        // Through JSON, as the export reader gets its values (own "__proto__" keys included).
        const parsed: unknown = JSON.parse(JSON.stringify(value));
        expect(JSON.stringify(canonicalCopy(parsed))).toBe(JSON.stringify(sortKeys(parsed)));
      }),
      { numRuns: 300 },
    );
  });
});
