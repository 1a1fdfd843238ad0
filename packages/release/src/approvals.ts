/**
 * Approvals and decisions. A running release waits for its approval (`waitForApproval`: the run's one watch on its
 * record, decisions.ts, until the gate is approved and acknowledged, within the environment's approval timeout);
 * any process decides by writing the record (`decide`), and only when an engine holds the environment's Lease for
 * that release, and then waits until that engine acknowledged the decision: a decision nobody acts on is
 * NOT_RUNNING (taken back off the record), never success for nothing.
 */
import { timeoutSignal } from "./clock.js";
import {
  acknowledged,
  acknowledgeNow,
  awaitAcknowledgement,
  type Decision,
  type DecisionWatch,
  notRunning,
  readLease,
  runsRelease,
} from "./decisions.js";
import { type DecisionOptions, type EngineContext, type Running, updateRun } from "./engine-context.js";
import { ReleaseError } from "./errors.js";
import type { ApprovalGate } from "./events.js";
import { getRecord, type ReleaseRecord, TERMINAL_STATES } from "./records.js";

/** Waits until `gate` is approved and acknowledged by this engine (at once if it already is). */
export async function waitForApproval(
  ctx: EngineContext,
  run: Running,
  gate: ApprovalGate,
  decisions: DecisionWatch,
): Promise<void> {
  // An approval already on the record that the run's watch has not acknowledged yet is acknowledged here.
  if (run.record.approvals.some((a) => a.gate === gate && !a.ackedAt))
    run.record = await acknowledgeNow(ctx, run.record);
  if (decisions.approval(gate) || run.record.approvals.some((a) => a.gate === gate && a.ackedAt)) return;
  // A run its caller gave up on (or timed out) just before this gate ends here, waiting for nobody.
  run.signal.throwIfAborted();
  const previewUrl = `https://${run.record.plan.previewHost}/`;
  run.emit(
    "waiting-for-approval",
    `waiting for approval of ${gate}: test at ${previewUrl}, then run \`rollway ${gate === "promotion" ? "promote" : "approve --gate code-as-data"} ${run.record.id}\``,
    { gate, previewUrl },
  );
  const seconds = run.record.plan.promotion.approvalTimeoutSeconds;
  const timeout = timeoutSignal(
    ctx.clock,
    seconds === undefined ? undefined : seconds * 1000,
    run.signal,
    () => new ReleaseError("FAILED", `nobody approved ${gate} within ${seconds} s`, { release: run.record.id }),
  );
  try {
    const record = await decisions.approved(gate, timeout.signal);
    const approval = record.approvals.find((a) => a.gate === gate);
    run.emit("approved", `${gate} approved by ${approval?.by}`, { gate });
  } catch (error) {
    if (timeout.signal.aborted) throw timeout.signal.reason;
    throw error;
  } finally {
    timeout.cancel();
  }
}

const alreadyEnded = (record: ReleaseRecord) =>
  new ReleaseError("INVALID_STATE", `release "${record.id}" is already ${record.state}`, { release: record.id });

/**
 * Writes a decision on a release that is not finished and that an engine runs now, then waits until that engine
 * acknowledged it (decisions.ts). A decision already acknowledged returns at once.
 */
export async function decide(
  ctx: EngineContext,
  release: string,
  o: DecisionOptions,
  decision: Decision,
  change: (r: ReleaseRecord) => ReleaseRecord,
): Promise<ReleaseRecord> {
  const record = await getRecord(ctx.api, o.namespace ?? ctx.client.namespace, release);
  if (TERMINAL_STATES.includes(record.state)) throw alreadyEnded(record);
  // A decision only counts if an engine is there to act on it: never success for nothing.
  const lease = await readLease(ctx, record.namespace, record.environment);
  if (!runsRelease(lease, release, ctx.clock.now())) throw notRunning(record);
  const written = await updateRun(ctx, record, (r) => {
    if (TERMINAL_STATES.includes(r.state)) throw alreadyEnded(r);
    return change(r);
  });
  if (acknowledged(written, decision)) return written;
  return awaitAcknowledgement(ctx, written, decision, lease, o);
}

/** Records an approval of `gate` (once: a second approval changes nothing) and waits for the engine to take it. */
export const approve = (ctx: EngineContext, release: string, o: DecisionOptions & { gate?: ApprovalGate }) => {
  const gate = o.gate ?? "promotion";
  return decide(ctx, release, o, { kind: "approval", gate }, (r) =>
    r.approvals.some((a) => a.gate === gate)
      ? r
      : { ...r, approvals: [...r.approvals, { gate, by: o.by, at: ctx.iso() }] },
  );
};

/** Asks the engine running the release to abort it (the first request is kept) and waits for it to take it. */
export const requestAbort = (ctx: EngineContext, release: string, o: DecisionOptions) =>
  decide(ctx, release, o, { kind: "abort" }, (r) =>
    r.abortRequested ? r : { ...r, abortRequested: { by: o.by, at: ctx.iso() } },
  );
