/**
 * The benchmark: a full snapshot of a 100,000-object export, and a second, unchanged run that must write no
 * file. Timing runs in-process with vitest bench. Peak memory (max RSS) is measured in a fresh `node` process per
 * case running the built package (`dist/`, so run `pnpm build` first), with CPU time beside wall time because the
 * machines are shared. Two baselines in the same run read the export the naive way: the (the whole file in
 * one string, one JSON.parse, zod on every record, nothing else), and the older one that also selects and renders
 * the patches in memory with the package's own code (so it speeds up whenever that code does).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, bench, describe } from "vitest";
import { HOME_TAG } from "../src/model.js";
import { runSnapshots } from "../src/run.js";
import { generateRecords, OLYMPE_TAG, writeExportFile } from "../src/test-helpers/generate.js";

// 20 folders × 25 projects × 200 objects = 100,000 objects (plus 521 folders and projects), ~250,000 relations.
const SIZE = { folders: 20, projectsPerFolder: 25, objectsPerProject: 200, shuffle: true };
const dir = mkdtempSync(path.join(os.tmpdir(), "snapshooter-bench-"));
const ndjson = path.join(dir, "export.ndjson");
const json = path.join(dir, "export.json");
const records = generateRecords(SIZE);
await writeExportFile(ndjson, records, "ndjson");
await writeExportFile(json, records, "json");
records.length = 0;

const config = (outputDir: string) => [
  { snapshooter: { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG], outputDir } },
];

async function snapshot(source: string, outputDir: string) {
  const report = await runSnapshots({ config: config(outputDir), cwd: dir, source });
  const entry = report.entries[0];
  if (!entry || entry.status === "failed") throw new Error(entry?.error?.message ?? "no entry");
  return entry;
}

let fresh = 0;
const options = { iterations: 3, warmupIterations: 0, time: 0 };
describe("snapshot of 100,000 objects", async () => {
  await snapshot(ndjson, "warm");
  bench(
    "full snapshot, NDJSON export, empty outputDir",
    async () => {
      await snapshot(ndjson, `fresh-${fresh++}`);
    },
    options,
  );
  bench(
    "full snapshot, JSON export, empty outputDir",
    async () => {
      await snapshot(json, `fresh-${fresh++}`);
    },
    options,
  );
  bench(
    "second run, unchanged data (writes no file)",
    async () => {
      const entry = await snapshot(ndjson, "warm");
      const written = entry.files.added.length + entry.files.changed.length + entry.files.removed.length;
      if (written !== 0 || entry.status !== "unchanged") throw new Error(`the unchanged run wrote ${written} files`);
    },
    options,
  );
});

const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const probe = fileURLToPath(new URL("probe.mjs", import.meta.url));
const snapshooter = JSON.stringify({ name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG] });

// Asynchronous, one case at a time: a minute of synchronous child processes starves vitest's worker RPC (it times out).
const run = promisify(execFile);

afterAll(async () => {
  const cases: [string, string, string, string][] = [
    ["full snapshot, NDJSON", "run", ndjson, "mem-ndjson"],
    ["second run, unchanged, NDJSON", "run", ndjson, "mem-ndjson"],
    ["full snapshot, JSON", "run", json, "mem-json"],
    ["issue's baseline: whole-file JSON.parse + zod (records), nothing else", "bare", json, ""],
    ["older baseline: JSON.parse + zod + select + render in memory, no write", "naive", json, ""],
  ];
  const rows: { case: string; wallMs: number; cpuMs: number }[] = [];
  for (const [name, mode, source, out] of cases) {
    const { stdout } = await run(process.execPath, [probe, dist, mode, source, out, dir, snapshooter], {
      encoding: "utf8",
    });
    rows.push({ case: name, ...JSON.parse(stdout) });
  }
  const bare = rows.find((r) => r.case.startsWith("issue's"));
  const naive = rows.find((r) => r.case.startsWith("older"));
  for (const row of rows) {
    Object.assign(row, {
      "cpu ÷ issue's": (row.cpuMs / (bare?.cpuMs ?? 1)).toFixed(2),
      "wall ÷ issue's": (row.wallMs / (bare?.wallMs ?? 1)).toFixed(2),
      "cpu ÷ older": (row.cpuMs / (naive?.cpuMs ?? 1)).toFixed(2),
    });
  }
  console.log("\nOne fresh node process per case (dist/), 100,000 objects:");
  console.table(rows);
  rmSync(dir, { recursive: true, force: true });
}, 600_000);
