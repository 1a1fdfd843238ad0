/**
 * Approvals and decisions. A running release waits for its approval (`waitForApproval`: the record watched until
 * the gate is approved, within the environment's approval timeout); any process decides by writing the record
 * (`decide`), and only when an engine holds the environment's Lease for that release: a decision nobody would act
 * on is NOT_RUNNING, never success for nothing.
 */
import { timeoutSignal } from "./clock.js";
import { type DecisionOptions, type EngineContext, type Running, updateRun } from "./engine-context.js";
import { ReleaseError } from "./errors.js";
import type { ApprovalGate } from "./events.js";
import { leaseHolder } from "./lock.js";
import { getRecord, type ReleaseRecord, TERMINAL_STATES, waitForRecord } from "./records.js";

/** Waits until `gate` is approved on the release's record (at once if it already is). */
export async function waitForApproval(ctx: EngineContext, run: Running, gate: ApprovalGate): Promise<void> {
  const existing = run.record.approvals.find((a) => a.gate === gate);
  if (existing) return;
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
    const record = await waitForRecord(
      ctx.api,
      run.record.namespace,
      run.record.id,
      (r) => r.approvals.some((a) => a.gate === gate),
      timeout.signal,
    );
    run.record = record;
    const approval = record.approvals.find((a) => a.gate === gate);
    run.emit("approved", `${gate} approved by ${approval?.by}`, { gate });
  } catch (error) {
    if (timeout.signal.aborted) throw timeout.signal.reason;
    throw error;
  } finally {
    timeout.cancel();
  }
}

/** Writes a decision on a release that is not finished and that an engine runs now. */
export async function decide(
  ctx: EngineContext,
  release: string,
  o: DecisionOptions,
  change: (r: ReleaseRecord) => ReleaseRecord,
): Promise<ReleaseRecord> {
  const record = await getRecord(ctx.api, o.namespace ?? ctx.client.namespace, release);
  if (TERMINAL_STATES.includes(record.state))
    throw new ReleaseError("INVALID_STATE", `release "${release}" is already ${record.state}`, { release });
  // A decision only counts if an engine is there to act on it: never success for nothing.
  const holder = await leaseHolder(ctx.api, record.namespace, record.environment, ctx.clock.now());
  if (holder?.release !== release)
    throw new ReleaseError(
      "NOT_RUNNING",
      `release "${release}" is ${record.state} but no engine runs it (engine ${record.engine} stopped renewing the Lease of environment "${record.environment}"); nothing was decided: run \`rollway recover ${record.environment}\` to take it over (it resumes the release, or with --rollback puts every component back), then decide again`,
      { release, environment: record.environment },
    );
  return updateRun(ctx, record, change);
}

/** Records an approval of `gate` (once: a second approval changes nothing). */
export const approve = (ctx: EngineContext, release: string, o: DecisionOptions & { gate?: ApprovalGate }) => {
  const gate = o.gate ?? "promotion";
  return decide(ctx, release, o, (r) =>
    r.approvals.some((a) => a.gate === gate)
      ? r
      : { ...r, approvals: [...r.approvals, { gate, by: o.by, at: ctx.iso() }] },
  );
};

/** Asks the engine running the release to abort it (the first request is kept). */
export const requestAbort = (ctx: EngineContext, release: string, o: DecisionOptions) =>
  decide(ctx, release, o, (r) => ({ ...r, abortRequested: r.abortRequested ?? { by: o.by, at: ctx.iso() } }));
