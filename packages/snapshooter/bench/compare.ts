/**
 * The figures in one command, this build beside another: from `packages/snapshooter`,
 * `pnpm build && BASE_DIST=<other dist> pnpm bench:compare` (run it under `nice -n 10` on a shared machine).
 *
 * Each case runs in a fresh `node` on a built `dist/` (wall time, CPU time of the process, peak RSS), in interleaved
 * rounds (`ROUNDS`, default 3); the table gives each case's medians with the ratios to the two baselines of the same
 * rounds: the bare one (the whole file in one string, one JSON.parse, zod on every record, nothing else) and
 * the rendering one the figures were taken against (the same, then `selectSnapshot` + `renderPatches` in
 * memory, with the base build's code when `BASE_DIST` is given, so it stays a fixed yardstick). At the end the outputs
 * of both builds' full snapshots are compared byte for byte. `EXPORT_DIR=<dir>` keeps the generated exports there
 * for the next run (each round's snapshots go into new folders, removed at the end; `REUSE_OUTPUT=1` reuses one);
 * `CASES=new,old,bare,naive` picks case groups, `FORMATS=ndjson,json` the snapshots' exports; `DETAIL=1` prints
 * every round's figures too.
 *
 * Besides wall and CPU time of the whole process: `main ms`, the main thread's own CPU time (10 ms ticks), and
 * `unloaded ms`, the wall time less the time the main thread waited for a core (Linux schedstat): on a machine shared
 * with other processes, about what an idle machine would take (the main thread is the snapshot's critical path; the
 * compiler's, GC's and libuv's threads run beside it).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
const groups = new Set((process.env.CASES ?? "new,old,bare,naive").split(","));
const formats = new Set((process.env.FORMATS ?? "ndjson,json").split(","));

const exportDir = process.env.EXPORT_DIR ? path.resolve(process.env.EXPORT_DIR) : undefined;
const dir = exportDir ?? mkdtempSync(path.join(os.tmpdir(), "snapshooter-compare-"));
mkdirSync(dir, { recursive: true });
const ndjson = path.join(dir, "export.ndjson");
const json = path.join(dir, "export.json");
if (!existsSync(ndjson) || !existsSync(json)) {
  const records = generateRecords({ folders: 20, projectsPerFolder: 25, objectsPerProject: 200, shuffle: true });
  await writeExportFile(ndjson, records, "ndjson");
  await writeExportFile(json, records, "json");
}

const meta = { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG] };

const probeFile = fileURLToPath(new URL("probe.mjs", import.meta.url));
// Plain node for every case: not tsx's loader, which runs this script.
const { NODE_OPTIONS: _tsx, ...plainEnv } = process.env;

type Case = { name: string; entry: string; mode: string; source: string; out: string };
const cases: Case[] = [];
const snapshotCases = (label: string, entry: string) => {
  // The unchanged rerun comes right after the full snapshot of the same round, into the same folder.
  cases.push({ name: `${label}: full snapshot, NDJSON`, entry, mode: "run", source: ndjson, out: `out-${label}-nd` });
  cases.push({ name: `${label}: unchanged rerun, NDJSON`, entry, mode: "run", source: ndjson, out: `out-${label}-nd` });
  if (formats.has("json"))
    cases.push({ name: `${label}: full snapshot, JSON`, entry, mode: "run", source: json, out: `out-${label}-js` });
};
if (groups.has("new")) snapshotCases("new", dist);
if (base && groups.has("old")) snapshotCases("old", base);
const BARE = "bare baseline: JSON.parse + zod";
const NAIVE = "rendering baseline: + select + render";
if (groups.has("bare")) cases.push({ name: BARE, entry: base ?? dist, mode: "bare", source: json, out: "" });
if (groups.has("naive")) {
  cases.push({ name: NAIVE, entry: base ?? dist, mode: "naive", source: json, out: "" });
  if (base) cases.push({ name: `${NAIVE} (new code)`, entry: dist, mode: "naive", source: json, out: "" });
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
console.error(`load at start ${load()}`);
type Figures = {
  wallMs: number;
  cpuMs: number;
  sysMs: number;
  mainMs: number;
  unloadedMs: number;
  faults: number;
  rssMB: number;
  written: number | string;
};
// Each round's full snapshots go into folders of their own, all removed at the end. Removing the last round's
// folder right before (as this did until 2026-12-07) made the case pay for the harness's own deletion on a file
// system without a journal (this VM's ext4): creating a file then skips every inode freed in the last ~30 s, one
// inode-table lookup each (the kernel's `recently_deleted`; perf: up to three quarters of the writer thread's
// samples, 0-400 ms per run). `REUSE_OUTPUT=1` keeps the old way, to see that cost.
const reuseOutput = process.env.REUSE_OUTPUT === "1";
// The same holds across runs: this harness frees thousands of inodes when it cleans up, and a run started within a
// minute or two of another one's clean-up measured it (2026-12-07: full snapshot ÷ bare 0.61-0.63 for runs 70-80 s
// after a clean-up, 0.58 for runs 2-8 minutes after). So a run waits until two minutes after the last clean-up.
const cleanupMark = path.join(os.tmpdir(), "snapshooter-compare-cleanup");
const CLEANUP_QUIET_MS = 120_000;
{
  let last = 0;
  try {
    last = Number(readFileSync(cleanupMark, "utf8"));
  } catch {}
  const wait = last + CLEANUP_QUIET_MS - Date.now();
  if (wait > 0 && wait <= CLEANUP_QUIET_MS) {
    console.error(
      `waiting ${Math.ceil(wait / 1000)} s: the last run cleaned up ${Math.round((Date.now() - last) / 1000)} s ago`,
    );
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
const runId = process.pid.toString(36);
const outputOf = (c: Case, round: number) => (reuseOutput ? c.out : `${c.out}-${runId}-r${round}`);
const results = new Map<string, Figures[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) {
    if (reuseOutput && c.mode === "run" && !c.name.includes("unchanged"))
      rmSync(path.join(dir, c.out), { recursive: true, force: true });
    const { stdout } = await run(
      process.execPath,
      [probeFile, c.entry, c.mode, c.source, outputOf(c, round), dir, JSON.stringify(meta)],
      {
        encoding: "utf8",
        env: plainEnv,
      },
    );
    const list = results.get(c.name) ?? [];
    list.push(JSON.parse(stdout));
    results.set(c.name, list);
  }
  console.error(`round ${round + 1}/${ROUNDS} done, load ${load()}`);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const med = (name: string, key: "wallMs" | "cpuMs" | "sysMs" | "mainMs" | "unloadedMs" | "faults" | "rssMB") =>
  median((results.get(name) ?? []).map((r) => r[key]));
const ratio = (name: string, key: "wallMs" | "cpuMs" | "unloadedMs", of: string) =>
  results.has(of) ? (med(name, key) / med(of, key)).toFixed(2) : "-";
console.log(
  `\n${ROUNDS} rounds, medians; node ${process.version}, ${os.availableParallelism()} cores, load at end ${load()}`,
);
console.table(
  cases.map((c) => ({
    case: c.name,
    "wall ms": Math.round(med(c.name, "wallMs")),
    // Wall less the main thread's wait for a core (schedstat): the wall time with the other processes taken out.
    "unloaded ms": Math.round(med(c.name, "unloadedMs")),
    "cpu ms": Math.round(med(c.name, "cpuMs")),
    // The least a case took: interference from other processes only ever adds.
    "cpu min": Math.round(Math.min(...(results.get(c.name) ?? []).map((r) => r.cpuMs))),
    // System time and minor page faults (first touches of fresh memory: ~13 µs each on this VM), of the case only.
    "sys ms": Math.round(med(c.name, "sysMs")),
    // The main thread alone (in 10 ms ticks): the critical path, what the wall time is on an idle machine.
    "main ms": Math.round(med(c.name, "mainMs")),
    faults: Math.round(med(c.name, "faults")),
    "rss MB": Math.round(med(c.name, "rssMB")),
    written: [...new Set((results.get(c.name) ?? []).map((r) => r.written))].join("/"),
    "wall ÷ bare": ratio(c.name, "wallMs", BARE),
    "cpu ÷ bare": ratio(c.name, "cpuMs", BARE),
    "unloaded ÷ bare": ratio(c.name, "unloadedMs", BARE),
    "wall ÷ rendering": ratio(c.name, "wallMs", NAIVE),
    "cpu ÷ rendering": ratio(c.name, "cpuMs", NAIVE),
  })),
);

// Every round's figures, for a look at the spread (`DETAIL=1`): medians hide how noisy a loaded machine is.
if (process.env.DETAIL) {
  for (const c of cases) {
    const list = results.get(c.name) ?? [];
    const fmt = (key: "wallMs" | "unloadedMs" | "cpuMs" | "mainMs" | "faults") =>
      list.map((r) => Math.round(r[key])).join(" ");
    console.log(
      `${c.name}: wall ${fmt("wallMs")}; unloaded ${fmt("unloadedMs")}; cpu ${fmt("cpuMs")}; main ${fmt("mainMs")}; faults ${fmt("faults")}`,
    );
  }
}

// The same bytes from both builds (patch files and manifest), for both export formats.
if (base && groups.has("new") && groups.has("old")) {
  const files = (root: string): string[] =>
    readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
      .sort();
  for (const kind of formats.has("json") ? ["nd", "js"] : ["nd"]) {
    const last = (out: string) => path.join(dir, reuseOutput ? out : `${out}-${runId}-r${ROUNDS - 1}`);
    const [a, b] = [last(`out-new-${kind}`), last(`out-old-${kind}`)];
    const [fa, fb] = [files(a), files(b)];
    const same =
      fa.join("\n") === fb.join("\n") &&
      fa.every((f) => readFileSync(path.join(a, f)).equals(readFileSync(path.join(b, f))));
    console.log(`output ${kind === "nd" ? "NDJSON" : "JSON"}: ${fa.length} files, ${same ? "identical" : "DIFFERENT"}`);
    if (!same) process.exitCode = 1;
  }
}
if (!exportDir) rmSync(dir, { recursive: true, force: true });
else
  for (const name of readdirSync(dir))
    if (name.startsWith("out-") && !reuseOutput) rmSync(path.join(dir, name), { recursive: true, force: true });
if (cases.some((c) => c.mode === "run")) writeFileSync(cleanupMark, String(Date.now()));
