import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { describe, expect, it } from "vitest";
import { SnapshooterError } from "./errors.js";
import { HOME_TAG } from "./model.js";
import { EXIT_CODES, exitCodeOf, formatError, formatReport } from "./report.js";
import { runSnapshots } from "./run.js";
import { exportText, generateRecords, OLYMPE_TAG, tagOf } from "./test-helpers/generate.js";
import { useHttpExport, useTempDir } from "./test-helpers/resources.js";

async function project(options: { seed?: number } = {}) {
  const dir = await useTempDir();
  const configPath = path.join(dir, "snapshooter.json");
  await writeFile(
    configPath,
    JSON.stringify([
      { snapshooter: { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG], outputDir: "snapshot" } },
      { snapshooter: { name: "Olympe only", rootTags: [OLYMPE_TAG], outputDir: "olympe" } },
    ]),
  );
  const exportFile = path.join(dir, "export.json");
  const records = generateRecords({ seed: options.seed ?? 4, folders: 2, projectsPerFolder: 2, objectsPerProject: 5 });
  await writeFile(exportFile, exportText(records, "json"));
  return { dir, configPath, exportFile, records };
}

describe("runSnapshots without git (the patches land beside the config file)", () => {
  it("writes every entry, then a second run writes no file and reports no change", async () => {
    const { dir, configPath, exportFile } = await project();
    const first = await runSnapshots({ configPath, source: exportFile });
    expect(first.entries.map((e) => [e.name, e.status])).toEqual([
      ["My Projects", "updated"],
      ["Olympe only", "updated"],
    ]);
    const manifest = path.join(dir, "snapshot", "manifest.json");
    const before = (await stat(manifest)).mtimeMs;
    const text = formatReport(first);
    expect(text).toContain("✓ My Projects (snapshot): changed — 27 objects; 8 added, 0 changed, 0 removed");
    expect(text).toContain(`    + folders/${HOME_TAG}.json`);
    expect(text).toContain("2 entries: 2 changed, 0 unchanged, 0 failed");

    const second = await runSnapshots({ configPath, source: exportFile });
    expect(second.entries.map((e) => e.status)).toEqual(["unchanged", "unchanged"]);
    expect((await stat(manifest)).mtimeMs).toBe(before);
    expect(formatReport(second)).toContain("= My Projects (snapshot): no change (27 objects)");
    expect(exitCodeOf(second)).toBe(EXIT_CODES.OK);
  });

  it("reports added, changed and removed files when the data moves, and --entry runs one entry", async () => {
    const { configPath, exportFile, records } = await project();
    await runSnapshots({ configPath, source: exportFile });
    // A project is deleted in Draw and another one renamed.
    const projects = records
      .filter((r) => r.record === "object" && r.kind === "project" && r.name !== "Olympe core")
      .map((r) => (r as { tag: string }).tag);
    const [gone, renamed] = projects as [string, string];
    const next = records
      .filter((r) => (r.record === "object" ? r.tag !== gone : r.to !== gone && r.from !== gone))
      .map((r) => (r.record === "object" && r.tag === renamed ? { ...r, name: "Renamed" } : r));
    await writeFile(exportFile, exportText(next, "ndjson"));
    // One project of this small export is more than the deletion guard's 10%: refused by default, nothing written.
    const guarded = await runSnapshots({ configPath, source: exportFile, entry: "My Projects" });
    expect(guarded.entries[0]).toMatchObject({ status: "failed", error: { code: "TOO_MANY_REMOVED" } });
    expect(guarded.entries[0]?.error?.message).toMatch(/would remove \d+ of the \d+ objects .*nothing was written/);
    expect(guarded.entries[0]?.files).toEqual({ added: [], changed: [], removed: [] });
    const report = await runSnapshots({ configPath, source: exportFile, entry: "My Projects", maxRemovedShare: 1 });
    expect(report.entries).toHaveLength(1);
    expect(report.entries[0]?.files).toEqual({
      added: [],
      changed: expect.arrayContaining(["manifest.json", `projects/${renamed}.json`]),
      removed: [`projects/${gone}.json`],
    });
    expect(formatReport(report)).toContain(`    - projects/${gone}.json`);
  });

  it("refuses to write an outputDir another run is writing (exit code 3)", async () => {
    const { dir, configPath, exportFile } = await project();
    const release = await lockfile.lock(path.join(dir, "snapshot"), {
      realpath: false,
      lockfilePath: path.join(dir, "snapshot.lock"),
    });
    try {
      const report = await runSnapshots({ configPath, source: exportFile });
      expect(report.entries.map((e) => [e.name, e.status, e.error?.code])).toEqual([
        ["My Projects", "failed", "LOCKED"],
        ["Olympe only", "updated", undefined],
      ]);
      expect(exitCodeOf(report)).toBe(EXIT_CODES.LOCKED);
      await expect(stat(path.join(dir, "snapshot"))).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await release();
    }
  });

  it("a dry run says what would change and writes nothing", async () => {
    const { dir, configPath, exportFile } = await project();
    const report = await runSnapshots({ configPath, source: exportFile, dryRun: true });
    expect(report.entries[0]?.status).toBe("would-update");
    expect(formatReport(report)).toMatch(/^Dry run: nothing written\./);
    await expect(stat(path.join(dir, "snapshot"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("reads the export from an HTTP endpoint as well", async () => {
    const { dir, configPath, records } = await project();
    const server = await useHttpExport(exportText(records, "ndjson"));
    const report = await runSnapshots({ configPath, source: server.url });
    expect(report.entries[0]?.status).toBe("updated");
    expect(JSON.parse(await readFile(path.join(dir, "snapshot", "manifest.json"), "utf8")).objects).toBe(27);
  });

  it("an entry whose root is missing fails alone; the others still run (exit code 1)", async () => {
    const { dir, exportFile } = await project();
    const config = [
      { snapshooter: { name: "Broken", rootTags: [tagOf(999_999)], outputDir: "a" } },
      { snapshooter: { name: "Fine", rootTags: [HOME_TAG], outputDir: "b" } },
    ];
    const report = await runSnapshots({ config, cwd: dir, source: exportFile });
    expect(report.entries.map((e) => [e.name, e.status, e.error?.code])).toEqual([
      ["Broken", "failed", "UNKNOWN_ROOT"],
      ["Fine", "updated", undefined],
    ]);
    expect(formatReport(report)).toContain(
      `✗ Broken (a): failed [UNKNOWN_ROOT]\n    a root tag is not in the code-as-data export\n      rootTags ${tagOf(999_999)}: no object with this tag in the export`,
    );
    expect(exitCodeOf(report)).toBe(EXIT_CODES.FAILED);
  });

  it.each([
    [
      "a missing config file",
      { configPath: "/nonexistent/snapshooter.json" },
      "CONFIG_NOT_FOUND",
      EXIT_CODES.BAD_CONFIG,
    ],
    ["an invalid config", { config: [{ snapshooter: { name: "x" } }] }, "INVALID_CONFIG", EXIT_CODES.BAD_CONFIG],
    [
      "an unknown --entry",
      { config: [{ snapshooter: { name: "x", rootTags: [HOME_TAG], outputDir: "s" } }], entry: "y" },
      "UNKNOWN_ENTRY",
      EXIT_CODES.BAD_CONFIG,
    ],
    [
      "a missing export",
      {
        config: [{ snapshooter: { name: "x", rootTags: [HOME_TAG], outputDir: "s" } }],
        source: "/nonexistent/export.json",
      },
      "SOURCE_UNAVAILABLE",
      EXIT_CODES.FAILED,
    ],
  ])("throws for %s, with its exit code", async (_what, options, code, exit) => {
    const error = await runSnapshots({ source: "/nonexistent/export.json", ...options }).then(
      () => expect.unreachable(),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SnapshooterError);
    expect((error as SnapshooterError).code).toBe(code);
    expect(exitCodeOf(error)).toBe(exit);
    expect(formatError(error)).toMatch(new RegExp(`^error \\[${code}\\]: `));
  });

  it("stops when aborted, with exit code 130", async () => {
    const { configPath, exportFile } = await project();
    const controller = new AbortController();
    controller.abort();
    const error = await runSnapshots({ configPath, source: exportFile, signal: controller.signal }).then(
      () => expect.unreachable(),
      (e: unknown) => e,
    );
    expect(exitCodeOf(error)).toBe(EXIT_CODES.ABORTED);
  });
});
