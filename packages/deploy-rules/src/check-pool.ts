/**
 * recheck off the main thread, and out of the server's process: a small pool of checker processes, each loading
 * recheck once and answering one pattern at a time, with a time budget per pattern (a checker over budget is killed
 * and replaced, the pattern refused as unprovable). The process never loads recheck and never runs it, so a
 * never-seen pattern costs the event loop only a message, not the 100+ ms of a cold check.
 *
 * Processes, not worker threads: a worker's memory is not all given back when it ends. Loading recheck (compiling
 * 2.9 MB of Scala.js) and checking churn ~100 MB through malloc on the worker's and V8's compiler threads, and glibc
 * keeps freed chunks in its arenas wherever a live chunk sits above them: on Node 24 a server stayed 45 to 70 MiB
 * above its idle size after each burst of new patterns, growing burst by burst (malloc_stats: 103 MB held, 6 MB in
 * use; `malloc_trim(0)` gave it all back). A process's memory goes back whole when it exits.
 *
 * The processes are started and watched by one small relay worker thread, not by the main thread: starting a process
 * (fork and exec) blocked its caller 7 to 90 ms on a loaded 2-core machine, and the event loop may not block 20 ms. The
 * relay loads nothing but node:child_process, and ends with the last checker.
 *
 * The relay and checkers are eval'd CommonJS (`new Worker(source, { eval: true })`, `node -e`) that require recheck by
 * its resolved path: no file to ship, so it works from src (tests), from dist and from bundles that keep
 * @rollway/deploy-rules external (the CLI). One-file bundles (the GitHub Action) hand a checker over with
 * useSafetyChecker and check on their own thread instead.
 *
 * A checker holding recheck costs 40 to 70 MiB, and patterns arrive in bursts (a deploy's handful, then nothing for
 * minutes): each checker ends after `idleMs` without work, and the next pattern starts one again.
 */

import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
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
 * The relay worker: runs the checker processes. From its parent: a task ({ id, pattern, params, budgetMs }) or
 * { close: true }. To it: { id, diagnostics } per task, { alive: n } whenever the number of checkers changes, and
 * { closed: true } once every checker has exited after a close. A task's budget runs from its checker being ready
 * (recheck loaded); until then, startLimitMs.
 */
const RELAY_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { spawn } = require("node:child_process");
const { recheck, checker, size, idleMs, startLimitMs } = workerData;
// Node's own command line only: the parent's flags (a loader's --import, the server's V8 flags) are not the checker's,
// and NODE_OPTIONS could add them back; --input-type keeps the source CommonJS whatever the parent's. Of the
// environment, only what recheck, glibc and the system read: never the server's tokens or other secrets.
const KEEP = /^(RECHECK_[A-Z0-9_]+|MALLOC_[A-Z0-9_]+|GLIBC_TUNABLES|PATH|HOME|TMPDIR|TZ|LANG|LC_[A-Z_]+)$/;
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => KEEP.test(name)));
const TIMED_OUT = { status: "unknown", error: { kind: "timeout" } };
const UNEXPECTED = { status: "unknown", error: { kind: "unexpected" } };
const slots = [];
const queue = [];
const answer = (task, diagnostics) => parentPort.postMessage({ id: task.id, diagnostics });
const report = () => parentPort.postMessage({ alive: slots.length });
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
      if (slot.task) startBudget(slot, slot.task.budgetMs);
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
    startBudget(slot, slot.ready ? task.budgetMs : startLimitMs);
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
  parentPort.postMessage({ closed: true });
});
`;

interface Task {
  id: number;
  pattern: string;
  params: Record<string, unknown>;
  budgetMs: number;
  resolve(d: Diagnostics): void;
}

/**
 * Longest a new checker may take to start and load recheck (2.9 MB of Scala.js: well under a second idle, 5 s seen at
 * load 20 on 2 cores). A pattern's budget starts once its checker is ready: a slow start says nothing about the pattern.
 */
const WORKER_START_LIMIT_MS = 60_000;

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

export class CheckPool {
  readonly size: number;
  private readonly recheckPath: string;
  private readonly idleMs: number;
  private relay?: Worker;
  private readonly pending = new Map<number, Task>();
  private alive = 0;
  private nextId = 0;

  constructor(size = Math.max(1, Math.min(4, availableParallelism() - 1)), idleMs = WORKER_IDLE_MS) {
    this.size = size;
    this.idleMs = idleMs;
    this.recheckPath = createRequire(import.meta.url).resolve("recheck");
  }

  /** recheck's diagnostics for `pattern`, computed in a checker process; a timeout verdict when over `budgetMs`. */
  check(pattern: string, params: Record<string, unknown>, budgetMs: number): Promise<Diagnostics> {
    return new Promise((resolve) => {
      const task: Task = { id: this.nextId++, pattern, params, budgetMs, resolve };
      this.pending.set(task.id, task);
      const relay = this.startRelay();
      // Busy: the relay keeps the process alive until every check is answered (idle, it never does).
      relay.ref();
      relay.postMessage({ id: task.id, pattern, params, budgetMs });
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
    const closed = new Promise<void>((resolve) => {
      relay.on("message", (message: RelayMessage) => "closed" in message && resolve());
      relay.once("exit", () => resolve());
    });
    relay.ref();
    relay.postMessage({ close: true });
    await closed;
    await relay.terminate();
  }

  private startRelay(): Worker {
    if (this.relay) return this.relay;
    // No inherited execArgv: a parent started with --input-type=module would make the eval'd source an ES module.
    const relay = new Worker(RELAY_SOURCE, {
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
      },
    });
    this.relay = relay;
    relay.unref();
    relay.on("message", (message: RelayMessage) => {
      if (this.relay !== relay) return;
      if ("alive" in message) {
        this.alive = message.alive;
        // The last checker has ended and nothing waits: the relay ends too (a later pattern starts another).
        if (message.alive === 0 && this.pending.size === 0) {
          this.relay = undefined;
          void relay.terminate();
        }
        return;
      }
      if (!("id" in message)) return;
      const task = this.pending.get(message.id);
      if (!task) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) relay.unref();
      task.resolve(message.diagnostics);
    });
    const lost = () => {
      if (this.relay !== relay) return;
      this.relay = undefined;
      this.alive = 0;
      for (const task of this.pending.values()) task.resolve(unexpected());
      this.pending.clear();
    };
    relay.on("error", lost);
    relay.on("exit", lost);
    return relay;
  }
}
