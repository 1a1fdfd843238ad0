/**
 * The figures in one command, old code beside new: `pnpm build && pnpm bench:compare`.
 *
 * Each case runs in a fresh `node` on a built `dist/` (wall time, CPU time of every thread, peak RSS), in
 * interleaved rounds (`ROUNDS`, default 3), and the table gives each case's medians with the ratios to the two
 * baselines of the same rounds: the (the whole file in one string, one JSON.parse, zod on every record, nothing
 * else) and the older one (the same, then select + render in memory). `BASE_DIST=<dir>` adds the same snapshot cases
 * on another build (copy main's `dist/` aside first). `WORKERS` sets ROLLWAY_SNAPSHOOTER_WORKERS for the new code;
 * `ALSO_WORKERS=0,1` adds its cases again with those worker counts.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HOME_TAG } from "../src/model.js";
import { generateRecords, OLYMPE_TAG, writeExportFile } from "../src/test-helpers/generate.js";

const run = promisify(execFile);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const base = process.env.BASE_DIST ? path.resolve(process.env.BASE_DIST, "index.js") : undefined;

const dir = mkdtempSync(path.join(os.tmpdir(), "snapshooter-compare-"));
const ndjson = path.join(dir, "export.ndjson");
const json = path.join(dir, "export.json");
{
  const records = generateRecords({ folders: 20, projectsPerFolder: 25, objectsPerProject: 200, shuffle: true });
  await writeExportFile(ndjson, records, "ndjson");
  await writeExportFile(json, records, "json");
}

const meta = { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG] };
const probe = `
const [entry, mode, source, outputDir, cwd] = process.argv.slice(2);
const { runSnapshots, exportRecordSchema, selectSnapshot, renderPatches } = await import(entry);
const { readFileSync } = await import("node:fs");
const meta = ${JSON.stringify(meta)};
const cpu0 = process.cpuUsage(); const t0 = performance.now();
let out;
if (mode === "bare") {
  const all = JSON.parse(readFileSync(source, "utf8"));
  for (const value of all) exportRecordSchema.parse(value);
  out = { written: "-" };
} else if (mode === "naive") {
  const all = JSON.parse(readFileSync(source, "utf8"));
  const graph = { objects: new Map(), relations: [] };
  for (const value of all) {
    const r = exportRecordSchema.parse(value);
    if (r.record === "object") { const { record, ...o } = r; graph.objects.set(o.tag, o); } else graph.relations.push({ from: r.from, to: r.to, type: r.type });
  }
  renderPatches(selectSnapshot(graph, meta), meta);
  out = { written: "-" };
} else {
  const report = await runSnapshots({ config: [{ snapshooter: { ...meta, outputDir } }], cwd, source });
  const e = report.entries[0];
  if (e.status === "failed") throw new Error(e.error.message);
  out = { written: e.files.added.length + e.files.changed.length + e.files.removed.length };
}
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, rssMB: process.resourceUsage().maxRSS / 1024, ...out }));
`;

const probeFile = path.join(dir, "probe.mjs");
writeFileSync(probeFile, probe);
// Plain node for every case: not tsx's loader, which runs this script.
const { NODE_OPTIONS: _tsx, ...plainEnv } = process.env;

type Case = { name: string; entry: string; mode: string; source: string; out: string; env?: Record<string, string> };
const workers: Record<string, string> =
  process.env.WORKERS === undefined ? {} : { ROLLWAY_SNAPSHOOTER_WORKERS: process.env.WORKERS };
const cases: Case[] = [];
const snapshotCases = (label: string, entry: string, env: Record<string, string>) => {
  // The unchanged rerun comes right after the full snapshot of the same round, into the same folder.
  cases.push({ name: `${label}: full snapshot, NDJSON`, entry, mode: "run", source: ndjson, out: `${label}-nd`, env });
  cases.push({
    name: `${label}: unchanged rerun, NDJSON`,
    entry,
    mode: "run",
    source: ndjson,
    out: `${label}-nd`,
    env,
  });
  cases.push({ name: `${label}: full snapshot, JSON`, entry, mode: "run", source: json, out: `${label}-js`, env });
};
snapshotCases("new", dist, workers);
// `ALSO_WORKERS=0,1`: the new code again with these worker counts (0: all in one thread).
for (const n of (process.env.ALSO_WORKERS ?? "").split(",").filter(Boolean)) {
  snapshotCases(`new, ${n} workers`, dist, { ROLLWAY_SNAPSHOOTER_WORKERS: n });
}
if (base) snapshotCases("old", base, {});
cases.push({ name: "issue's baseline: JSON.parse + zod", entry: dist, mode: "bare", source: json, out: "" });
cases.push({ name: "older baseline: + select + render", entry: dist, mode: "naive", source: json, out: "" });

const results = new Map<string, { wallMs: number; cpuMs: number; rssMB: number; written: number | string }[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    if (c.mode === "run" && !c.name.includes("unchanged"))
      rmSync(path.join(dir, c.out), { recursive: true, force: true });
    const { stdout } = await run(process.execPath, [probeFile, c.entry, c.mode, c.source, c.out, dir], {
      encoding: "utf8",
      env: { ...plainEnv, ...c.env },
    });
    const list = results.get(c.name) ?? [];
    list.push(JSON.parse(stdout));
    results.set(c.name, list);
  }
  console.error(
    `round ${round + 1}/${ROUNDS} done, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const med = (name: string, key: "wallMs" | "cpuMs" | "rssMB") => median((results.get(name) ?? []).map((r) => r[key]));
const bare = "issue's baseline: JSON.parse + zod";
const naive = "older baseline: + select + render";
console.log(
  `\n${ROUNDS} rounds, medians; node ${process.version}, ${os.availableParallelism()} cores, load at end ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
console.table(
  cases.map((c) => ({
    case: c.name,
    "wall ms": Math.round(med(c.name, "wallMs")),
    "cpu ms": Math.round(med(c.name, "cpuMs")),
    "rss MB": Math.round(med(c.name, "rssMB")),
    written: [...new Set((results.get(c.name) ?? []).map((r) => r.written))].join("/"),
    "wall ÷ issue's": (med(c.name, "wallMs") / med(bare, "wallMs")).toFixed(2),
    "wall ÷ older": (med(c.name, "wallMs") / med(naive, "wallMs")).toFixed(2),
    "cpu ÷ issue's": (med(c.name, "cpuMs") / med(bare, "cpuMs")).toFixed(2),
  })),
);
rmSync(dir, { recursive: true, force: true });
