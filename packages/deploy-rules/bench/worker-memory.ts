/**
 * What a recheck worker leaves in the process's RSS once it has ended (issue #17: idle memory of the server). The
 * process starts a worker thread that loads recheck (as the check pool's workers do), checks four patterns, is
 * terminated, and RSS is read 3 s later; `--cycles N` repeats that (does the memory left grow with each worker, or is
 * it reused by the next?). Options for the worker: `--limits` (resourceLimits: old generation 48 MB, young 8 MB).
 * Run it with the glibc settings to compare as environment (e.g. `MALLOC_ARENA_MAX=2`) and with each Node:
 *   node --import tsx bench/worker-memory.ts [--cycles 3] [--limits]
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker, type WorkerOptions } from "node:worker_threads";

const recheck = createRequire(import.meta.url).resolve("recheck");
const cyclesAt = process.argv.indexOf("--cycles");
const cycles = cyclesAt >= 0 ? Number(process.argv[cyclesAt + 1]) || 1 : 1;
const limits = process.argv.includes("--limits");
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;
const SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { checkSync } = require(workerData.recheck);
parentPort.on("message", (pattern) => parentPort.postMessage(checkSync(pattern, "", {}).status));
parentPort.postMessage("ready");`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

process.env.RECHECK_BACKEND ??= "pure";
await sleep(500);
const line = [
  `${process.version}${limits ? " resourceLimits" : ""}${process.env.MALLOC_ARENA_MAX ? ` MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX}` : ""}: before ${rss().toFixed(0)} MiB`,
];
for (let cycle = 1; cycle <= cycles; cycle++) {
  const options: WorkerOptions = { eval: true, execArgv: [], workerData: { recheck } };
  if (limits) options.resourceLimits = { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 };
  const worker = new Worker(SOURCE, options);
  await new Promise((r) => worker.once("message", r));
  for (const pattern of [
    `^my-registry/fresh-${cycle}:[0-9]+$`,
    `^(?!backend-${cycle}x).*$`,
    `(\\w+\\s?)*${cycle}$`,
    "^a(b|c)+d$",
  ]) {
    worker.postMessage(pattern);
    await new Promise((r) => worker.once("message", r));
  }
  const busy = rss();
  await worker.terminate();
  await sleep(3000);
  line.push(`worker ${cycle}: busy ${busy.toFixed(0)}, 3 s after terminate ${rss().toFixed(0)} MiB`);
}
console.log(line.join("; "));
