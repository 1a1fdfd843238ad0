/**
 * recheck off the main thread, and out of the server's process: a small pool of checker processes, each loading
 * recheck once and answering one pattern at a time, with a budget of CPU time per pattern (a checker over budget is
 * killed and replaced, the pattern refused as unprovable). The process never loads recheck and never runs it, so a
 * never-seen pattern costs the event loop only a message, not the 100+ ms of a cold check.
 *
 * Processes, not worker threads: a worker's memory is not all given back when it ends. Loading recheck (compiling
 * 2.9 MB of Scala.js) and checking churn ~100 MB through malloc on the worker's and V8's compiler threads, and glibc
 * keeps freed chunks in its arenas wherever a live chunk sits above them: on Node 24 a server stayed 45 to 70 MiB
 * above its idle size after each burst of new patterns, growing burst by burst (malloc_stats: 103 MB held, 6 MB in
 * use; `malloc_trim(0)` gave it all back). A process's memory goes back whole when it exits.
 *
 * The processes are started and watched by one small relay worker thread, not by the main thread: starting a process
 * (fork and exec) blocked its caller 7 to 90 ms on a loaded 2-core machine (Node's spawn waits for the child's exec),
 * and the event loop may not block 20 ms. The relay loads nothing but node:child_process and node:net, answers over a
 * local socket (see relaySocketPath: not its MessagePort, whose lock made the event loop wait for the relay), runs the
 * checkers at CHECKER_NICENESS below the server's priority on Linux (0 for now: see there), and ends with the last
 * checker.
 *
 * The relay and checkers are eval'd CommonJS (`new Worker(source, { eval: true })`, `node -e`) that require recheck by
 * its resolved path: no file to ship, so it works from src (tests), from dist and from bundles that keep
 * @rollway/deploy-rules external (the CLI). One-file bundles (the GitHub Action) hand a checker over with
 * useSafetyChecker and check on their own thread instead.
 *
 * A checker holding recheck costs 40 to 70 MiB, and patterns arrive in bursts (a deploy's handful, then nothing for
 * minutes): each checker ends after `idleMs` without work, and the next pattern starts one again.
 */

import { randomBytes, timingSafeEqual } from "node:crypto";
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { createServer, type Server } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type * as Recheck from "recheck";

export type Diagnostics = ReturnType<typeof Recheck.checkSync>;

/**
 * A checker process (`node -e`, argv[1]: recheck's resolved path). It ends when its relay goes (the IPC channel closes,
 * e.g. the server exits), so a server killed mid-check leaves no checker behind.
 */
const CHECKER_SOURCE = `
const { checkSync } = require(process.argv[1]);
process.on("disconnect", () => process.exit(0));
process.on("message", ({ id, pattern, params }) => {
  let diagnostics;
  try {
    diagnostics = checkSync(pattern, "", params);
  } catch (error) {
    diagnostics = { status: "unknown", error: { kind: "unexpected", message: String(error && error.message || error) } };
  }
  process.send({ id, diagnostics });
});
process.send({ ready: true });
`;

/**
 * The relay worker: runs the checker processes. From its parent (parentPort): a task ({ id, pattern, params, budgetMs,
 * wallLimitMs }) or { close: true }. To it (over the parent's socket): { id, diagnostics } per task, { alive: n }
 * whenever the number of checkers changes, and { closed: true } once every checker has exited after a close. A task's
 * budget runs from its checker being ready (recheck loaded); until then, startLimitMs.
 *
 * The budget is CPU time where the relay can read it (Linux): what the checker and the processes it started (recheck's
 * native or Java agent, which does the work) spent on the task, so a check slowed by a busy machine (or by a lower
 * priority, CHECKER_NICENESS) is not refused for it. Every time the wall timer fires, the relay reads that time and
 * waits for what is left of the budget; wallLimitMs of wall time ends a checker that gets no CPU at all (stopped,
 * starved). Elsewhere the budget is wall time.
 */
const RELAY_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { spawn } = require("node:child_process");
const { connect } = require("node:net");
const { readdirSync, readFileSync } = require("node:fs");
const { recheck, checker, size, idleMs, startLimitMs, minReviewMs, niceness, socket, token } = workerData;
// To the server's thread over a local socket, not parentPort (see relaySocketPath): one JSON message a line, after the token.
const out = connect(socket);
out.on("error", () => process.exit(1));
out.write(token + "\\n");
const send = (message) => out.write(JSON.stringify(message) + "\\n");
// The length of a clock tick, the unit of /proc's CPU times: sysconf(_SC_CLK_TCK), which glibc takes from the AT_CLKTCK
// entry (type 17) of the auxiliary vector the kernel gives every process. Undefined where there is no /proc, or no
// per-thread list of children (CONFIG_PROC_CHILDREN): without it the agent's time, the check's, cannot be found.
const tickMs = (() => {
  if (process.platform !== "linux") return undefined;
  try {
    readFileSync("/proc/" + process.pid + "/task/" + process.pid + "/children");
    const auxv = readFileSync("/proc/self/auxv");
    const word = /64$|^s390x$/.test(process.arch) ? 8 : 4;
    const le = require("node:os").endianness() === "LE";
    const at = (i) => {
      if (word === 4) return le ? auxv.readUInt32LE(i) : auxv.readUInt32BE(i);
      return Number(le ? auxv.readBigUInt64LE(i) : auxv.readBigUInt64BE(i));
    };
    for (let i = 0; i + 2 * word <= auxv.length; i += 2 * word) {
      const type = at(i);
      if (type === 0) break;
      if (type === 17 && at(i + word) > 0) return 1000 / at(i + word);
    }
    // No AT_CLKTCK: the kernel's USER_HZ, 100 on every architecture Node runs on.
    return 10;
  } catch {
    return undefined;
  }
})();
// CPU ticks spent by a process (all its threads, live and ended), by the children it has reaped and by its live
// descendants: recheck's checkSync runs the check in an agent process that the checker starts (recheck's native
// binary, or Java) when there is one, and in the checker's own threads otherwise. Fields 14 to 17 of /proc/<pid>/stat
// (utime, stime, cutime, cstime), counted after the command name, which may hold spaces and parentheses itself.
// Undefined once the process is gone.
function ticksOf(pid) {
  let stat;
  try {
    stat = readFileSync("/proc/" + pid + "/stat", "utf8");
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  let ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  let threads = [];
  try {
    threads = readdirSync("/proc/" + pid + "/task");
  } catch {}
  for (const tid of threads) {
    let children = "";
    try {
      children = readFileSync("/proc/" + pid + "/task/" + tid + "/children", "utf8");
    } catch {}
    for (const child of children.split(" ")) if (child) ticks += ticksOf(child) || 0;
  }
  return ticks;
}
const cpuMs = (slot) => {
  const ticks = tickMs === undefined ? undefined : ticksOf(slot.child.pid);
  return ticks === undefined ? undefined : ticks * tickMs;
};
// The checkers run CHECKER_NICENESS below the server's priority, only where their budget is CPU time: against a
// wall-clock budget, a lower priority is what made a safe pattern's check run out of it on a busy machine. On Linux a
// nice value is a thread's, and a process started by a thread inherits that thread's: set on this relay thread alone
// (not the server's), it is the checkers' from their first instruction, for all their threads (V8's compiler and GC
// helpers too) and the processes they start (recheck's agent).
try {
  if (tickMs !== undefined) require("node:os").setPriority(Math.min(19, require("node:os").getPriority() + niceness));
} catch {}
// Node's own command line only: the parent's flags (a loader's --import, the server's V8 flags) are not the checker's,
// and NODE_OPTIONS could add them back; --input-type keeps the source CommonJS whatever the parent's. Of the
// environment, only what recheck, glibc and the system read: never the server's tokens or other secrets.
const KEEP = /^(RECHECK_[A-Z0-9_]+|MALLOC_[A-Z0-9_]+|GLIBC_TUNABLES|PATH|HOME|TMPDIR|TZ|LANG|LC_[A-Z_]+)$/;
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => KEEP.test(name)));
const TIMED_OUT = { status: "unknown", error: { kind: "timeout" } };
const UNEXPECTED = { status: "unknown", error: { kind: "unexpected" } };
const slots = [];
const queue = [];
const answer = (task, diagnostics) => send({ id: task.id, diagnostics });
const report = () => send({ alive: slots.length });
const stop = (child) => {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
};
function drop(slot) {
  const i = slots.indexOf(slot);
  if (i < 0) return false;
  slots.splice(i, 1);
  clearTimeout(slot.timer);
  clearTimeout(slot.idle);
  slot.task = undefined;
  report();
  return true;
}
function startBudget(slot, ms) {
  clearTimeout(slot.timer);
  slot.timer = setTimeout(() => expire(slot), ms);
}
// The task's budget, from now: CPU time where it can be read, else wall time; wallLimitMs of wall time at most.
function startTaskBudget(slot) {
  const task = slot.task;
  slot.cpuStart = cpuMs(slot);
  slot.wallEnd = performance.now() + task.wallLimitMs;
  if (slot.cpuStart === undefined) {
    startBudget(slot, Math.min(task.budgetMs, task.wallLimitMs));
    return;
  }
  clearTimeout(slot.timer);
  slot.timer = setTimeout(() => review(slot), Math.min(task.budgetMs, task.wallLimitMs));
}
// Over its CPU budget or its wall-clock limit, the check ends; else the relay waits for what is left of the budget (on
// one CPU a check cannot spend it sooner; threads running at once may take it a little past), at least minReviewMs, so
// that a checker near the end of its budget is not read in a busy loop.
function review(slot) {
  const task = slot.task;
  if (!task) return;
  const now = cpuMs(slot);
  const spent = now === undefined ? Infinity : now - slot.cpuStart;
  const wallLeft = slot.wallEnd - performance.now();
  if (spent >= task.budgetMs || wallLeft <= 0) {
    expire(slot);
    return;
  }
  const wait = Math.min(wallLeft, Math.max(minReviewMs, task.budgetMs - spent));
  slot.timer = setTimeout(() => review(slot), wait);
}
// Over budget: the checker is killed (recheck cannot be interrupted otherwise) and a fresh one takes its place.
function expire(slot) {
  const task = slot.task;
  drop(slot);
  if (task) answer(task, TIMED_OUT);
  stop(slot.child);
  pump();
}
// A checker that could not start or died: its pattern answers "unexpected".
function replace(slot) {
  const task = slot.task;
  if (!drop(slot)) return;
  if (task) answer(task, UNEXPECTED);
  pump();
}
// Idle for idleMs: closing the channel ends the checker, and all its memory goes with it.
function retire(slot) {
  if (slot.task || !drop(slot)) return;
  if (slot.child.connected) slot.child.disconnect();
  else stop(slot.child);
}
function start() {
  const child = spawn(process.execPath, ["--input-type=commonjs", "-e", checker, recheck], {
    env,
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    serialization: "json",
  });
  const slot = { child };
  child.on("message", (message) => {
    if (message.ready) {
      slot.ready = true;
      if (slot.task) startTaskBudget(slot);
      return;
    }
    if (slot.task && slot.task.id === message.id) finish(slot, message.diagnostics);
  });
  child.on("error", () => replace(slot));
  child.on("exit", () => replace(slot));
  slots.push(slot);
  report();
  return slot;
}
function finish(slot, diagnostics) {
  clearTimeout(slot.timer);
  const task = slot.task;
  slot.task = undefined;
  answer(task, diagnostics);
  pump();
  if (!slot.task) slot.idle = setTimeout(() => retire(slot), idleMs);
}
function pump() {
  while (queue.length > 0) {
    let slot = slots.find((s) => !s.task);
    if (!slot && slots.length < size) slot = start();
    if (!slot) return;
    const task = queue.shift();
    clearTimeout(slot.idle);
    slot.task = task;
    if (slot.ready) startTaskBudget(slot);
    else startBudget(slot, startLimitMs);
    slot.child.send({ id: task.id, pattern: task.pattern, params: task.params });
  }
}
parentPort.on("message", async (message) => {
  if (!message.close) {
    queue.push(message);
    pump();
    return;
  }
  for (const task of queue.splice(0)) answer(task, TIMED_OUT);
  const exits = slots.splice(0).map((slot) => {
    clearTimeout(slot.timer);
    clearTimeout(slot.idle);
    if (slot.task) answer(slot.task, TIMED_OUT);
    const exited = new Promise((resolve) =>
      slot.child.exitCode !== null || slot.child.signalCode !== null ? resolve() : slot.child.once("exit", resolve),
    );
    stop(slot.child);
    return exited;
  });
  await Promise.all(exits);
  send({ closed: true });
});
`;

interface Task {
  id: number;
  pattern: string;
  params: Record<string, unknown>;
  budgetMs: number;
  wallLimitMs: number;
  resolve(d: Diagnostics): void;
}

/**
 * Longest a new checker may take to start and load recheck (2.9 MB of Scala.js: well under a second idle, 5 s seen at
 * load 20 on 2 cores). A pattern's budget starts once its checker is ready: a slow start says nothing about the pattern.
 */
const WORKER_START_LIMIT_MS = 60_000;

/**
 * A check's wall-clock limit, however much of its CPU budget is left: a minute, or six budgets if more. It is there so
 * that a checker that never runs (stopped, starved) still ends, and its request is answered; a checker that runs at all
 * rarely reaches it (see CHECKER_NICENESS for how much CPU a checker gets on a busy machine).
 */
export function checkWallLimitMs(budgetMs: number): number {
  return Math.max(60_000, 6 * budgetMs);
}

/** The shortest wait between two readings of a checker's CPU time (two clock ticks). */
const MIN_REVIEW_MS = 20;

/**
 * How much lower the checkers' priority is than the server's (added to its nice value, at most 19): 0, the server's.
 * A checker keeps a CPU busy for the whole of a burst of new patterns, with V8's compiler and GC threads and recheck's
 * agent process beside it (the agent inherits the nice value), while the server's own CPU work per event-loop turn
 * stays under ~7 ms: what made the server's turns long during a burst was waiting for a CPU (bench/pattern-lag.ts:
 * nearly every turn of 10 ms or more was mostly such a wait). At 10 the checker gave way as soon as the server's thread
 * woke, and the longest turn on a quiet machine fell from ~15 to ~10 ms; at 0 it stays under 20 ms there.
 *
 * It stays 0 because a lower priority is paid by the request that waits for the verdict, and by the verdict itself,
 * whenever anything else is busy: behind k processes busy at the server's priority on every CPU a checker at 10 gets
 * 110 / (1024k + 110) of a CPU (2.6 % for k = 4). A first never-seen pattern, whose fresh checker spends 300 to 400 ms
 * of CPU starting, then took 5.9 to 9.7 s against 0.7 to 0.8 s at 0 (four busy processes, 2026-12-07). The budget is
 * the check's CPU time (a slow check is not refused for being slow), but the wall-clock limit (checkWallLimitMs, a
 * minute) would give such a checker 1.5 s of CPU, and recheck's fuzzer (patterns with a lookaround or a backreference)
 * can take 1.2 to 1.6 s; and recheck's own phase limits count wall time, where a run cut short counts as an attack
 * (see SAFETY_CHECK_TIMEOUT_MS in safe-regex.ts): starved, a safe pattern can be called vulnerable. The value is
 * applied as the relay's nice value on Linux, where the budget is CPU time; elsewhere the checkers keep the server's.
 */
export const CHECKER_NICENESS = 0;

/** How long a checker waits for another pattern before it ends. */
export const WORKER_IDLE_MS = 10_000;

/**
 * Starts and ends an empty worker thread. The first worker of a process costs its creating thread about ten
 * milliseconds (Node loads its worker internals and starts its first thread: 7 of 11 ms in a profile), later ones
 * about one; a server calls this at start so that the first never-seen pattern, mid-request, pays only the later cost.
 * The empty worker exits at once: no recheck, no memory kept.
 */
export function warmWorkerThreads(): Promise<void> {
  const worker = new Worker("", { eval: true, execArgv: [] });
  return new Promise((resolve) => worker.once("exit", () => resolve()));
}

const timedOut = (): Diagnostics => ({ status: "unknown", error: { kind: "timeout" } }) as unknown as Diagnostics;
const unexpected = (): Diagnostics => ({ status: "unknown", error: { kind: "unexpected" } }) as unknown as Diagnostics;

type RelayMessage = { id: number; diagnostics: Diagnostics } | { alive: number } | { closed: true };

/**
 * A relay answers its parent over a local socket, not its MessagePort. A message to a port is queued under a mutex of
 * the receiving port, which the sender holds while it wakes the receiver: the woken server thread then waited for the
 * relay to let go, and when the relay had lost its CPU meanwhile (to a checker, to any busy process), the event loop
 * slept 20 to 100 ms on that lock (perf's sched_switch stacks: the main thread in MessagePort::OnMessage's
 * __lll_lock_wait, woken by the relay's SiblingGroup::Dispatch). A socket has no lock shared with the relay. The socket
 * is this process's own: an abstract one on Linux (no file), a named pipe on Windows, else a file in the temporary
 * directory (removed when closed); the relay's first line is a random token, and any other connection is dropped.
 */
function relaySocketPath(name: string): string {
  if (process.platform === "linux") return `\0rollway-checks-${process.pid}-${name}`;
  if (process.platform === "win32") return `\\\\.\\pipe\\rollway-checks-${process.pid}-${name}`;
  return join(tmpdir(), `rollway-checks-${process.pid}-${name}.sock`);
}

interface Relay {
  worker: Worker;
  /** Its messages, as read from its socket. */
  messages: EventEmitter;
  server: Server;
}

/** Listens for the relay's connection; once it has shown the token, its messages are emitted on `messages`. */
function listenForRelay(path: string, token: string, messages: EventEmitter): Server {
  const server = createServer((socket) => {
    socket.unref();
    socket.setEncoding("utf8");
    let buffered = "";
    let trusted = false;
    socket.on("error", () => socket.destroy());
    socket.on("close", () => trusted && messages.emit("gone"));
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        if (!trusted) {
          const shown = Buffer.from(line);
          if (shown.length !== token.length || !timingSafeEqual(shown, Buffer.from(token))) {
            socket.destroy();
            return;
          }
          trusted = true;
          server.close();
          continue;
        }
        messages.emit("message", JSON.parse(line) as RelayMessage);
      }
      if (!trusted && buffered.length > token.length) socket.destroy();
    });
  });
  // Bound and listening when listen() returns (a local socket needs no look-up), before the relay can connect.
  server.listen({ path, exclusive: true });
  server.unref();
  return server;
}

export class CheckPool {
  readonly size: number;
  private readonly recheckPath: string;
  private readonly idleMs: number;
  private relay?: Relay;
  private readonly pending = new Map<number, Task>();
  private alive = 0;
  private nextId = 0;

  constructor(size = Math.max(1, Math.min(4, availableParallelism() - 1)), idleMs = WORKER_IDLE_MS) {
    this.size = size;
    this.idleMs = idleMs;
    this.recheckPath = createRequire(import.meta.url).resolve("recheck");
  }

  /**
   * recheck's diagnostics for `pattern`, computed in a checker process; a timeout verdict when the check has used
   * `budgetMs` of CPU time (of wall time where the CPU time of a process cannot be read: not Linux), or after
   * `wallLimitMs` of wall time whatever it used. Both run from the checker being ready.
   */
  check(
    pattern: string,
    params: Record<string, unknown>,
    budgetMs: number,
    wallLimitMs = checkWallLimitMs(budgetMs),
  ): Promise<Diagnostics> {
    return new Promise((resolve) => {
      const task: Task = { id: this.nextId++, pattern, params, budgetMs, wallLimitMs, resolve };
      this.pending.set(task.id, task);
      const { worker } = this.startRelay();
      // Busy: the relay keeps the process alive until every check is answered (idle, it never does).
      worker.ref();
      worker.postMessage({ id: task.id, pattern, params, budgetMs, wallLimitMs });
    });
  }

  /** Checker processes alive now (started on demand, ended when idle), as their relay last reported. */
  get workers(): number {
    return this.alive;
  }

  /** Stops every checker (and waits for them to exit); pending checks answer "timed out". */
  async close(): Promise<void> {
    const relay = this.relay;
    this.relay = undefined;
    this.alive = 0;
    for (const task of this.pending.values()) task.resolve(timedOut());
    this.pending.clear();
    if (!relay) return;
    const { worker, messages, server } = relay;
    const closed = new Promise<void>((resolve) => {
      messages.on("message", (message: RelayMessage) => "closed" in message && resolve());
      messages.once("gone", () => resolve());
      worker.once("exit", () => resolve());
    });
    worker.ref();
    worker.postMessage({ close: true });
    await closed;
    server.close();
    await worker.terminate();
  }

  private startRelay(): Relay {
    if (this.relay) return this.relay;
    const token = randomBytes(16).toString("hex");
    const path = relaySocketPath(randomBytes(8).toString("hex"));
    const messages = new EventEmitter();
    const server = listenForRelay(path, token, messages);
    // No inherited execArgv: a parent started with --input-type=module would make the eval'd source an ES module.
    const worker = new Worker(RELAY_SOURCE, {
      eval: true,
      execArgv: [],
      // This process's environment as it is now (the relay passes on only part of it to the checkers).
      env: { ...process.env },
      workerData: {
        recheck: this.recheckPath,
        checker: CHECKER_SOURCE,
        size: this.size,
        idleMs: this.idleMs,
        startLimitMs: WORKER_START_LIMIT_MS,
        minReviewMs: MIN_REVIEW_MS,
        niceness: CHECKER_NICENESS,
        socket: path,
        token,
      },
    });
    const relay: Relay = { worker, messages, server };
    this.relay = relay;
    worker.unref();
    messages.on("message", (message: RelayMessage) => {
      if (this.relay !== relay) return;
      if ("alive" in message) {
        this.alive = message.alive;
        // The last checker has ended and nothing waits: the relay ends too (a later pattern starts another).
        if (message.alive === 0 && this.pending.size === 0) {
          this.relay = undefined;
          server.close();
          void worker.terminate();
        }
        return;
      }
      if (!("id" in message)) return;
      const task = this.pending.get(message.id);
      if (!task) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) worker.unref();
      task.resolve(message.diagnostics);
    });
    const lost = () => {
      server.close();
      if (this.relay !== relay) return;
      this.relay = undefined;
      this.alive = 0;
      for (const task of this.pending.values()) task.resolve(unexpected());
      this.pending.clear();
    };
    worker.on("error", lost);
    worker.on("exit", lost);
    messages.on("gone", lost);
    return relay;
  }
}
