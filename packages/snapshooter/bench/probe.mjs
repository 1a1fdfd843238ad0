// One case of the snapshot benchmarks, in a fresh node process on a built dist (bench/compare.ts, snapshot.bench.ts):
// `node bench/probe.mjs <dist/index.js> <mode> <export file> <outputDir> <cwd> <snapshooter JSON>`, mode "bare" (the baseline:
// the whole file in one string, one JSON.parse, zod on every record, nothing else), "naive" (the same, then
// selectSnapshot + renderPatches in memory, no write) or "run" (runSnapshots into outputDir, relative to cwd). Prints one JSON
// line: wall, CPU, system and main-thread CPU time (10 ms ticks) and minor page faults of the case (not of node's start), peak RSS, and what it did.
import { readFileSync } from "node:fs";

const [entry, mode, source, outputDir, cwd, snapshooter] = process.argv.slice(2);
const { runSnapshots, exportRecordSchema, selectSnapshot, renderPatches } = await import(entry);
const meta = JSON.parse(snapshooter);
// The main thread's own CPU time (Linux): the snapshot's critical path, apart from the compiler's and libuv's threads.
const mainThreadMs = () => {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
};
// How long the main thread waited for a core while runnable (Linux schedstat): other processes' share of the wall time.
const mainWaitMs = () => {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
};
const main0 = mainThreadMs();
const wait0 = mainWaitMs();
const faults0 = process.resourceUsage().minorPageFault;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let out;
if (mode === "bare") {
  const all = JSON.parse(readFileSync(source, "utf8"));
  let records = 0;
  for (const value of all) {
    exportRecordSchema.parse(value);
    records++;
  }
  out = { status: "parsed", objects: records, written: "-" };
} else if (mode === "naive") {
  const all = JSON.parse(readFileSync(source, "utf8"));
  const graph = { objects: new Map(), relations: [] };
  for (const value of all) {
    const r = exportRecordSchema.parse(value);
    if (r.record === "object") {
      const { record, ...o } = r;
      graph.objects.set(o.tag, o);
    } else graph.relations.push({ from: r.from, to: r.to, type: r.type });
  }
  out = { status: "rendered", objects: renderPatches(selectSnapshot(graph, meta), meta).size, written: "-" };
} else {
  const report = await runSnapshots({ config: [{ snapshooter: { ...meta, outputDir } }], cwd, source });
  const e = report.entries[0];
  if (e.status === "failed") throw new Error(e.error.message);
  const written = e.files.added.length + e.files.changed.length + e.files.removed.length;
  out = { status: e.status, objects: e.objects, written };
}
const cpu = process.cpuUsage(cpu0);
const mainMs = mainThreadMs() - main0;
const waitMs = mainWaitMs() - wait0;
const usage = process.resourceUsage();
const rssMB = usage.maxRSS / 1024;
const faults = usage.minorPageFault - faults0;
const sysMs = cpu.system / 1000;
const wallMs = performance.now() - t0;
console.log(
  JSON.stringify({
    wallMs,
    // The wall time less the main thread's wait for a core: about what an idle machine would take.
    unloadedMs: wallMs - waitMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    sysMs,
    mainMs,
    faults,
    rssMB,
    ...out,
  }),
);
