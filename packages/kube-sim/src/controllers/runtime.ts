/**
 * The controller runtime: a work queue fed by store changes and clock timers, drained one reconcile at a time so
 * that a run is deterministic for a given sequence of API calls and clock moves.
 *
 * A reconcile that waits on the outside world (a webhook, a metrics query: anything still pending once the
 * microtask queue is empty) is parked: the queue moves on to other keys while it waits, and that key alone is held
 * back until it finishes, as each object has its own worker in client-go's work queue. A reconcile that only reads
 * and writes the store never parks, so in-memory runs stay deterministic. `settle()` waits for parked ones too.
 *
 * A controller names the kind it reconciles (`for`), the kinds it creates and owns (`owns`: a change to one of
 * them enqueues its controlling owner), and any other kinds it watches with a mapping to keys. `reconcile` may
 * ask to be called again after some clock time (`requeueAfterMs`), which is how waits (readiness delays,
 * deadlines, pauses) are written: never with real sleeps.
 */
import type { Clock, TimerHandle } from "../clock.js";
import type { KubeObject } from "../crds.js";
import { KubeApiError } from "../errors.js";
import type { Faults } from "../faults.js";
import { splitApiVersion } from "../resources.js";
import type { Store, StoreEvent } from "../store.js";

export interface ObjectKey {
  namespace?: string;
  name: string;
}

export interface KindRef {
  apiVersion: string;
  kind: string;
}

/** Behaviour knobs shared by the built-in controllers. */
export interface SimTiming {
  /** How long a started container takes to pass its readiness probe. */
  readyDelayMs: number;
  /** How long a pod of a Job (or any pod with restartPolicy Never/OnFailure) runs before it exits. */
  jobRunMs: number;
  /** How long between restarts of a crashing container (CrashLoopBackOff). */
  crashBackoffMs: number;
  /** How long a deleted pod stays Terminating before it is gone (capped by its grace period). */
  terminationDelayMs: number;
}

export interface ControllerContext {
  store: Store;
  clock: Clock;
  faults: Faults;
  timing: SimTiming;
  /** Writes a core/v1 Event about `obj`, as `kubectl describe` shows them. */
  recordEvent(obj: KubeObject, type: "Normal" | "Warning", reason: string, message: string, component: string): void;
}

export interface ReconcileResult {
  /** Reconcile this key again once this much clock time has passed. */
  requeueAfterMs?: number;
}

export interface Controller {
  name: string;
  for: KindRef;
  owns?: KindRef[];
  watches?: { ref: KindRef; map: (obj: KubeObject) => ObjectKey[] }[];
  reconcile(ctx: ControllerContext, key: ObjectKey): ReconcileResult | undefined | Promise<ReconcileResult | undefined>;
}

/** Identity helper that gives a controller literal its type. */
export function defineController(controller: Controller): Controller {
  return controller;
}

export class ControllerError extends Error {
  override readonly name = "ControllerError";
  constructor(
    readonly controller: string,
    readonly key: ObjectKey,
    cause: unknown,
  ) {
    super(
      `controller ${controller} failed to reconcile ${key.namespace ? `${key.namespace}/` : ""}${key.name}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}

interface QueueItem {
  controller: Controller;
  key: ObjectKey;
}

const MAX_RECONCILES_PER_SETTLE = 20_000;
const MAX_QUICK_RETRIES = 5;

function sameKind(obj: KubeObject, ref: KindRef): boolean {
  return obj.kind === ref.kind && splitApiVersion(obj.apiVersion).group === splitApiVersion(ref.apiVersion).group;
}

function itemId(c: Controller, key: ObjectKey): string {
  return `${c.name}\u0000${key.namespace ?? ""}\u0000${key.name}`;
}

export class ControllerRuntime {
  private readonly queue = new Map<string, QueueItem>();
  private readonly timers = new Map<string, { at: number; handle: TimerHandle }>();
  private readonly failures = new Map<string, number>();
  private readonly errors: ControllerError[] = [];
  private draining: Promise<void> | undefined;
  /** Reconciles waiting on I/O, by item id; their keys are not run again until they finish. */
  private readonly parked = new Map<string, Promise<void>>();
  private scheduled = false;
  private closed = false;
  private readonly unsubscribe: () => void;
  private readonly onError: (error: ControllerError) => void;

  constructor(
    readonly controllers: Controller[],
    private readonly ctx: ControllerContext,
    options: { onError?: (error: ControllerError) => void } = {},
  ) {
    this.onError = options.onError ?? (() => {});
    this.unsubscribe = ctx.store.subscribe((e) => this.onChange(e));
    for (const c of controllers) {
      const type = ctx.store.types.byKind(c.for.apiVersion, c.for.kind);
      if (!type) continue;
      for (const o of ctx.store.listRaw(type, undefined).items) this.enqueue(c, keyOf(o));
    }
  }

  /** Enqueues every object of every controller's kind, as after a resync (used when faults change). */
  resync(kind?: KindRef): void {
    for (const c of this.controllers) {
      if (kind && !(c.for.kind === kind.kind && c.for.apiVersion === kind.apiVersion)) continue;
      const type = this.ctx.store.types.byKind(c.for.apiVersion, c.for.kind);
      if (!type) continue;
      for (const o of this.ctx.store.listRaw(type, undefined).items) this.enqueue(c, keyOf(o));
    }
  }

  enqueue(controller: Controller, key: ObjectKey): void {
    if (this.closed) return;
    const id = itemId(controller, key);
    if (!this.queue.has(id)) this.queue.set(id, { controller, key });
    this.schedule();
  }

  /**
   * Runs controllers until the queue is empty at the current clock time. Throws the first reconcile error that
   * happened since the last settle (a failing controller is a bug the test should see).
   */
  async settle(): Promise<void> {
    for (;;) {
      if (this.draining) await this.draining;
      if (this.hasRunnable()) {
        await this.drain();
        continue;
      }
      if (this.parked.size === 0 || this.closed) break;
      await Promise.race(this.parked.values());
    }
    const error = this.errors.shift();
    this.errors.length = 0;
    if (error) throw error;
  }

  /** Clock time of the earliest pending requeue. */
  nextRequeueAt(): number | undefined {
    let best: number | undefined;
    for (const t of this.timers.values()) if (best === undefined || t.at < best) best = t.at;
    return best;
  }

  /** How many reconciles are parked waiting on I/O (a webhook, a metrics query). */
  get waiting(): number {
    return this.parked.size;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const t of this.timers.values()) t.handle.cancel();
    this.timers.clear();
    this.queue.clear();
  }

  private schedule(): void {
    if (this.scheduled || this.draining) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.draining) void this.drain();
    });
  }

  private drain(): Promise<void> {
    if (this.draining) return this.draining;
    this.draining = (async () => {
      let count = 0;
      for (;;) {
        if (this.closed) break;
        const next = this.nextRunnable();
        if (!next) break;
        const [id, item] = next;
        this.queue.delete(id);
        if (++count > MAX_RECONCILES_PER_SETTLE) {
          this.record(
            new ControllerError(
              item.controller.name,
              item.key,
              new Error(
                `no steady state after ${MAX_RECONCILES_PER_SETTLE} reconciles: a controller keeps changing objects`,
              ),
            ),
          );
          this.queue.clear();
          break;
        }
        await this.runOne(id, item);
      }
    })().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private hasRunnable(): boolean {
    return this.nextRunnable() !== undefined;
  }

  /** The oldest queued item whose key has no parked reconcile. */
  private nextRunnable(): [string, QueueItem] | undefined {
    for (const entry of this.queue) if (!this.parked.has(entry[0])) return entry;
    return undefined;
  }

  /**
   * Runs one reconcile. One that is still pending after every queued microtask has run (setImmediate fires only
   * then) waits on I/O: it is parked, and the drain goes on with other keys.
   */
  private async runOne(id: string, item: QueueItem): Promise<void> {
    let pending: ReturnType<Controller["reconcile"]>;
    try {
      pending = item.controller.reconcile(this.ctx, item.key);
    } catch (error) {
      this.failed(id, item, error);
      return;
    }
    if (!isPromiseLike(pending)) {
      this.finished(id, item, pending);
      return;
    }
    let done = false;
    const run = Promise.resolve(pending).then(
      (result) => {
        done = true;
        if (!this.closed) this.finished(id, item, result);
      },
      (error: unknown) => {
        done = true;
        if (!this.closed) this.failed(id, item, error);
      },
    );
    await Promise.race([run, new Promise<void>((resolve) => setImmediate(resolve))]);
    if (done) return;
    const parked = run.finally(() => {
      this.parked.delete(id);
      if (this.queue.size > 0) this.schedule();
    });
    this.parked.set(id, parked);
  }

  private finished(id: string, item: QueueItem, result: ReconcileResult | undefined): void {
    this.failures.delete(id);
    if (result?.requeueAfterMs !== undefined) this.requeueAfter(id, item, result.requeueAfterMs);
  }

  private failed(id: string, item: QueueItem, error: unknown): void {
    const failures = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, failures);
    if (error instanceof KubeApiError && (error.code === 409 || error.code === 404) && failures <= MAX_QUICK_RETRIES) {
      // Someone changed or removed the object meanwhile: reconcile again from fresh state, as informers do.
      // Past a few tries in a row it is no race but a bug, reported like any other error.
      this.enqueue(item.controller, item.key);
      return;
    }
    this.record(new ControllerError(item.controller.name, item.key, error));
    this.requeueAfter(id, item, Math.min(5_000 * 2 ** (failures - 1), 300_000));
  }

  private record(error: ControllerError): void {
    this.errors.push(error);
    this.onError(error);
  }

  private requeueAfter(id: string, item: QueueItem, ms: number): void {
    const at = this.ctx.clock.now() + Math.max(0, ms);
    const existing = this.timers.get(id);
    if (existing && existing.at <= at) return;
    existing?.handle.cancel();
    const handle = this.ctx.clock.setTimer(Math.max(0, ms), () => {
      this.timers.delete(id);
      this.enqueue(item.controller, item.key);
    });
    this.timers.set(id, { at, handle });
  }

  private onChange(e: StoreEvent): void {
    for (const c of this.controllers) {
      if (sameKind(e.object, c.for)) this.enqueue(c, keyOf(e.object));
      if (c.owns?.some((ref) => sameKind(e.object, ref))) {
        const owners = [e.object, e.previous].flatMap((o) => o?.metadata.ownerReferences ?? []);
        for (const ref of owners) {
          if (
            ref.controller &&
            ref.kind === c.for.kind &&
            splitApiVersion(ref.apiVersion).group === splitApiVersion(c.for.apiVersion).group
          ) {
            this.enqueue(c, { namespace: e.object.metadata.namespace, name: ref.name });
          }
        }
      }
      for (const w of c.watches ?? [])
        if (sameKind(e.object, w.ref)) for (const key of w.map(e.object)) this.enqueue(c, key);
    }
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | undefined)?.then === "function";
}

export function keyOf(obj: KubeObject): ObjectKey {
  return obj.metadata.namespace === undefined
    ? { name: obj.metadata.name as string }
    : { namespace: obj.metadata.namespace, name: obj.metadata.name as string };
}
