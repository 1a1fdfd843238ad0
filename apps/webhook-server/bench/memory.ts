/**
 * Memory benchmark of the server process (not a test). Each server runs in its own process against kube-sim (in this
 * process) holding the demo environment, configured as the container is (RECHECK_BACKEND=pure, log level warn).
 *
 * - Idle RSS, side by side in one run: the container's entrypoint as shipped (`dist/main.js`: one bundle, client-node
 *   trimmed), the same entrypoint unbundled (`dist/main-unbundled.js`: what the image ran before), and a Node
 *   hello-world HTTP server (the floor). Also the child processes each one started (recheck's native agent).
 * - `--soak [minutes]` (default 10): mixed traffic against `dist/main.js` (dry runs, release status, environment
 *   status, history, /metrics, dashboard-free API reads) with RSS and heap sampled every 15 s: flat or growing.
 *
 * - After the idle reading, each server is sent a dry run with four never-seen rule patterns (recheck judges them in
 *   a worker, started on demand) and RSS is read again at once and after the worker's idle period (it ends then).
 * - `--baseline <main.js>`: another build of the server (e.g. an older commit's) measured beside them in the same run.
 *
 * - `dist/main.js --no-memory-reducer` is the image's entrypoint (Dockerfile); `--idle-wait <s>`: how long after
 *   start idle RSS is read (default 5; V8's memory reducer, where it runs, does so 8 to 30 s after start).
 *
 * Run after `pnpm build`: `node --import tsx bench/memory.ts [--baseline <main.js>] [--soak [minutes]]`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { startDemoCluster } from "../src/sim.js";

const TOKEN = "bench-deploy-token-0123456789abcdef";
const soakAt = process.argv.indexOf("--soak");
const SOAK_MINUTES = soakAt >= 0 ? Number(process.argv[soakAt + 1] ?? 10) || 10 : 0;
const baselineAt = process.argv.indexOf("--baseline");
const BASELINE = baselineAt >= 0 ? process.argv[baselineAt + 1] : undefined;
const idleAt = process.argv.indexOf("--idle-wait");
const IDLE_WAIT_MS = idleAt >= 0 ? Number(process.argv[idleAt + 1]) * 1000 || 5000 : 5000;
/** deploy-rules' WORKER_IDLE_MS (10 s) and a margin. */
const WORKER_IDLE_WAIT_MS = 13_000;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function children(pid: number): string[] {
  try {
    return execFileSync("ps", ["--ppid", String(pid), "-o", "pid=,rss=,comm="], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not start`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cluster = await startDemoCluster({ readyDelayMs: 20 });
const configFile = join(cluster.environmentFile, "..", "bench-memory-config.yaml");
writeFileSync(
  configFile,
  `environments:\n  - { project: demo, environment: demo, file: ${cluster.environmentFile} }\n`,
);
const serverEnv = (port: number) => ({
  ...process.env,
  NODE_ENV: "production",
  RECHECK_BACKEND: "pure",
  ROLLWAY_HOST: "127.0.0.1",
  ROLLWAY_PORT: String(port),
  ROLLWAY_LOG_LEVEL: "warn",
  ROLLWAY_RATE_LIMIT_PER_MINUTE: "100000000",
  ROLLWAY_CONFIG: configFile,
  ROLLWAY_KUBECONFIG: cluster.sim.kubeconfigPath,
  ROLLWAY_TOKENS: JSON.stringify([
    { scope: "deploy", project: "demo", environment: "demo", tokens: [TOKEN] },
    { scope: "approve", project: "demo", environment: "demo", tokens: [TOKEN] },
  ]),
});
const dist = (file: string) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));
const HELLO = `require("node:http").createServer((q, s) => s.end("hello")).listen(${18_499}, "127.0.0.1")`;
const started: ChildProcess[] = [];
const start = (args: string[], env: NodeJS.ProcessEnv) => {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "inherit"] });
  started.push(child);
  return child;
};

try {
  if (SOAK_MINUTES === 0) {
    const variants = [
      { title: "dist/main.js (bundled, trimmed)", child: start([dist("main.js")], serverEnv(18_490)), port: 18_490 },
      {
        title: "dist/main.js --no-memory-reducer (image)",
        child: start(["--no-memory-reducer", dist("main.js")], serverEnv(18_494)),
        port: 18_494,
      },
      {
        title: "dist/main-unbundled.js (before)",
        child: start([dist("main-unbundled.js")], serverEnv(18_491)),
        port: 18_491,
      },
      ...(BASELINE
        ? [{ title: `baseline: ${BASELINE.slice(-40)}`, child: start([BASELINE], serverEnv(18_493)), port: 18_493 }]
        : []),
      { title: "Node hello-world (floor)", child: start(["-e", HELLO], {}), port: 18_499 },
    ];
    for (const v of variants) await waitFor(`http://127.0.0.1:${v.port}/healthz`);
    await sleep(IDLE_WAIT_MS); // let start-up garbage be collected and the informers settle
    for (const v of variants) {
      const pid = v.child.pid as number;
      const kids = children(pid);
      console.log(
        `${v.title.padEnd(34)} idle RSS ${rssMiB(pid).toFixed(0).padStart(4)} MiB; child processes: ${kids.length === 0 ? "none" : kids.join("; ")}`,
      );
    }
    // Four never-seen patterns per server: recheck runs (in a worker, or on the main thread before this change).
    const servers = variants.filter((v) => v.port !== 18_499);
    const withWorker = await Promise.all(
      servers.map(async (v, i) => {
        const res = await fetch(`http://127.0.0.1:${v.port}/v1/projects/demo/environments/demo/validate`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({
            backends: {
              images: ["my-registry/fresh:1"],
              deployRules: [
                { source: `^my-registry/fresh-${i}:[0-9]+$`, target: `^backend-${i}-[a-z]+$` },
                { source: `^my-registry/fresh-${i}(:[a-z]+)?$`, target: `^(?!backend-${i}x).*$` },
              ],
            },
          }),
        });
        await res.arrayBuffer();
        return { v, status: res.status, rss: rssMiB(v.child.pid as number) };
      }),
    );
    await sleep(WORKER_IDLE_WAIT_MS);
    for (const w of withWorker) {
      console.log(
        `${w.v.title.padEnd(34)} after 4 new patterns (HTTP ${w.status}): ${w.rss.toFixed(0).padStart(4)} MiB; ${WORKER_IDLE_WAIT_MS / 1000} s later: ${rssMiB(
          w.v.child.pid as number,
        )
          .toFixed(0)
          .padStart(4)} MiB`,
      );
    }
  } else {
    const port = 18_492;
    const server = start([dist("main.js")], serverEnv(port));
    await waitFor(`http://127.0.0.1:${port}/healthz`);
    const base = `http://127.0.0.1:${port}/v1/projects/demo/environments/demo`;
    const headers = { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` };
    const deployed = await fetch(`${base}/deploy`, {
      method: "POST",
      headers,
      body: JSON.stringify({ frontend: { image: "my-registry/image-for-frontend:2.0" } }),
    });
    const { statusUrl } = (await deployed.json()) as { statusUrl: string };
    const payload = JSON.stringify({
      backends: {
        images: ["my-registry/image-for-backend-1:tag"],
        deployRules: [{ source: "^my-registry/image-for-backend-1:tag.*$", target: "^backend-1.*$" }],
      },
    });
    const samples: { at: number; rss: number }[] = [];
    const sample = () => samples.push({ at: Date.now(), rss: rssMiB(server.pid as number) });
    sample();
    const timer = setInterval(sample, 15_000);
    const traffic = autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: 10,
      duration: SOAK_MINUTES * 60,
      requests: [
        { method: "POST", path: `${base.replace(/^http:\/\/[^/]+/, "")}/validate`, headers, body: payload },
        { method: "GET", path: statusUrl, headers },
        { method: "GET", path: `${base.replace(/^http:\/\/[^/]+/, "")}/status`, headers },
        { method: "GET", path: `${base.replace(/^http:\/\/[^/]+/, "")}/releases`, headers },
        { method: "GET", path: "/metrics" },
        // An invalid payload: the error path (problems with positions) allocates the most.
        {
          method: "POST",
          path: `${base.replace(/^http:\/\/[^/]+/, "")}/validate`,
          headers,
          body: '{"frontend":{"image":""}}',
        },
      ],
    });
    const result = await traffic;
    clearInterval(timer);
    sample();
    const first = samples[1] ?? samples[0];
    const last = samples.at(-1);
    const max = Math.max(...samples.map((s) => s.rss));
    console.log(`soak ${SOAK_MINUTES} min, ${result.requests.total} requests (${result.non2xx} non-2xx)`);
    const t0 = samples[0]?.at ?? 0;
    console.log(samples.map((s) => `${((s.at - t0) / 1000).toFixed(0)}s ${s.rss.toFixed(0)}`).join(", "));
    console.log(
      `RSS after the first 15 s ${first?.rss.toFixed(0)} MiB, at the end ${last?.rss.toFixed(0)} MiB, max ${max.toFixed(0)} MiB`,
    );
  }
} finally {
  for (const child of started) child.kill("SIGTERM");
  await Promise.all(started.map((c) => new Promise((r) => (c.exitCode === null ? c.once("exit", r) : r(0)))));
  await cluster.close();
}
