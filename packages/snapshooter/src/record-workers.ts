/**
 * A pool of worker threads taking record batches (record-batch.ts) for a large export: JSON.parse, validation and
 * canonical rendering of the objects run beside the snapshot's own thread, which reads and splits the export.
 * Results are handed back per batch; the caller takes them in the export's order.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import type { BatchResult, RecordBatch } from "./record-batch.js";

/**
 * The process's Node options for the workers, less `--input-type` (given with `node --input-type=module -e …`, it
 * would refuse the worker's file: ERR_INPUT_TYPE_NOT_ALLOWED).
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (arg === "--input-type") i++;
    else if (!arg.startsWith("--input-type=")) out.push(arg);
  }
  return out;
}

/** The worker's file, beside this module: `record-worker.js` in the built package, the TypeScript file from source. */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    // Running from source (the package's tests): the worker is TypeScript too, loaded through tsx's loader.
    const entry = JSON.stringify(new URL("./record-worker.ts", here).href);
    return new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${entry}); });`, {
      eval: true,
      execArgv: workerExecArgv(),
    });
  }
  return new Worker(new URL("./record-worker.js", here), { execArgv: workerExecArgv() });
}

/**
 * How many workers a large export gets: `ROLLWAY_SNAPSHOOTER_WORKERS` when set (0: none, everything in the
 * snapshot's own thread), else one on a machine of one or two cores and two from three cores up. The snapshot's own
 * thread (reading, splitting, numbering tags, then rendering) is the bottleneck: measured on 2 cores, one worker
 * takes as much of its work as two (its CPU 2.0 s either way, from 2.7 s alone) for ~0.4 s less CPU in all. Node does
 * not see a container's CPU limit: set the variable where the limit is below the cores.
 */
export function defaultWorkerCount(env: NodeJS.ProcessEnv = process.env): number {
  const set = env.ROLLWAY_SNAPSHOOTER_WORKERS?.trim();
  if (set !== undefined && /^\d+$/.test(set)) return Math.min(Number(set), 64);
  return os.availableParallelism() >= 3 ? 2 : 1;
}

interface Job {
  id: number;
  batch: RecordBatch;
  resolve: (result: BatchResult) => void;
  reject: (error: Error) => void;
}

export class RecordWorkers {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private failure: Error | undefined;
  private nextId = 0;

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const worker = startWorker();
      worker.on("message", (message: { id: number; result?: BatchResult; error?: string }) => {
        const job = this.running.get(worker);
        this.running.delete(worker);
        if (job) {
          if (message.result) job.resolve(message.result);
          else job.reject(new Error(`a record worker failed: ${message.error}`));
        }
        this.idle.push(worker);
        this.pump();
      });
      worker.on("error", (error) => this.fail(error));
      worker.on("exit", (code) => {
        if (this.failure === undefined) this.fail(new Error(`a record worker stopped (exit code ${code})`));
      });
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.all.length;
  }

  /** The batch's results, from the first free worker. */
  submit(batch: RecordBatch): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.queue.push({ id: this.nextId++, batch, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop() as Worker;
      const job = this.queue.shift() as Job;
      this.running.set(worker, job);
      const { batch } = job;
      // The records' bytes move to the worker; lines and numbers stay here too (the results are taken here).
      worker.postMessage({ id: job.id, batch }, [batch.bytes.buffer as ArrayBuffer]);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const job of [...this.running.values(), ...this.queue.splice(0)]) job.reject(error);
    this.running.clear();
  }

  /** Stops every worker; jobs not finished are refused. */
  async close(): Promise<void> {
    this.fail(new Error("the record workers were closed"));
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
