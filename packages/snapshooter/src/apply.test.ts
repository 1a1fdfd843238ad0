import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applyPatches, buildCodeAsData } from "./apply.js";
import { renderPatches } from "./canonical.js";
import { loadGraph, selectSnapshot } from "./graph.js";
import { HOME_TAG } from "./model.js";
import { fileSource } from "./sources/source.js";
import { exportText, generateRecords, OLYMPE_TAG } from "./test-helpers/generate.js";
import { useTempDir } from "./test-helpers/resources.js";
import { syncPatchFiles } from "./write.js";

const meta = { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG] };

async function savedSnapshot() {
  const dir = await useTempDir();
  await writeFile(
    path.join(dir, "export.ndjson"),
    exportText(generateRecords({ folders: 2, projectsPerFolder: 2, objectsPerProject: 12 }), "ndjson"),
  );
  const graph = await loadGraph(fileSource(path.join(dir, "export.ndjson")));
  const selection = selectSnapshot(graph, meta);
  const patches = path.join(dir, "snapshot");
  await syncPatchFiles(patches, renderPatches(selection, meta));
  return { dir, patches, selection };
}

const sortRelations = <T extends { from: string; to: string; type: string }>(list: T[]) =>
  [...list].map(({ from, to, type }) => `${from} ${type} ${to}`).sort();

describe("applyPatches", () => {
  it("rebuilds exactly the graph the snapshot saved", async () => {
    const { patches, selection } = await savedSnapshot();
    const applied = await applyPatches(patches);
    expect(applied.objects).toEqual(selection.objects);
    expect(sortRelations(applied.relations)).toEqual(sortRelations(selection.relations));
    // And rendering the rebuilt graph again gives the same files.
    const again = renderPatches(selectSnapshot(applied, meta), meta);
    for (const [rel, text] of again) expect(await readFile(path.join(patches, rel), "utf8")).toBe(text);
  });

  it("refuses a patch edited by hand, naming it", async () => {
    const { patches } = await savedSnapshot();
    const file = path.join(patches, "folders", `${HOME_TAG}.json`);
    await writeFile(file, (await readFile(file, "utf8")).replace('"Home"', '"Home!"'));
    await expect(applyPatches(patches)).rejects.toMatchObject({
      code: "INVALID_PATCHES",
      problems: [
        {
          path: `folders/${HOME_TAG}.json`,
          message: "differs from the checksum in the manifest (edited by hand, or half copied?)",
        },
      ],
    });
  });

  it("refuses a folder without a manifest", async () => {
    const dir = await useTempDir();
    await expect(applyPatches(dir)).rejects.toMatchObject({
      code: "INVALID_PATCHES",
      problems: [{ path: "manifest.json", message: "cannot be read (ENOENT)" }],
    });
  });
});

describe("buildCodeAsData", () => {
  it("packs verified patches into dist/codeAsData, replacing what was there", async () => {
    const { dir, patches } = await savedSnapshot();
    const out = path.join(dir, "dist", "codeAsData");
    await buildCodeAsData(patches, out);
    await writeFile(path.join(out, "stale.json"), "{}");
    const result = await buildCodeAsData(patches, out);
    expect(result).toMatchObject({ outDir: out, files: 1 + 3 + 4 });
    expect((await readdir(out)).sort()).toEqual(["folders", "manifest.json", "projects"]);
    expect((await applyPatches(out)).objects.size).toBe(result.objects);
  });

  it("builds nothing from broken patches", async () => {
    const { dir, patches } = await savedSnapshot();
    await writeFile(path.join(patches, "manifest.json"), "{");
    const out = path.join(dir, "dist", "codeAsData");
    await expect(buildCodeAsData(patches, out)).rejects.toMatchObject({ code: "INVALID_PATCHES" });
    await expect(readdir(out)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
