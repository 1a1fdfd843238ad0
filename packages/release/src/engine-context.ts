/**
 * What every part of the engine shares: its connections, clock and identity, the releases it runs now, and one
 * running release's state (`Running`). The only ways a record changes (`updateRun`, `step`) and the one cache of
 * each component's rollout-client target are here, so the modules of the engine (start, run, waits, approvals,
 * promotion, abort, recover) stay functions of this context.
 */
import type { Connection, RolloutClient, Target } from "@rollway/rollout-client";
import type { Clock } from "./clock.js";
import type { OnReleaseEvent, ReleaseEvent, ReleaseEventType } from "./events.js";
import { type LifecycleEvent, transition } from "./lifecycle.js";
import type { ComponentPlan } from "./plan.js";
import { type ReleaseRecord, updateRecord } from "./records.js";
import type { StuckReport } from "./stuck.js";
import type { TemplateWriter } from "./template-writes.js";

export interface ApplyOptions {
  signal?: AbortSignal;
  onEvent?: OnReleaseEvent;
  /** Wait for a running release of the environment to finish instead of refusing with LOCKED. */
  waitForLock?: boolean;
  /**
   * Time limit of the release once it holds the Lease (engine clock): then it is rolled back, recorded as timed
   * out, and fails with TIMEOUT.
   */
  timeoutSeconds?: number;
}

export interface DecisionOptions {
  by: string;
  /** Default: the client's namespace. */
  namespace?: string;
  /** Called once when the engine running the release has not acknowledged the decision within a second. */
  onWaiting?: (waiting: { release: string; holder: string }) => void;
}

export interface RecoverOptions {
  signal?: AbortSignal;
  onEvent?: OnReleaseEvent;
  /** Finish interrupted releases (default) or roll them back to stable. */
  policy?: "resume" | "rollback";
  namespace?: string;
  /** Wait for a Lease still held to be let go or to expire (its engine died) instead of skipping the release. */
  wait?: boolean;
}

export interface EngineContext {
  client: RolloutClient;
  api: Connection;
  clock: Clock;
  /** This engine's name as Lease holder: host, process and start time. */
  identity: string;
  leaseSeconds: number;
  keepReleases: number;
  /** Releases this engine runs now: never taken over by this engine's own recovery (no twin engines). */
  active: Set<string>;
  writer: TemplateWriter;
  /** Now, on the engine's clock, as an ISO time. */
  iso(): string;
}

/** One release while this engine runs it. */
export interface Running {
  record: ReleaseRecord;
  emit: (type: ReleaseEventType, message: string, extra?: Partial<ReleaseEvent>) => void;
  signal: AbortSignal;
  targets: Map<string, Target>;
  /** Components whose pod template this run wrote (they are the ones an abort restores). */
  touched: Set<string>;
  /** Reports a stuck component once per component and reason (`component-stuck`). */
  stuck: (report: StuckReport) => void;
}

/** Reads the record again, applies `change` and writes it with its resourceVersion (records.ts). */
export const updateRun = (ctx: EngineContext, r: ReleaseRecord, change: (r: ReleaseRecord) => ReleaseRecord) =>
  updateRecord(ctx.api, r.namespace, r.id, change, ctx.iso);

/** The only way a record's state changes: through the lifecycle table (lifecycle.ts). */
export async function step(
  ctx: EngineContext,
  run: Running,
  event: LifecycleEvent,
  patch: Partial<ReleaseRecord> = {},
): Promise<void> {
  run.record = await updateRun(ctx, run.record, (r) => ({
    ...r,
    ...patch,
    state: transition(r.state, event, r.id).next,
  }));
}

/** The component's rollout-client target, found once per run. */
export async function targetOf(ctx: EngineContext, run: Running, c: ComponentPlan): Promise<Target> {
  let t = run.targets.get(c.name);
  if (!t) {
    t = await ctx.client.target(c.target.name, run.record.namespace);
    run.targets.set(c.name, t);
  }
  return t;
}
