/**
 * Load benchmark: autocannon on loopback against the real server (built `dist/main.js`, its own process) and a
 * bare Hono hello-world in the same run: dry-run validation, and release status reads (the server against kube-sim
 * holding the demo environment and one release waiting for approval; kube-sim runs in this process). A second
 * baseline, Hono with the payload schema and nothing else, shows what validation itself costs. Reports throughput,
 * p99 latency, the server's CPU time per request and its memory. Run with `pnpm bench` after `pnpm build`.
 * `--server-flags`: rollway's servers run with the image's Node flags (SERVER_NODE_FLAGS); the two baselines never.
 * `--baseline-flags "<flags>"`: the `--baseline` build gets these Node flags instead (the same dist as the baseline with
 * the former flags measures a flag change).
 * `--validation [--baseline <main.js>] [--together]`: only the dry run and its baselines, in rounds; with `--baseline`,
 * another build of the server (e.g. a copy of the previous dist) is measured in the same rounds, for a before/after;
 * with `--together`, each round also loads the hello-world and the dry run at the same time and prints the ratio of
 * their CPU per request (the throughput ratio at equal CPU, with the machine's moving speed falling on both alike). It
 * is a second view, not the issue's measure: sharing a CPU costs each server some CPU per request, and not alike (on
 * Node 20 the hello-world's rose by up to a quarter and the dry run's by less, so this ratio reads higher there; on
 * Node 24 neither moved).
 *
 * Fair on a 2-core machine: autocannon runs in its own process (not in this one, which also holds kube-sim), and with
 * `taskset` on Linux every server (hello-world included) is pinned to CPU 0 and autocannon to the last CPU, so the
 * load generator never competes with the server it measures (BENCH_PIN=0 turns pinning off). Every server runs on the
 * same Node with no flags; the two baselines are TypeScript loaded through tsx (a plain-JS copy of each measured the
 * same CPU per request). The load generator's own CPU per request is printed beside each line: when it is near the
 * server's, the throughput is the load generator's, and the CPU per request is the figure to compare.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import type autocannon from "autocannon";
import { SERVER_NODE_FLAGS } from "../src/node-flags.js";
import { startDemoCluster } from "../src/sim.js";

const TOKEN = "bench-deploy-token-0123456789abcdef";
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
// Seed 004's example payload, on one line.
const payload = JSON.stringify(JSON.parse(EXAMPLE_PAYLOAD_TEXT));

/** `taskset -c <cpu>` before a command, when pinning is possible (Linux, taskset installed, 2 CPUs or more). */
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

function start(args: string[], env: Record<string, string>): ChildProcess {
  const [command, argv] = pinned(pinning?.server, process.execPath, args);
  return spawn(command, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
}

/** One autocannon run in its own process (pinned to the load CPU): its result and its own CPU time (µs). */
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

/** User and system CPU time of a process so far, in microseconds (from /proc, in clock ticks of 10 ms). */
function cpuMicros(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function rssMiB(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function load(title: string, target: ChildProcess, opts: autocannon.Options) {
  // One second of warm-up (JIT, caches, the ReDoS checker's first verdicts) before the measured run, for every server.
  await autocannonRun({ connections: 20, duration: 1, ...opts });
  const cpuBefore = cpuMicros(target);
  const { result: r, cpuMicros: loadCpu } = await autocannonRun({ connections: 20, duration: DURATION, ...opts });
  const requests = Math.max(1, r.requests.total);
  const cpuPerRequest = (cpuMicros(target) - cpuBefore) / requests;
  return {
    title,
    rps: r.requests.average,
    p99: r.latency.p99,
    cpuPerRequest,
    loadCpuPerRequest: loadCpu / requests,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

/**
 * Two loads at the same time, each server on the server CPU and each load generator on the load CPU: the CPU per
 * request of each. Both servers share the same seconds of the machine, so a slow second falls on both alike; on a
 * machine whose speed moves between runs this ratio moves far less than one of throughputs taken one after the other.
 */
async function loadTogether(
  a: { target: ChildProcess; opts: autocannon.Options },
  b: { target: ChildProcess; opts: autocannon.Options },
) {
  await Promise.all([a, b].map((x) => autocannonRun({ connections: 20, duration: 1, ...x.opts })));
  const before = [cpuMicros(a.target), cpuMicros(b.target)];
  const runs = await Promise.all([a, b].map((x) => autocannonRun({ connections: 20, duration: DURATION, ...x.opts })));
  return [a, b].map(
    (x, i) => (cpuMicros(x.target) - (before[i] as number)) / Math.max(1, runs[i]?.result.requests.total ?? 0),
  );
}

const serverPort = 18_480;
const helloPort = 18_481;
const floorPort = 18_482;
const cluster = await startDemoCluster({ readyDelayMs: 20 });
const configFile = join(cluster.environmentFile, "..", "bench-config.yaml");
writeFileSync(
  configFile,
  `environments:\n  - { project: demo, environment: demo, file: ${cluster.environmentFile} }\n`,
);
// `--server-flags`: rollway's servers (this build, the baseline) run with the image's Node flags (SERVER_NODE_FLAGS, as
// its ENTRYPOINT and `rollway serve` run them); the hello-world and schema-only baselines keep Node's defaults.
const serverFlags = process.argv.includes("--server-flags") ? SERVER_NODE_FLAGS : [];
// `--baseline-flags "<flags>"`: the baseline build gets these Node flags instead (e.g. the same dist as the baseline, with
// the image's former flags: a before/after pair of a flag change).
const baselineFlagsAt = process.argv.indexOf("--baseline-flags");
const baselineFlags =
  baselineFlagsAt >= 0 ? (process.argv[baselineFlagsAt + 1] ?? "").split(/\s+/).filter(Boolean) : serverFlags;
const server = start([...serverFlags, fileURLToPath(new URL("../dist/main.js", import.meta.url))], {
  ROLLWAY_HOST: "127.0.0.1",
  ROLLWAY_PORT: String(serverPort),
  ROLLWAY_LOG_LEVEL: "warn",
  RECHECK_BACKEND: "pure",
  ROLLWAY_RATE_LIMIT_PER_MINUTE: "100000000",
  ROLLWAY_CONFIG: configFile,
  ROLLWAY_KUBECONFIG: cluster.sim.kubeconfigPath,
  ROLLWAY_TOKENS: JSON.stringify([
    { scope: "deploy", project: "shop", environment: "prod", tokens: [TOKEN] },
    { scope: "deploy", project: "demo", environment: "demo", tokens: [TOKEN] },
  ]),
});
const hello = start(["--import", "tsx", fileURLToPath(new URL("./hello-world.ts", import.meta.url))], {
  PORT: String(helloPort),
});
const floor = start(["--import", "tsx", fileURLToPath(new URL("./schema-floor.ts", import.meta.url))], {
  PORT: String(floorPort),
});
const baselineAt = process.argv.indexOf("--baseline");
const baselinePort = 18_483;
const bareEnv = (port: number) => ({
  ROLLWAY_HOST: "127.0.0.1",
  ROLLWAY_PORT: String(port),
  ROLLWAY_LOG_LEVEL: "warn",
  RECHECK_BACKEND: "pure",
  ROLLWAY_RATE_LIMIT_PER_MINUTE: "100000000",
  ROLLWAY_TOKENS: JSON.stringify([{ scope: "deploy", project: "shop", environment: "prod", tokens: [TOKEN] }]),
});
// With --baseline: both builds without a cluster (dry runs only), started alike, for an exact before/after pair.
const baseline =
  baselineAt >= 0
    ? start([...baselineFlags, process.argv[baselineAt + 1] as string], bareEnv(baselinePort))
    : undefined;
const bare = baseline
  ? start([...serverFlags, fileURLToPath(new URL("../dist/main.js", import.meta.url))], bareEnv(baselinePort + 1))
  : undefined;
try {
  await waitFor(`http://127.0.0.1:${serverPort}/healthz`);
  await waitFor(`http://127.0.0.1:${helloPort}/`);
  await waitFor(`http://127.0.0.1:${floorPort}/`);
  if (baseline) await waitFor(`http://127.0.0.1:${baselinePort}/healthz`);
  if (bare) await waitFor(`http://127.0.0.1:${baselinePort + 1}/healthz`);
  const idle = rssMiB(server);
  const headers = { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` };
  const deployTo = async (body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${serverPort}/v1/projects/demo/environments/demo/deploy`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    });
    return ((await res.json()) as { statusUrl: string }).statusUrl;
  };
  // A finished release, then one waiting for approval (both read from the informer cache; ?fresh=1 reads the cluster).
  const finishedUrl = await deployTo({
    frontend: { image: "my-registry/image-for-frontend:1.5" },
    noDowntime: { promotionMode: "auto" },
  });
  for (let state = ""; state !== "promoted"; await new Promise((r) => setTimeout(r, 100))) {
    const res = await fetch(`http://127.0.0.1:${serverPort}${finishedUrl}`, { headers });
    state = ((await res.json()) as { release: { state: string } }).release.state;
  }
  const statusUrl = await deployTo({ frontend: { image: "my-registry/image-for-frontend:2.0" } });
  if (process.argv.includes("--validation")) {
    // Only the dry run and its two baselines, in rounds (hello, schema only, server, hello, ...): on a shared machine
    // the load moves within seconds, and interleaving keeps each ratio to neighbouring measurements.
    const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
    for (let round = 1; round <= rounds; round++) {
      const post = (url: string) => ({ url, method: "POST" as const, body: payload, headers });
      const h = await load("hello-world POST", hello, post(`http://127.0.0.1:${helloPort}/`));
      const f = await load("Hono + payload schema only", floor, post(`http://127.0.0.1:${floorPort}/`));
      const v = await load(
        "dry-run validation",
        server,
        post(`http://127.0.0.1:${serverPort}/v1/projects/shop/environments/prod/validate`),
      );
      const dryRun = (title: string, child: ChildProcess, port: number) =>
        load(title, child, post(`http://127.0.0.1:${port}/v1/projects/shop/environments/prod/validate`));
      const n = bare ? await dryRun("dry run, no cluster", bare, baselinePort + 1) : undefined;
      const b = baseline ? await dryRun("dry run, no cluster, baseline", baseline, baselinePort) : undefined;
      // `--together`: the hello-world and the dry run loaded at the same time, as well (see loadTogether).
      const together = process.argv.includes("--together")
        ? await loadTogether(
            { target: hello, opts: post(`http://127.0.0.1:${helloPort}/`) },
            {
              target: server,
              opts: post(`http://127.0.0.1:${serverPort}/v1/projects/shop/environments/prod/validate`),
            },
          )
        : undefined;
      for (const r of n && b ? [h, f, v, n, b] : [h, f, v])
        console.log(
          `round ${round} ${r.title.padEnd(28)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99} ms  CPU ${r.cpuPerRequest.toFixed(0).padStart(4)} µs/req (load generator ${r.loadCpuPerRequest.toFixed(0)})  non-2xx ${r.non2xx}`,
        );
      console.log(
        `round ${round} ratio validation / hello POST ${(v.rps / h.rps).toFixed(2)}${together ? ` (loaded together: CPU per request hello ${together[0]?.toFixed(1)} µs, dry run ${together[1]?.toFixed(1)} µs, hello ÷ dry run ${((together[0] as number) / (together[1] as number)).toFixed(2)})` : ""}; schema only / hello POST ${(f.rps / h.rps).toFixed(2)}${n && b ? `; no cluster: this build / hello POST ${(n.rps / h.rps).toFixed(2)}, baseline build / hello POST ${(b.rps / h.rps).toFixed(2)}, CPU per request this build / baseline ${(n.cpuPerRequest / b.cpuPerRequest).toFixed(2)}` : ""}`,
      );
    }
  } else {
    const results = [
      await load("hello-world POST (baseline)", hello, {
        url: `http://127.0.0.1:${helloPort}/`,
        method: "POST",
        body: payload,
        headers,
      }),
      await load("Hono + payload schema only", floor, {
        url: `http://127.0.0.1:${floorPort}/`,
        method: "POST",
        body: payload,
        headers,
      }),
      await load("dry-run deploy validation", server, {
        url: `http://127.0.0.1:${serverPort}/v1/projects/shop/environments/prod/validate`,
        method: "POST",
        body: payload,
        headers,
      }),
      await load("hello-world GET (baseline)", hello, { url: `http://127.0.0.1:${helloPort}/` }),
      await load("GET /readyz", server, { url: `http://127.0.0.1:${serverPort}/readyz` }),
      await load("GET release status (running)", server, {
        url: `http://127.0.0.1:${serverPort}${statusUrl}`,
        headers,
      }),
      await load("GET status (running, ?fresh=1)", server, {
        url: `http://127.0.0.1:${serverPort}${statusUrl}?fresh=1`,
        headers,
      }),
      await load("GET environment status", server, {
        url: `http://127.0.0.1:${serverPort}/v1/projects/demo/environments/demo/status`,
        headers,
      }),
      await load("GET env status (?fresh=1)", server, {
        url: `http://127.0.0.1:${serverPort}/v1/projects/demo/environments/demo/status?fresh=1`,
        headers,
      }),
      await load("GET release status (finished)", server, {
        url: `http://127.0.0.1:${serverPort}${finishedUrl}`,
        headers,
      }),
    ];
    const loaded = rssMiB(server);
    for (const r of results)
      console.log(
        `${r.title.padEnd(30)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99} ms  server CPU ${r.cpuPerRequest.toFixed(0).padStart(4)} µs/req (load generator ${r.loadCpuPerRequest.toFixed(0)})  non-2xx ${r.non2xx}  errors ${r.errors}`,
      );
    const [helloPost, floorPost, validate, helloGet, ready, status, statusFresh, env, envFresh, finished] = results as [
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
      (typeof results)[0],
    ];
    const ratio = (a: { rps: number }, b: { rps: number }) => (a.rps / b.rps).toFixed(2);
    console.log(
      `ratio validation / hello POST: ${ratio(validate, helloPost)}; schema only / hello POST: ${ratio(floorPost, helloPost)}; validation / schema only: ${ratio(validate, floorPost)}`,
    );
    console.log(
      `ratio readyz / hello GET: ${ratio(ready, helloGet)}; status (running) / hello GET: ${ratio(status, helloGet)}; status (running, ?fresh=1: the cluster read of before) / hello GET: ${ratio(statusFresh, helloGet)}; status (finished) / hello GET: ${ratio(finished, helloGet)}`,
    );
    console.log(
      `ratio environment status / hello GET: ${ratio(env, helloGet)}; environment status ?fresh=1 (engine.status, as before) / hello GET: ${ratio(envFresh, helloGet)}`,
    );
    console.log(`server memory: idle ${idle.toFixed(0)} MiB, after load ${loaded.toFixed(0)} MiB`);
  }
} finally {
  const children = [server, hello, floor, ...(baseline && bare ? [baseline, bare] : [])];
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode === null ? c.once("exit", r) : r(0)))));
  await cluster.close();
}
