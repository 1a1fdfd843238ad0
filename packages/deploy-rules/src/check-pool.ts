/**
 * recheck off the main thread: a small pool of worker threads, each loading recheck once and answering one pattern
 * at a time, with a time budget per pattern (a worker over budget is terminated and replaced, the pattern refused
 * as unprovable). The main thread never loads recheck and never runs it, so a never-seen pattern costs the event
 * loop only a message, not the 100+ ms of a cold check.
 *
 * The workers are eval'd CommonJS that require recheck by its resolved path: no worker file to ship, so it works
 * from src (tests), from dist and from bundles that keep @rollway/deploy-rules external (the CLI). One-file bundles
 * (the GitHub Action) hand a checker over with useSafetyChecker and check on their own thread instead.
 *
 * A worker holding recheck costs 40 to 70 MiB, and patterns arrive in bursts (a deploy's handful, then nothing for
 * minutes): each worker ends after `idleMs` without work, and the next pattern starts one again.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type * as Recheck from "recheck";

export type Diagnostics = ReturnType<typeof Recheck.checkSync>;

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { checkSync } = require(workerData.recheck);
parentPort.postMessage({ ready: true });
parentPort.on("message", ({ id, pattern, params }) => {
  let diagnostics;
  try {
    diagnostics = checkSync(pattern, "", params);
  } catch (error) {
    diagnostics = { status: "unknown", error: { kind: "unexpected", message: String(error && error.message || error) } };
  }
  parentPort.postMessage({ id, diagnostics: JSON.parse(JSON.stringify(diagnostics)) });
});
`;

interface Task {
  id: number;
  pattern: string;
  params: Record<string, unknown>;
  budgetMs: number;
  resolve(d: Diagnostics): void;
}

interface Slot {
  worker: Worker;
  task?: Task;
  timer?: NodeJS.Timeout;
  idle?: NodeJS.Timeout;
  /** recheck is loaded: a pattern's budget runs from here. */
  ready?: boolean;
}

/**
 * Longest a new worker may take to load recheck (2.9 MB of Scala.js: well under a second idle, 5 s seen at load 20
 * on 2 cores). A pattern's budget starts once its worker is ready: a slow start says nothing about the pattern.
 */
const WORKER_START_LIMIT_MS = 60_000;

/** How long a worker waits for another pattern before it ends. */
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

export class CheckPool {
  readonly size: number;
  private readonly recheckPath: string;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;

  private readonly idleMs: number;

  constructor(size = Math.max(1, Math.min(4, availableParallelism() - 1)), idleMs = WORKER_IDLE_MS) {
    this.size = size;
    this.idleMs = idleMs;
    this.recheckPath = createRequire(import.meta.url).resolve("recheck");
  }

  /** recheck's diagnostics for `pattern`, computed in a worker; a timeout verdict when over `budgetMs`. */
  check(pattern: string, params: Record<string, unknown>, budgetMs: number): Promise<Diagnostics> {
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, pattern, params, budgetMs, resolve });
      this.pump();
    });
  }

  /** Worker threads alive now (started on demand, ended when idle). */
  get workers(): number {
    return this.slots.length;
  }

  /** Stops every worker; pending checks answer "timed out". */
  async close(): Promise<void> {
    for (const task of this.queue.splice(0)) task.resolve(timedOut());
    await Promise.all(
      this.slots.splice(0).map((slot) => {
        if (slot.timer) clearTimeout(slot.timer);
        if (slot.idle) clearTimeout(slot.idle);
        slot.task?.resolve(timedOut());
        return slot.worker.terminate();
      }),
    );
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.task);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const task = this.queue.shift() as Task;
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = undefined;
      slot.task = task;
      this.startBudget(slot, slot.ready ? task.budgetMs : WORKER_START_LIMIT_MS);
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, pattern: task.pattern, params: task.params });
    }
  }

  private spawn(): Slot {
    // No inherited execArgv: a parent started with --input-type=module would make the eval'd source an ES module.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { recheck: this.recheckPath } });
    const slot: Slot = { worker };
    worker.unref();
    worker.on("message", ({ id, diagnostics, ready }: { id: number; diagnostics: Diagnostics; ready?: true }) => {
      if (ready) {
        slot.ready = true;
        if (slot.task) this.startBudget(slot, slot.task.budgetMs);
        return;
      }
      if (slot.task?.id !== id) return;
      this.finish(slot, diagnostics);
    });
    worker.on("error", () => this.replace(slot));
    worker.on("exit", () => this.replace(slot));
    this.slots.push(slot);
    return slot;
  }

  private startBudget(slot: Slot, ms: number): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => this.expire(slot), ms);
    slot.timer.unref();
  }

  private finish(slot: Slot, diagnostics: Diagnostics): void {
    if (slot.timer) clearTimeout(slot.timer);
    const task = slot.task;
    slot.task = undefined;
    slot.timer = undefined;
    slot.worker.unref();
    task?.resolve(diagnostics);
    this.pump();
    if (!slot.task) {
      slot.idle = setTimeout(() => this.retire(slot), this.idleMs);
      slot.idle.unref();
    }
  }

  /** Idle for idleMs: the worker ends, and its memory (recheck's code and heap) goes with it. */
  private retire(slot: Slot): void {
    if (slot.task || !this.drop(slot)) return;
    void slot.worker.terminate();
  }

  /** Over budget: the worker is stopped (recheck cannot be interrupted otherwise) and a fresh one takes its place. */
  private expire(slot: Slot): void {
    const task = slot.task;
    this.drop(slot);
    task?.resolve(timedOut());
    void slot.worker.terminate();
    this.pump();
  }

  private replace(slot: Slot): void {
    const task = slot.task;
    if (!this.drop(slot)) return;
    task?.resolve({ status: "unknown", error: { kind: "unexpected" } } as unknown as Diagnostics);
    this.pump();
  }

  private drop(slot: Slot): boolean {
    const i = this.slots.indexOf(slot);
    if (i < 0) return false;
    this.slots.splice(i, 1);
    if (slot.timer) clearTimeout(slot.timer);
    if (slot.idle) clearTimeout(slot.idle);
    slot.task = undefined;
    return true;
  }
}
