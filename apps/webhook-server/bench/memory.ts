/**
 * Memory benchmark of the server process (not a test). Each server runs in its own process against kube-sim (in this
 * process) holding the demo environment, configured as the container is (RECHECK_BACKEND=pure, log level warn).
 *
 * - Side by side in one run, every server with the image's Node flags (SERVER_NODE_FLAGS): this build as the image runs
 *   it, `--baseline <main.js>` (another build, e.g. an older commit's), and a Node hello-world HTTP server (the floor).
 *   glibc's malloc settings are not inherited from this process: every server runs with glibc's defaults, as the image.
 * - Idle RSS `--idle-wait <s>` after start (default 5), and the child processes each server started.
 * - Then each server is sent a dry run with four never-seen rule patterns: recheck judges them off the main thread
 *   (this build: in a child process; before: in a worker thread), started on demand. RSS is sampled every 25 ms from
 *   then on: the peak (the server's, and with its child processes), and RSS once the checker has ended (deploy-rules'
 *   WORKER_IDLE_MS, 10 s) and, for a worker, V8 has released the ended isolate's pooled pages (8 s after it ends, on
 *   Node 24): 22 s after the request. Beside each, the RSS of glibc's malloc heaps (the main heap and the 64 MiB-aligned
 *   arenas of other threads, from /proc/<pid>/smaps): what a worker thread left behind was in them. `--bursts <n>`:
 *   n such bursts one after the other, new patterns each time (flat, or growing burst by burst).
 * - `--soak [minutes]` (default 10): mixed traffic against this build run as the image runs it (dry runs, release
 *   status, environment status, history, /metrics, dashboard-free API reads) with RSS sampled every 15 s: flat or
 *   growing.
 *
 * Run on another Node by running this script on it. Run after `pnpm build`:
 * `node --import tsx bench/memory.ts [--baseline <main.js>] [--idle-wait <s>] [--bursts <n>] [--soak [minutes]]
 * [--node-flags "<flags>"]` (the soak's server's flags instead of the image's).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { SERVER_NODE_FLAGS } from "../src/node-flags.js";
import { startDemoCluster } from "../src/sim.js";

const TOKEN = "bench-deploy-token-0123456789abcdef";
const soakAt = process.argv.indexOf("--soak");
const SOAK_MINUTES = soakAt >= 0 ? Number(process.argv[soakAt + 1] ?? 10) || 10 : 0;
/** `--node-flags "<flags>"`: the soak's server gets these Node/V8 flags instead of the image's (to compare heap settings). */
const flagsAt = process.argv.indexOf("--node-flags");
const SOAK_FLAGS: readonly string[] =
  flagsAt >= 0 ? (process.argv[flagsAt + 1] ?? "").split(/\s+/).filter(Boolean) : SERVER_NODE_FLAGS;
/** How long the soak's server is left idle after its traffic before the last sample. */
const SOAK_IDLE_AFTER_MS = 30_000;
const baselineAt = process.argv.indexOf("--baseline");
const BASELINE = baselineAt >= 0 ? process.argv[baselineAt + 1] : undefined;
const idleAt = process.argv.indexOf("--idle-wait");
const IDLE_WAIT_MS = idleAt >= 0 ? Number(process.argv[idleAt + 1]) * 1000 || 5000 : 5000;
const burstsAt = process.argv.indexOf("--bursts");
const BURSTS = burstsAt >= 0 ? Number(process.argv[burstsAt + 1]) || 3 : 1;
/** deploy-rules' WORKER_IDLE_MS (10 s), V8's release of an ended isolate's pooled pages (8 s later) and a margin. */
const WORKER_IDLE_WAIT_MS = 22_000;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** RSS of glibc's malloc heaps: `[heap]` (the main arena) and the arenas of other threads (64 MiB-aligned). */
function mallocHeapsMiB(pid: number): number {
  let kB = 0;
  let counting = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const [, start = "0", perms = "", inode = "0", name = ""] = head;
      counting =
        name === "[heap]" ||
        (name === "" && inode === "0" && perms === "rw-p" && BigInt(`0x${start}`) % (64n << 20n) === 0n);
      continue;
    }
    const rss = counting ? /^Rss:\s+(\d+) kB/.exec(line) : null;
    if (rss) kB += Number(rss[1]);
  }
  return kB / 1024;
}

/** RSS of a process and its child processes (the pattern checkers), read from /proc. */
function treeRssMiB(pid: number): number {
  let total = rssMiB(pid);
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`))
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean))
        total += rssMiB(Number(child));
  } catch {
    // a child gone between the listing and the read
  }
  return total;
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
// No server inherits this process's malloc settings (glibc's defaults, as in the image).
const { MALLOC_ARENA_MAX: _a, MALLOC_MMAP_THRESHOLD_: _m, GLIBC_TUNABLES: _g, ...cleanEnv } = process.env;
const serverEnv = (port: number) => ({
  ...cleanEnv,
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
      {
        title: "this build (image flags)",
        child: start([...SERVER_NODE_FLAGS, dist("main.js")], serverEnv(18_490)),
        port: 18_490,
      },
      ...(BASELINE
        ? [
            {
              title: `baseline ${BASELINE.slice(-28)}`,
              child: start([...SERVER_NODE_FLAGS, BASELINE], serverEnv(18_493)),
              port: 18_493,
            },
          ]
        : []),
      { title: "Node hello-world (floor)", child: start(["-e", HELLO], {}), port: 18_499 },
    ];
    for (const v of variants) await waitFor(`http://127.0.0.1:${v.port}/healthz`);
    await sleep(IDLE_WAIT_MS); // let start-up garbage be collected and the informers settle
    console.log(
      `Node ${process.version}; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}; MiB`,
    );
    const idle = new Map<number, { rss: number; heaps: number }>();
    for (const v of variants) {
      const pid = v.child.pid as number;
      const kids = children(pid);
      idle.set(pid, { rss: rssMiB(pid), heaps: mallocHeapsMiB(pid) });
      console.log(
        `${v.title.padEnd(36)} idle RSS ${rssMiB(pid).toFixed(0).padStart(4)} (malloc heaps ${mallocHeapsMiB(pid).toFixed(0)}); child processes: ${kids.length === 0 ? "none" : kids.join("; ")}`,
      );
    }
    // Four never-seen patterns per server: recheck runs in a worker, started on demand.
    const servers = variants.filter((v) => v.port !== 18_499);
    const peaks = new Map<number, number>(servers.map((v) => [v.child.pid as number, 0]));
    const treePeaks = new Map<number, number>(servers.map((v) => [v.child.pid as number, 0]));
    const sampler = setInterval(() => {
      for (const [pid, peak] of peaks) peaks.set(pid, Math.max(peak, rssMiB(pid)));
      for (const [pid, peak] of treePeaks) treePeaks.set(pid, Math.max(peak, treeRssMiB(pid)));
    }, 25);
    for (let burst = 1; burst <= BURSTS; burst++) {
      for (const pid of peaks.keys()) peaks.set(pid, 0);
      for (const pid of treePeaks.keys()) treePeaks.set(pid, 0);
      const withWorker = await Promise.all(
        servers.map(async (v, i) => {
          const t0 = performance.now();
          const res = await fetch(`http://127.0.0.1:${v.port}/v1/projects/demo/environments/demo/validate`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify({
              backends: {
                images: ["my-registry/fresh:1"],
                deployRules: [
                  { source: `^my-registry/fresh-${i}-${burst}:[0-9]+$`, target: `^backend-${i}-${burst}-[a-z]+$` },
                  { source: `^my-registry/fresh-${i}-${burst}(:[a-z]+)?$`, target: `^(?!backend-${i}x${burst}).*$` },
                ],
              },
            }),
          });
          await res.arrayBuffer();
          return { v, status: res.status, ms: performance.now() - t0 };
        }),
      );
      await sleep(WORKER_IDLE_WAIT_MS);
      for (const w of withWorker) {
        const pid = w.v.child.pid as number;
        const before = idle.get(pid) ?? { rss: 0, heaps: 0 };
        const after = rssMiB(pid);
        console.log(
          `${w.v.title.padEnd(36)} burst ${burst}, 4 new patterns (HTTP ${w.status}, ${w.ms.toFixed(0)} ms): peak ${(peaks.get(pid) ?? 0).toFixed(0).padStart(4)} (with its child processes ${(treePeaks.get(pid) ?? 0).toFixed(0)}); ${WORKER_IDLE_WAIT_MS / 1000} s later ${after.toFixed(0).padStart(4)} (idle + ${(after - before.rss).toFixed(0)}; malloc heaps ${mallocHeapsMiB(pid).toFixed(0)}, idle + ${(mallocHeapsMiB(pid) - before.heaps).toFixed(0)}); threads ${/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]}`,
        );
      }
    }
    clearInterval(sampler);
  } else {
    const port = 18_492;
    const server = start([...SOAK_FLAGS, dist("main.js")], serverEnv(port));
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
    // Beside RSS, the server's own V8 heap (used / total) and external memory from its /metrics: a heap that V8 sized
    // up for the traffic (and, with --no-memory-reducer, keeps) tells apart from memory that grows with requests.
    const samples: { at: number; rss: number; heap?: string }[] = [];
    const sample = async () => {
      const at = Date.now();
      const rss = rssMiB(server.pid as number);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.text())
        .catch(() => "");
      const mib = (name: string) => {
        const m = new RegExp(`^${name} (\\S+)`, "m").exec(metrics);
        return m ? (Number(m[1]) / 2 ** 20).toFixed(0) : "?";
      };
      samples.push({
        at,
        rss,
        heap: `${mib("nodejs_heap_size_used_bytes")}/${mib("nodejs_heap_size_total_bytes")}+${mib("nodejs_external_memory_bytes")}`,
      });
    };
    await sample();
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
    await sample();
    // The traffic over: what the server keeps once idle again.
    await sleep(SOAK_IDLE_AFTER_MS);
    await sample();
    const first = samples[1] ?? samples[0];
    const last = samples.at(-2);
    const idleAfter = samples.at(-1);
    const max = Math.max(...samples.map((s) => s.rss));
    console.log(`soak ${SOAK_MINUTES} min, ${result.requests.total} requests (${result.non2xx} non-2xx)`);
    const t0 = samples[0]?.at ?? 0;
    console.log(samples.map((s) => `${((s.at - t0) / 1000).toFixed(0)}s ${s.rss.toFixed(0)}`).join(", "));
    const spaces = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    console.log(
      `Node ${process.version}, flags ${SOAK_FLAGS.join(" ") || "none"}; V8 heap spaces at the end (used/total MiB): ${[
        ...spaces.matchAll(/^nodejs_heap_space_size_used_bytes\{space="(\w+)"\} (\S+)$/gm),
      ]
        .map(([, space, used]) => {
          const total = new RegExp(`^nodejs_heap_space_size_total_bytes\\{space="${space}"\\} (\\S+)$`, "m").exec(
            spaces,
          )?.[1];
          return `${space} ${(Number(used) / 2 ** 20).toFixed(0)}/${(Number(total) / 2 ** 20).toFixed(0)}`;
        })
        .join(", ")}`,
    );
    console.log(
      `V8 heap used/total+external MiB: ${samples.map((s) => `${((s.at - t0) / 1000).toFixed(0)}s ${s.heap}`).join(", ")}`,
    );
    console.log(
      `RSS after the first 15 s ${first?.rss.toFixed(0)} MiB, at the end ${last?.rss.toFixed(0)} MiB, max ${max.toFixed(0)} MiB; ${SOAK_IDLE_AFTER_MS / 1000} s after the traffic ${idleAfter?.rss.toFixed(0)} MiB`,
    );
  }
} finally {
  for (const child of started) child.kill("SIGTERM");
  await Promise.all(started.map((c) => new Promise((r) => (c.exitCode === null ? c.once("exit", r) : r(0)))));
  await cluster.close();
}
