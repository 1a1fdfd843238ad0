/**
 * Where a dry run's CPU goes: one server build (default `dist/main.js`) under dry-run load, with or without a cluster
 * (kube-sim holding the demo environment, as bench/load.ts), started with the Node/V8 flags given. Prints the server's
 * CPU per request and, with `--trace-gc` among the flags, its scavenges and mark-compacts per 10,000 requests (counted
 * from V8's trace on the server's stdout). With `--cpu-prof` (and e.g. `--cpu-prof-dir=/tmp/prof`) the server writes
 * its profile when it exits. Pinned as bench/load.ts is (server CPU 0, load generator the last CPU).
 * Several `--server <main.js>` (each may be followed by its own `--node-flags`, and `--env K=V,...`): measured in
 * turns of BENCH_SECONDS each, BENCH_ROUNDS times, so that a shared machine's load falls alike on each; the median
 * of each server's CPU per request and of its ratio to the first server's in the same round are printed.
 * With `--together`, the servers are loaded at the same time in each round (all on the server CPU, each by its own load
 * generator): the fairest A/B on a machine whose load moves, since each second's load falls on every server alike.
 * With `--cluster`, a server given `--env "ROLLWAY_KUBECONFIG=,ROLLWAY_CONFIG="` runs without one (empty means unset):
 * the cluster's cost in the same run (compare their CPU profiles with bench/profile-diff.mjs).
 * `node --import tsx bench/dry-run-profile.ts [--cluster] [--together] [--server <main.js> [--node-flags "<flags>"] [--env K=V]]...`
 * (BENCH_SECONDS, default 10; BENCH_ROUNDS, default 1; BENCH_PORT, the first server's port, default 18490;
 * BENCH_IDLE_SECONDS, more idle time before the first request, default 0).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import { startDemoCluster } from "../src/sim.js";

const TOKEN = "bench-deploy-token-0123456789abcdef";
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const payload = JSON.stringify(JSON.parse(EXAMPLE_PAYLOAD_TEXT));
interface ServerSpec {
  main: string;
  nodeFlags: string[];
  env: Record<string, string>;
}
const specs: ServerSpec[] = [];
for (let i = 2; i < process.argv.length; i++) {
  const [name, value] = [process.argv[i], process.argv[i + 1] ?? ""];
  if (name === "--server") specs.push({ main: value, nodeFlags: [], env: {} });
  const spec = specs.at(-1);
  if (name === "--node-flags" && spec) spec.nodeFlags = value.split(/\s+/).filter(Boolean);
  if (name === "--env" && spec)
    for (const pair of value.split(",")) spec.env[pair.slice(0, pair.indexOf("="))] = pair.slice(pair.indexOf("=") + 1);
}
if (specs.length === 0)
  specs.push({ main: fileURLToPath(new URL("../dist/main.js", import.meta.url)), nodeFlags: [], env: {} });
const withCluster = process.argv.includes("--cluster");
const together = process.argv.includes("--together");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);

const last = String(availableParallelism() - 1);
const canPin = (() => {
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return availableParallelism() >= 2;
  } catch {
    return false;
  }
})();
const pinned = (cpu: string, args: string[]): [string, string[]] =>
  canPin ? ["taskset", ["-c", cpu, process.execPath, ...args]] : [process.execPath, args];

function cpuMicros(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function rssMiB(child: ChildProcess): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
}

function autocannonRun(
  port: number,
  seconds: number,
): Promise<{ result: { requests: { total: number } }; cpuMicros: number }> {
  const script = fileURLToPath(new URL("./load-generator.mjs", import.meta.url));
  const opts = {
    url: `http://127.0.0.1:${port}/v1/projects/shop/environments/prod/validate`,
    method: "POST",
    body: payload,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` },
    connections: 20,
    duration: seconds,
  };
  const [command, argv] = pinned(last, [script, JSON.stringify(opts)]);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}`)))),
  );
}

const cluster = withCluster ? await startDemoCluster({ readyDelayMs: 20 }) : undefined;
const baseEnv: Record<string, string> = {
  ROLLWAY_HOST: "127.0.0.1",
  ROLLWAY_LOG_LEVEL: "warn",
  RECHECK_BACKEND: "pure",
  ROLLWAY_RATE_LIMIT_PER_MINUTE: "100000000",
  ROLLWAY_TOKENS: JSON.stringify([
    { scope: "deploy", project: "shop", environment: "prod", tokens: [TOKEN] },
    { scope: "deploy", project: "demo", environment: "demo", tokens: [TOKEN] },
  ]),
};
if (cluster) {
  const configFile = join(cluster.environmentFile, "..", "bench-config.yaml");
  writeFileSync(
    configFile,
    `environments:\n  - { project: demo, environment: demo, file: ${cluster.environmentFile} }\n`,
  );
  baseEnv.ROLLWAY_CONFIG = configFile;
  baseEnv.ROLLWAY_KUBECONFIG = cluster.sim.kubeconfigPath;
}

interface Running {
  spec: ServerSpec;
  port: number;
  child: ChildProcess;
  trace: string;
  idleRss: number;
  results: { cpu: number; rps: number; load: number; scavenges: number; compacts: number; scavengeMicros: number }[];
}
const servers: Running[] = specs.map((spec, i) => {
  const port = Number(process.env.BENCH_PORT ?? 18_490) + i;
  const [command, argv] = pinned("0", [...spec.nodeFlags, spec.main]);
  const child = spawn(command, argv, {
    env: { ...process.env, ...baseEnv, ROLLWAY_PORT: String(port), ...spec.env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const running: Running = { spec, port, child, trace: "", idleRss: 0, results: [] };
  child.stdout?.on("data", (c: Buffer) => {
    running.trace += c.toString();
  });
  return running;
});
const count = (s: Running, kind: RegExp) => (s.trace.match(kind) ?? []).length;
/** Milliseconds of the scavenges in V8's trace so far (`Scavenge a (b) -> c (d) MB, <ms> / <ms> ms`). */
const scavengeMs = (s: Running) =>
  [...s.trace.matchAll(/Scavenge[^,]*, ([\d.]+) \/ [\d.]+ ms/g)].reduce((sum, m) => sum + Number(m[1]), 0);
const SCAVENGE = /Scavenge/g;
const COMPACT = /Mark-Compact|Mark-sweep/g;

async function releases(port: number) {
  // As bench/load.ts: a finished release, then one waiting for approval.
  const deployTo = async (body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/projects/demo/environments/demo/deploy`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
    return ((await res.json()) as { statusUrl: string }).statusUrl;
  };
  const tag = String(port);
  const finishedUrl = await deployTo({
    frontend: { image: `my-registry/image-for-frontend:1.${tag}` },
    noDowntime: { promotionMode: "auto" },
  });
  for (let state = ""; state !== "promoted"; await new Promise((r) => setTimeout(r, 100))) {
    const res = await fetch(`http://127.0.0.1:${port}${finishedUrl}`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    state = ((await res.json()) as { release: { state: string } }).release.state;
  }
  await deployTo({ frontend: { image: `my-registry/image-for-frontend:2.${tag}` } });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;
try {
  for (const s of servers) {
    for (let i = 0; ; i++) {
      try {
        await fetch(`http://127.0.0.1:${s.port}/healthz`);
        break;
      } catch {
        if (i > 400) throw new Error("the server did not start");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  // Idle memory 5 s after start (as bench/memory.ts reads it), before any load.
  await new Promise((r) => setTimeout(r, 5000));
  for (const s of servers) s.idleRss = rssMiB(s.child);
  // Only the first server runs releases (the cluster is shared); the others run none.
  if (cluster && process.argv.includes("--releases")) await releases(servers[0]?.port as number);
  // BENCH_IDLE_SECONDS=n: every server then sits idle n seconds more before its first request, as bench/load.ts's
  // does while the baselines run; V8's memory reducer runs its full GCs in such pauses (8 to 30 s after start).
  await new Promise((r) => setTimeout(r, Number(process.env.BENCH_IDLE_SECONDS ?? 0) * 1000));
  for (const s of servers) await autocannonRun(s.port, 1);
  // One measurement of a server: its CPU and GC per request while `run` loads it.
  const measure = async (s: Running, run: Promise<{ result: { requests: { total: number } }; cpuMicros: number }>) => {
    const cpuBefore = cpuMicros(s.child);
    const [scavenges, compacts, gcMs] = [count(s, SCAVENGE), count(s, COMPACT), scavengeMs(s)];
    const { result, cpuMicros: loadCpu } = await run;
    const requests = Math.max(1, result.requests.total);
    s.results.push({
      cpu: (cpuMicros(s.child) - cpuBefore) / requests,
      rps: requests / DURATION,
      load: loadCpu / requests,
      scavenges: ((count(s, SCAVENGE) - scavenges) * 10_000) / requests,
      compacts: ((count(s, COMPACT) - compacts) * 10_000) / requests,
      scavengeMicros: ((scavengeMs(s) - gcMs) * 1000) / requests,
    });
  };
  for (let round = 0; round < ROUNDS; round++) {
    // --together: every server loaded at once, all on the server CPU, so that whatever else the machine runs falls on
    // each alike within the same seconds (on a shared machine, a difference of a few percent between turns taken one
    // after another is mostly the load moving).
    if (together) await Promise.all(servers.map((s) => measure(s, autocannonRun(s.port, DURATION))));
    else for (const s of servers) await measure(s, autocannonRun(s.port, DURATION));
  }
  const first = servers[0] as Running;
  for (const s of servers) {
    const m = (f: (r: Running["results"][0]) => number) => median(s.results.map(f));
    const ratio = median(s.results.map((r, i) => r.cpu / (first.results[i]?.cpu ?? Number.NaN)));
    console.log(
      `${withCluster ? "cluster   " : "no cluster"} ${s.spec.main.slice(-40)} ${s.spec.nodeFlags.join(" ")} ${JSON.stringify(s.spec.env)}: ${m((r) => r.rps).toFixed(0)} req/s, CPU ${m((r) => r.cpu).toFixed(1)} µs/req [${s.results.map((r) => r.cpu.toFixed(0)).join(" ")}] (/ first ${ratio.toFixed(3)}; load generator ${m((r) => r.load).toFixed(0)}), RSS idle ${s.idleRss.toFixed(0)} MiB, after ${rssMiB(s.child).toFixed(0)} MiB${s.trace ? `, per 10k requests: ${m((r) => r.scavenges).toFixed(1)} scavenges (${m((r) => r.scavengeMicros).toFixed(2)} µs/req), ${m((r) => r.compacts).toFixed(1)} mark-compacts` : ""}`,
    );
  }
  // BENCH_TRACE_TAIL=n: the last n lines of each server's V8 trace (e.g. --trace-gc), to read the GCs themselves.
  const tail = Number(process.env.BENCH_TRACE_TAIL ?? 0);
  if (tail > 0) for (const s of servers) console.log(s.trace.trimEnd().split("\n").slice(-tail).join("\n"));
} finally {
  for (const s of servers) s.child.kill("SIGTERM");
  await Promise.all(
    servers.map((s) => new Promise((r) => (s.child.exitCode === null ? s.child.once("exit", r) : r(0)))),
  );
  await cluster?.close();
}
