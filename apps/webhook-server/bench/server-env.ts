/**
 * What the server's environment (SERVER_ENV in src/node-flags.ts: glibc's malloc settings, the image's ENV) costs in
 * request throughput (not a test). Two servers of this build, both with the image's Node flags, one with SERVER_ENV and
 * one without, answer dry runs (no cluster) in alternating rounds (A B B A ...), each round one autocannon run after a
 * one-second warm-up, as bench/load.ts does: autocannon in its own process, pinned to the last CPU and the servers to
 * CPU 0 with `taskset` (BENCH_PIN=0: not pinned). Reports each round, then the medians of requests per second and of
 * the server's CPU time (user + system) per request, and their ratios with/without. Also each server's RSS at the
 * end. `--baseline <main.js>`: another build (without SERVER_ENV, as its image ran) in the same rounds.
 * Run on another Node by running this script on it.
 * Run after `pnpm build`: `BENCH_SECONDS=3 BENCH_ROUNDS=4 node --import tsx bench/server-env.ts [--baseline <main.js>]`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import type autocannon from "autocannon";
import { SERVER_ENV, SERVER_NODE_FLAGS } from "../src/node-flags.js";

const TOKEN = "bench-deploy-token-0123456789abcdef";
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const payload = JSON.stringify(JSON.parse(EXAMPLE_PAYLOAD_TEXT));
const baselineAt = process.argv.indexOf("--baseline");
const BASELINE = baselineAt >= 0 ? process.argv[baselineAt + 1] : undefined;

const pinning = (() => {
  if (process.env.BENCH_PIN === "0" || availableParallelism() < 2) return undefined;
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return { server: "0", load: String(availableParallelism() - 1) };
  } catch {
    return undefined;
  }
})();
const pinned = (cpu: string | undefined, command: string, args: string[]): [string, string[]] =>
  pinning && cpu !== undefined ? ["taskset", ["-c", cpu, command, ...args]] : [command, args];

// Neither server inherits this process's malloc settings: only the "with" server gets SERVER_ENV.
const { MALLOC_ARENA_MAX: _a, MALLOC_MMAP_THRESHOLD_: _m, GLIBC_TUNABLES: _g, ...cleanEnv } = process.env;
const serverEnv = (port: number, extra: Record<string, string>) => ({
  ...cleanEnv,
  NODE_ENV: "production",
  ROLLWAY_HOST: "127.0.0.1",
  ROLLWAY_PORT: String(port),
  ROLLWAY_LOG_LEVEL: "warn",
  RECHECK_BACKEND: "pure",
  ROLLWAY_RATE_LIMIT_PER_MINUTE: "100000000",
  ROLLWAY_TOKENS: JSON.stringify([{ scope: "deploy", project: "shop", environment: "prod", tokens: [TOKEN] }]),
  ...extra,
});
const started: ChildProcess[] = [];
function start(main: string, port: number, extra: Record<string, string>): ChildProcess {
  // Under taskset the child's pid is the server's own (taskset execs it).
  const [command, argv] = pinned(pinning?.server, process.execPath, [...SERVER_NODE_FLAGS, main]);
  const child = spawn(command, argv, { env: serverEnv(port, extra), stdio: ["ignore", "ignore", "inherit"] });
  started.push(child);
  return child;
}

function autocannonRun(opts: autocannon.Options): Promise<{ result: autocannon.Result; cpuMicros: number }> {
  const script = fileURLToPath(new URL("./load-generator.mjs", import.meta.url));
  const [command, argv] = pinned(pinning?.load, process.execPath, [script, JSON.stringify(opts)]);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon: exit ${code}`)),
    );
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 800; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not start`);
}

function cpuMicros(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}
const rssMiB = (child: ChildProcess) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const variants = [
  { title: "this build, SERVER_ENV", child: start(main, 18_470, { ...SERVER_ENV }), port: 18_470 },
  { title: "this build, no SERVER_ENV", child: start(main, 18_471, {}), port: 18_471 },
  ...(BASELINE ? [{ title: "baseline build", child: start(BASELINE, 18_472, {}), port: 18_472 }] : []),
].map((v) => ({ ...v, rps: [] as number[], cpu: [] as number[] }));

try {
  for (const v of variants) await waitFor(`http://127.0.0.1:${v.port}/healthz`);
  const headers = { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` };
  const opts = (port: number) => ({
    url: `http://127.0.0.1:${port}/v1/projects/shop/environments/prod/validate`,
    method: "POST" as const,
    body: payload,
    headers,
    connections: 20,
  });
  console.log(
    `Node ${process.version}, ${DURATION} s per run, ${ROUNDS} rounds, pinned: ${pinning ? "yes" : "no"}, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    // ABBA: each variant goes first as often as last.
    const order = round % 2 === 1 ? variants : [...variants].reverse();
    for (const v of order) {
      await autocannonRun({ ...opts(v.port), duration: 1 });
      const before = cpuMicros(v.child);
      const { result } = await autocannonRun({ ...opts(v.port), duration: DURATION });
      const requests = Math.max(1, result.requests.total);
      v.rps.push(result.requests.average);
      v.cpu.push((cpuMicros(v.child) - before) / requests);
      console.log(
        `round ${round} ${v.title.padEnd(26)} ${result.requests.average.toFixed(0).padStart(6)} req/s  CPU ${((cpuMicros(v.child) - before) / requests).toFixed(1).padStart(6)} µs/req  non-2xx ${result.non2xx}`,
      );
    }
  }
  const [withEnv, without] = variants as [(typeof variants)[0], (typeof variants)[0]];
  for (const v of variants)
    console.log(
      `median ${v.title.padEnd(26)} ${median(v.rps).toFixed(0).padStart(6)} req/s  CPU ${median(v.cpu).toFixed(1).padStart(6)} µs/req  RSS at the end ${rssMiB(v.child).toFixed(0)} MiB`,
    );
  console.log(
    `with / without SERVER_ENV: req/s ${(median(withEnv.rps) / median(without.rps)).toFixed(3)}, CPU per request ${(median(withEnv.cpu) / median(without.cpu)).toFixed(3)}`,
  );
} finally {
  for (const child of started) child.kill("SIGTERM");
  await Promise.all(started.map((c) => new Promise((r) => (c.exitCode === null ? c.once("exit", r) : r(0)))));
}
