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
import { openSync, readSync, renameSync, writeFileSync } from "node:fs";
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
/**
 * The main thread's time on a CPU and waiting for one (ns, Linux's schedstat of this thread): a long task that was
 * mostly waiting for a CPU is the machine's load (another process had the core), not this process's work.
 */
let schedstat;
try {
  schedstat = openSync("/proc/thread-self/schedstat", "r");
} catch {}
const schedBuf = Buffer.alloc(80);
/** [ms on a CPU, ms runnable but waiting for one, times it was put on a CPU] of this thread so far. */
const sched = () => {
  if (schedstat === undefined) return [Number.NaN, Number.NaN, Number.NaN];
  const n = readSync(schedstat, schedBuf, 0, 80, 0);
  const [run, wait, slices] = schedBuf.toString("latin1", 0, n).split(" ");
  return [Number(run) / 1e6, Number(wait) / 1e6, Number(slices)];
};
/** The main thread's schedstat at the last read: the read gives its CPU, its wait for a CPU and how often it ran since. */
let schedAtRead = sched();
let faultsAtRead = process.resourceUsage().majorPageFault;
/**
 * Tasks of LAG_PROBE_TASK_MS (default 10) or more since the last read, or of LAG_PROBE_TASK_CPU_MS (default 3) or more
 * of the main thread's CPU: when (ms, performance.now()), wall, CPU, run-queue wait.
 */
const TASK_MS = Number(process.env.LAG_PROBE_TASK_MS ?? 10);
const TASK_CPU_MS = Number(process.env.LAG_PROBE_TASK_CPU_MS ?? 3);
let longTasks = [];
let gcs = [];
let last = performance.now();
let [lastRun, lastWait] = sched();
/** The process's major page faults (a page read from disk, e.g. a part of node's binary the kernel had dropped). */
const majorFaults = () => process.resourceUsage().majorPageFault;
let lastFaults = majorFaults();
setInterval(() => {
  const now = performance.now();
  const [run, wait] = sched();
  const faults = majorFaults();
  const task = now - last - 1;
  if (task > longestTask) {
    longestTask = task;
    longestTaskAt = last / 1000;
  }
  if ((task >= TASK_MS || run - lastRun >= TASK_CPU_MS) && longTasks.length < 1000)
    longTasks.push({
      atMs: last,
      ms: task,
      cpuMs: run - lastRun,
      waitMs: wait - lastWait,
      majorFaults: faults - lastFaults,
    });
  last = now;
  lastFaults = faults;
  lastRun = run;
  lastWait = wait;
}, 1).unref();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.duration > longestGc) {
      longestGc = entry.duration;
      longestGcKind = gcKind(entry.detail);
      longestGcAt = entry.startTime / 1000;
    }
    gcTotal += entry.duration;
    if (gcs.length < 10_000) gcs.push({ atMs: entry.startTime, ms: entry.duration, kind: gcKind(entry.detail) });
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
    // Each long task with the GC pauses inside it; hrOffsetMs: add it to a time here for process.hrtime (a CPU profile's clock).
    longTasks: longTasks.map((t) => ({
      ...t,
      gcMs: gcs.filter((g) => g.atMs < t.atMs + t.ms + 1 && g.atMs + g.ms > t.atMs).reduce((sum, g) => sum + g.ms, 0),
    })),
    hrOffsetMs: Number(process.hrtime.bigint()) / 1e6 - performance.now(),
    ...(() => {
      const [run, wait, slices] = sched();
      const faults = majorFaults();
      const since = {
        cpuMs: run - schedAtRead[0],
        waitMs: wait - schedAtRead[1],
        runs: slices - schedAtRead[2],
        majorFaults: faults - faultsAtRead,
      };
      schedAtRead = [run, wait, slices];
      faultsAtRead = faults;
      return { thread: since };
    })(),
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
  longTasks = [];
  gcs = [];
});
// The IPC channel must not keep the server alive on its own.
process.channel?.unref();
