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
 * What each long turn of the event loop was (Linux): for every turn of 10 ms or more (or 3 ms of the main thread's CPU)
 * the probe gives wall / the main thread's CPU / its wait for a CPU while runnable / the rest, asleep (blocked: a lock,
 * a page read), from the thread's schedstat; and per window the main thread's CPU, its wait for a CPU per wake-up and
 * the process's major page faults. On a busy machine nearly all of a long turn is the wait for a CPU: compare the CPU
 * and asleep columns there, the wall figures only on a quiet machine. The probe is read before the metrics scrape
 * that follows the 100 patterns (shown apart). `--profile-dir <dir>`: CPU profiles (200 µs) and the probe's figures,
 * for `node bench/long-tasks.mjs <dir>` to say what ran in each turn with 3 ms or more of CPU. `--rounds n`: the whole
 * sequence n times, and a summary per server at the end.
 * Run after `pnpm build`:
 * `node --import tsx bench/pattern-lag.ts [--baseline <main.js>] [--cli <cli main.js>] [--server-flags] [--node-flags "<flags>"] [--rounds n] [--profile-dir <dir>]`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
/**
 * `--profile-dir <dir>`: each server writes a CPU profile there (sampled every 200 µs) and the probe's figures for the
 * 100 patterns beside it (probe-<tag>-<pid>.json), for bench/long-tasks.mjs to say what ran in each long task.
 */
const profileAt = process.argv.indexOf("--profile-dir");
const profileDir = profileAt >= 0 ? process.argv[profileAt + 1] : undefined;
if (profileDir) nodeFlags.push("--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-interval", "200");
/** `--rounds n`: the whole sequence (this build, the baseline, each CLI) n times over. */
const roundsAt = process.argv.indexOf("--rounds");
const rounds = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : 1;
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
  /** Tasks of 10 ms or more (or 3 ms of CPU): when (ms since start), wall, the main thread's CPU and run-queue wait in it, GC in it. */
  longTasks?: { atMs: number; ms: number; cpuMs: number; waitMs: number; gcMs: number; majorFaults: number }[];
  /**
   * The main thread since the last read: its CPU, its wait for a CPU while runnable, and how often it was put on one
   * (waitMs / runs: how long, on average, the event loop waited for a CPU each time it woke).
   */
  thread?: { cpuMs: number; waitMs: number; runs: number; majorFaults: number };
  /** Add to a time of the probe's to get process.hrtime's (the clock of a CPU profile), ms. */
  hrOffsetMs?: number;
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
const showTask = (t: NonNullable<Probe["longTasks"]>[number]) =>
  `${t.ms.toFixed(1)}/${t.cpuMs.toFixed(1)}/${t.waitMs.toFixed(1)}/${Math.max(0, t.ms - t.cpuMs - t.waitMs).toFixed(1)}${t.gcMs > 0 ? ` gc ${t.gcMs.toFixed(1)}` : ""}${t.majorFaults > 0 ? ` ${t.majorFaults} major faults` : ""} at ${(t.atMs / 1000).toFixed(1)} s`;
/** The long tasks in short: how many, how many were mostly a wait for a CPU, the longest five and the most CPU. */
const showTasks = (p: Probe) => {
  const tasks = p.longTasks ?? [];
  const long = tasks.filter((t) => t.ms >= 10);
  const waits = long.filter((t) => t.waitMs > t.ms / 2).length;
  const longest = [...long].sort((a, b) => b.ms - a.ms).slice(0, 5);
  const cpu = [...tasks].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, 3);
  const t = p.thread;
  const thread = t
    ? `main thread: ${t.cpuMs.toFixed(0)} ms CPU, ${t.waitMs.toFixed(0)} ms waiting for a CPU over ${t.runs} wake-ups (${((t.waitMs * 1000) / Math.max(1, t.runs)).toFixed(0)} µs each), ${t.majorFaults} major page faults (process); `
    : "";
  return `${thread}${long.length} tasks ≥ 10 ms, ${waits} of them mostly waiting for a CPU; longest ${longest.map(showTask).join(", ") || "none"}; most CPU ${cpu.map(showTask).join(", ") || "none"}`;
};
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] ?? 0;

/** Each server's probe figures for the 100 patterns, round by round, for the summary at the end. */
const summary = new Map<string, Probe[]>();

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
    // The probe first: the metrics scrape (several ms of prom-client's work) comes after the checks, not within them.
    const busyProbe = await probe(pid, probeFile);
    const busy = await lag(port);
    const scrapeProbe = await probe(pid, probeFile);
    console.log(
      `${title.padEnd(44)} idle 3 s: max ${idle.maxMs.toFixed(0)} ms, p99 ${idle.p99Ms.toFixed(0)} ms | 100 new patterns in ${seconds.toFixed(1)} s (${refused} refused, ${failed} connections cut): max ${busy.maxMs.toFixed(0)} ms, p99 ${busy.p99Ms.toFixed(0)} ms`,
    );
    console.log(
      `  main thread, start + 3 s (first answer ${answeredS.toFixed(1)} s after spawn): ${showProbe(startProbe)}`,
    );
    console.log(`  main thread, idle 3 s:           ${showProbe(idleProbe)}`);
    console.log(`  main thread, 100 new patterns:   ${showProbe(busyProbe)}`);
    console.log(`  main thread, the metrics scrape:  ${showProbe(scrapeProbe)}`);
    console.log(`  tasks idle (wall / CPU / waiting / asleep, ms): ${showTasks(idleProbe)}`);
    console.log(
      `  tasks while checking (wall / main thread's CPU / waiting for a CPU / asleep (blocked), ms): ${showTasks(busyProbe)}`,
    );
    const row = summary.get(title) ?? [];
    row.push(busyProbe);
    summary.set(title, row);
    if (profileDir) writeFileSync(join(profileDir, `probe-${tag}-${child.pid}.json`), JSON.stringify(busyProbe));
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
if (profileDir) mkdirSync(profileDir, { recursive: true });
try {
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) console.log(`round ${round} of ${rounds}`);
    await measure(
      "dist/main.js (checker processes)",
      fileURLToPath(new URL("../dist/main.js", import.meta.url)),
      18_470,
      `a${round}`,
    );
    if (baseline) await measure(`baseline ${baseline.slice(-40)}`, baseline, 18_471, `b${round}`);
    for (const [i, cli] of clis.entries())
      await measure(`rollway serve ${cli.slice(-40)}`, cli, 18_472 + i, `c${i}r${round}`, true);
  }
  console.log("summary, while the 100 patterns were checked (round by round):");
  for (const [title, probes] of summary) {
    const list = (f: (p: Probe) => number, digits = 1) => probes.map((p) => f(p).toFixed(digits)).join(" / ");
    console.log(
      `  ${title.padEnd(44)} longest task ${list((p) => p.longestTaskMs)} ms; most CPU in one task ${list((p) => Math.max(0, ...(p.longTasks ?? []).map((t) => t.cpuMs)))} ms; longest asleep in one task ${list((p) => Math.max(0, ...(p.longTasks ?? []).map((t) => t.ms - t.cpuMs - t.waitMs)))} ms; major page faults ${list((p) => p.thread?.majorFaults ?? Number.NaN, 0)}; wait for a CPU per wake-up ${list((p) => (p.thread ? (p.thread.waitMs * 1000) / Math.max(1, p.thread.runs) : Number.NaN), 0)} µs`,
    );
  }
} finally {
  rmSync(probeDir, { recursive: true, force: true });
}
