/**
 * Event-loop lag of the server while 100 never-seen rule patterns are checked (issue #17: no pattern check may block
 * the event loop more than 20 ms). The built server (`dist/main.js`, its own process, no cluster) is sent 100 dry runs
 * (10 at a time), each with one new pattern, 10 of them catastrophic; the lag is the server's own
 * `nodejs_eventloop_lag_max_seconds` / `_p99_seconds` (prom-client's event-loop delay histogram, reset by each scrape),
 * read before (idle, the machine's noise) and after the 100. Beside them, the main thread's own blocking measured
 * inside the server at 1 ms resolution by bench/lag-probe.mjs (preloaded): the event-loop delay histogram, the longest
 * single task (how late a 1 ms timer fired) and the longest GC pause, idle and while the patterns are checked. Also the
 * time each request took (a safe new pattern, a catastrophic one). `--baseline <main.js>`: another build (e.g. the
 * one that checked patterns on the main thread) measured the same way, one after the other, in the same run.
 * Each long GC pause (≥ 5 ms) is listed with its kind, V8's reason flags and when it happened (seconds since the
 * server started): a major GC flagged "all external memory" alone is V8's memory reducer (the idle-time GC it runs
 * some 8 to 25 s after start), not something a request did. The start-up itself (process start to 3 s after the
 * server answers) is shown apart. `--node-flags "<flags>"`: Node/V8 flags for the servers (e.g. `--trace-gc`; their
 * stdout is shown then).
 * `--server-flags`: the servers get the image's flags (SERVER_NODE_FLAGS, as its ENTRYPOINT) before `--node-flags`.
 * `--cli <main.js>` (repeatable): `rollway serve` of that built CLI is measured too (no flags given: it adds the server's itself,
 * running again; the probe then reads the process that serves). Run on another Node by running this script on it.
 * Run after `pnpm build`:
 * `node --import tsx bench/pattern-lag.ts [--baseline <main.js>] [--cli <cli main.js>] [--server-flags] [--node-flags "<flags>"]`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVER_NODE_FLAGS } from "../src/node-flags.js";

const TOKEN = "bench-deploy-token-0123456789abcdef";
const at = process.argv.indexOf("--baseline");
const baseline = at >= 0 ? process.argv[at + 1] : undefined;
/** `--node-flags "--trace-gc …"`: extra Node/V8 flags for the servers; their stdout (where V8 traces go) is shown then. */
const flagsAt = process.argv.indexOf("--node-flags");
const nodeFlags = [
  ...(process.argv.includes("--server-flags") ? SERVER_NODE_FLAGS : []),
  ...(flagsAt >= 0 ? (process.argv[flagsAt + 1] ?? "").split(/\s+/).filter(Boolean) : []),
];
const clis = process.argv.flatMap((a, i) =>
  a === "--cli" && process.argv[i + 1] ? [process.argv[i + 1] as string] : [],
);
const probeDir = mkdtempSync(join(tmpdir(), "rollway-lag-probe-"));

function patterns(tag: string): string[] {
  return Array.from({ length: 100 }, (_, i) =>
    i % 10 === 0 ? `(\\w+\\s?)*${tag}${i}$` : `^my-registry\\/image-${tag}-${i}:(v|release-)[0-9]+(\\.[0-9]+)*$`,
  );
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

async function lag(port: number): Promise<{ maxMs: number; p99Ms: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN) * 1000;
  return { maxMs: read("nodejs_eventloop_lag_max_seconds"), p99Ms: read("nodejs_eventloop_lag_p99_seconds") };
}

interface Probe {
  maxMs: number;
  p99Ms: number;
  longestTaskMs: number;
  /** Seconds since the server started. */
  longestTaskAtS: number;
  longestGcMs: number;
  longestGcKind: string;
  longestGcAtS: number;
  gcMs: number;
  longGcs: { ms: number; kind: string; atS: number }[];
}

/**
 * The process that serves: the one started, or (`rollway serve` on a Node without process.execve, which runs the
 * server as its child to give it the server's flags) its descendant running `serve`.
 */
function servingPid(pid: number): number {
  for (;;) {
    let children: string[];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {
      return pid;
    }
    const next = children.find((c) => {
      try {
        return readFileSync(`/proc/${c}/cmdline`, "utf8").split("\0").includes("serve");
      } catch {
        return false;
      }
    });
    if (!next) return pid;
    pid = Number(next);
  }
}

/** The probe's figures since the last read (and a reset): SIGUSR2 to the serving process, which writes its file. */
async function probe(pid: number, file: string): Promise<Probe> {
  rmSync(file, { force: true });
  process.kill(pid, "SIGUSR2");
  for (let i = 0; i < 500 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 10));
  return JSON.parse(readFileSync(file, "utf8")) as Probe;
}

const PROBE = fileURLToPath(new URL("./lag-probe.mjs", import.meta.url));
const ms = (x: number) => `${x.toFixed(1)} ms`;
const showProbe = (p: Probe) =>
  `longest task ${ms(p.longestTaskMs)} (at ${p.longestTaskAtS.toFixed(1)} s), delay max ${ms(p.maxMs)} p99 ${ms(p.p99Ms)}, longest GC ${ms(p.longestGcMs)} ${p.longestGcKind}${p.longestGcMs > 0 ? ` (at ${p.longestGcAtS.toFixed(1)} s)` : ""} (GC ${ms(p.gcMs)} in all)${
    p.longGcs.length > 0
      ? `; pauses ≥ 5 ms: ${p.longGcs.map((g) => `${ms(g.ms)} ${g.kind} at ${g.atS.toFixed(1)} s`).join(", ")}`
      : ""
  }`;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] ?? 0;

async function measure(title: string, main: string, port: number, tag: string, serve = false) {
  const probeFile = join(probeDir, `${port}.json`);
  const args = serve
    ? ["--import", PROBE, main, "serve", "--port", String(port), "--host", "127.0.0.1"]
    : [...nodeFlags, "--import", PROBE, main];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      LAG_PROBE_FILE: probeFile,
      ...process.env,
      NODE_ENV: "production",
      RECHECK_BACKEND: "pure",
      ROLLWAY_HOST: "127.0.0.1",
      ROLLWAY_PORT: String(port),
      ROLLWAY_LOG_LEVEL: "warn",
      ROLLWAY_RATE_LIMIT_PER_MINUTE: "100000000",
      ROLLWAY_TOKENS: JSON.stringify([{ scope: "deploy", project: "p", environment: "e", tokens: [TOKEN] }]),
    },
    stdio: ["ignore", nodeFlags.length > 0 && !serve ? "inherit" : "ignore", "inherit"],
  });
  const spawned = performance.now();
  try {
    await waitFor(`http://127.0.0.1:${port}/healthz`);
    const answeredS = (performance.now() - spawned) / 1000;
    const pid = servingPid(child.pid as number);
    await new Promise((r) => setTimeout(r, 3000));
    await lag(port); // resets the histogram
    const startProbe = await probe(pid, probeFile);
    await new Promise((r) => setTimeout(r, 3000));
    const idle = await lag(port);
    const idleProbe = await probe(pid, probeFile);
    const queue = patterns(tag);
    let refused = 0;
    let failed = 0;
    const safeMs: number[] = [];
    const unsafeMs: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
          const sent = performance.now();
          try {
            const res = await fetch(`http://127.0.0.1:${port}/v1/projects/p/environments/e/validate`, {
              method: "POST",
              headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` },
              body: JSON.stringify({ backends: { images: ["r/a:1"], deployRules: [{ source: ".*", target: p }] } }),
            });
            await res.arrayBuffer();
            if (res.status !== 200) refused++;
            (res.status === 200 ? safeMs : unsafeMs).push(performance.now() - sent);
          } catch {
            failed++; // the connection was cut (e.g. the server's request timeout while its event loop was blocked)
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const busy = await lag(port);
    const busyProbe = await probe(pid, probeFile);
    console.log(
      `${title.padEnd(44)} idle 3 s: max ${idle.maxMs.toFixed(0)} ms, p99 ${idle.p99Ms.toFixed(0)} ms | 100 new patterns in ${seconds.toFixed(1)} s (${refused} refused, ${failed} connections cut): max ${busy.maxMs.toFixed(0)} ms, p99 ${busy.p99Ms.toFixed(0)} ms`,
    );
    console.log(
      `  main thread, start + 3 s (first answer ${answeredS.toFixed(1)} s after spawn): ${showProbe(startProbe)}`,
    );
    console.log(`  main thread, idle 3 s:           ${showProbe(idleProbe)}`);
    console.log(`  main thread, 100 new patterns:   ${showProbe(busyProbe)}`);
    console.log(
      `  request time: accepted (new safe pattern) median ${ms(quantile(safeMs, 0.5))}, max ${ms(Math.max(0, ...safeMs))}; refused (catastrophic) median ${ms(quantile(unsafeMs, 0.5))}, max ${ms(Math.max(0, ...unsafeMs))}`,
    );
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(0)));
  }
}

console.log(
  `event-loop lag of the server while 100 new rule patterns are checked (Node ${process.version}${nodeFlags.length > 0 ? `, server flags ${nodeFlags.join(" ")}` : ""})`,
);
try {
  await measure(
    "dist/main.js (checker processes)",
    fileURLToPath(new URL("../dist/main.js", import.meta.url)),
    18_470,
    "a",
  );
  if (baseline) await measure(`baseline ${baseline.slice(-40)}`, baseline, 18_471, "b");
  for (const [i, cli] of clis.entries())
    await measure(`rollway serve ${cli.slice(-40)}`, cli, 18_472 + i, `c${i}`, true);
} finally {
  rmSync(probeDir, { recursive: true, force: true });
}
