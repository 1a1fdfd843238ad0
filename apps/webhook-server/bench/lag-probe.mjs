/**
 * Preloaded into the server by bench/pattern-lag.ts (`node --import ./bench/lag-probe.mjs dist/main.js`): the main
 * thread's own blocking, measured inside the server at 1 ms resolution (prom-client's event-loop metrics sample at
 * 10 ms, coarser than the 20 ms goal needs). On SIGUSR2 it writes to the file LAG_PROBE_FILE names (a signal and a
 * file, not IPC: `rollway serve` may run the server as a process of its own, see apps/cli's serve.ts) and resets: the
 * event-loop delay histogram
 * (perf_hooks), the longest single task (how late a 1 ms interval timer fired, and when: seconds since the server
 * started), and the longest GC pause with its kind and V8's reason flags (a memory-reducer GC carries "all external
 * memory"), and when it happened.
 */
import { renameSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
let longestTask = 0;
let longestTaskAt = 0;
let longestGc = 0;
let longestGcKind = "";
let longestGcAt = 0;
let gcTotal = 0;
/** Every GC pause of 5 ms or more since the last read: its length, kind and when (seconds since start). */
let longGcs = [];
const GC_KINDS = { 1: "minor", 4: "major", 8: "incremental", 16: "weak callbacks" };
// perf_hooks' NODE_PERFORMANCE_GC_FLAGS_*: the GC callback flags V8 passed (why the GC ran, beyond allocation).
const GC_FLAGS = {
  2: "construct retained",
  4: "forced",
  8: "synchronous phantom processing",
  16: "all available garbage",
  32: "all external memory",
  64: "schedule idle",
};
const gcKind = (detail) => {
  const flags = Object.entries(GC_FLAGS)
    .filter(([bit]) => (detail?.flags ?? 0) & Number(bit))
    .map(([, name]) => name);
  return `${GC_KINDS[detail?.kind] ?? String(detail?.kind)}${flags.length > 0 ? ` [${flags.join(", ")}]` : ""}`;
};
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last - 1 > longestTask) {
    longestTask = now - last - 1;
    longestTaskAt = last / 1000;
  }
  last = now;
}, 1).unref();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.duration > longestGc) {
      longestGc = entry.duration;
      longestGcKind = gcKind(entry.detail);
      longestGcAt = entry.startTime / 1000;
    }
    gcTotal += entry.duration;
    if (entry.duration >= 5)
      longGcs.push({ ms: entry.duration, kind: gcKind(entry.detail), atS: entry.startTime / 1000 });
  }
}).observe({ entryTypes: ["gc"] });

const file = process.env.LAG_PROBE_FILE;
process.on("SIGUSR2", () => {
  if (!file) return;
  const figures = JSON.stringify({
    maxMs: histogram.max / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    longestTaskMs: longestTask,
    longestTaskAtS: longestTaskAt,
    longestGcMs: longestGc,
    longestGcKind,
    longestGcAtS: longestGcAt,
    gcMs: gcTotal,
    longGcs,
  });
  writeFileSync(`${file}.tmp`, figures);
  renameSync(`${file}.tmp`, file);
  histogram.reset();
  longestTask = 0;
  longestTaskAt = 0;
  longestGc = 0;
  longestGcKind = "";
  longestGcAt = 0;
  gcTotal = 0;
  longGcs = [];
});
// The IPC channel must not keep the server alive on its own.
process.channel?.unref();
