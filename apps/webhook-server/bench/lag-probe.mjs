/**
 * Preloaded into the server by bench/pattern-lag.ts (`node --import ./bench/lag-probe.mjs dist/main.js`): the main
 * thread's own blocking, measured inside the server at 1 ms resolution (prom-client's event-loop metrics sample at
 * 10 ms, coarser than the 20 ms goal needs). Over IPC, "read" answers and resets: the event-loop delay histogram
 * (perf_hooks), the longest single task (how late a 1 ms interval timer fired), and the longest GC pause.
 */
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
let longestTask = 0;
let longestGc = 0;
let longestGcKind = "";
let gcTotal = 0;
const GC_KINDS = { 1: "minor", 4: "major", 8: "incremental", 16: "weak callbacks" };
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  longestTask = Math.max(longestTask, now - last - 1);
  last = now;
}, 1).unref();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.duration > longestGc) {
      longestGc = entry.duration;
      longestGcKind = GC_KINDS[entry.detail?.kind] ?? String(entry.detail?.kind);
    }
    gcTotal += entry.duration;
  }
}).observe({ entryTypes: ["gc"] });

process.on("message", (message) => {
  if (message !== "read") return;
  process.send?.({
    maxMs: histogram.max / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    longestTaskMs: longestTask,
    longestGcMs: longestGc,
    longestGcKind,
    gcMs: gcTotal,
  });
  histogram.reset();
  longestTask = 0;
  longestGc = 0;
  longestGcKind = "";
  gcTotal = 0;
});
// The IPC channel must not keep the server alive on its own.
process.channel?.unref();
