/**
 * How a run that met an error ends: the error becomes the release's reason (a cluster error keeps the cluster's
 * code: FORBIDDEN, UNAVAILABLE…), every component the run touched goes back (abort.ts), and the record ends
 * `aborted`, `failed` or timed out, or `failed` with `leftover` and the command that finishes it when some
 * component could not get back. An engine that lost the Lease touches nothing: another engine owns the release.
 */
import { RolloutClientError, type RolloutClientErrorCode } from "@rollway/rollout-client";
import { abortAll } from "./abort.js";
import { type EngineContext, type Running, step } from "./engine-context.js";
import { ReleaseError, type ReleaseErrorCode } from "./errors.js";
import type { HeldLease } from "./lock.js";
import type { ComponentPlan } from "./plan.js";
import { TERMINAL_STATES } from "./records.js";

/** The cluster's codes that a release met mid-run keeps at the top (NOT_FOUND and TIMEOUT mean other things here). */
const CLUSTER_CODES: ReadonlySet<string> = new Set<(RolloutClientErrorCode & ReleaseErrorCode) | "CLUSTER">([
  "FORBIDDEN",
  "CONFLICT",
  "ALREADY_EXISTS",
  "GONE",
  "INVALID",
  "UNAVAILABLE",
  "CLUSTER",
]);
const isClusterCode = (code: string): code is ReleaseErrorCode => CLUSTER_CODES.has(code);
/** The codes a run ends with once its components are back (or left as its record says). */
export const RUN_END_CODES: ReadonlySet<string> = new Set(["FAILED", "ABORTED", "TIMEOUT", ...CLUSTER_CODES]);

/** Ends a run that met `error`; always throws (the release's ReleaseError, or `error` itself when it must). */
export async function endAfterFailure(
  ctx: EngineContext,
  r: Running,
  error: unknown,
  run: { lease: HeldLease; resumed: boolean; changed: ComponentPlan[] },
): Promise<never> {
  const { lease, resumed, changed } = run;
  const record = r.record;
  const p = record.plan;
  // Another engine owns the release now: touching the components would fight it.
  if (error instanceof ReleaseError && error.code === "LOCKED") throw error;
  // Promoted is final: a later step failing (recording the release it rolls back) must not undo it.
  if (TERMINAL_STATES.includes(r.record.state)) throw error;
  // A cluster error keeps the cluster's code (FORBIDDEN, UNAVAILABLE…) as the release's code, never FAILED.
  const reason =
    error instanceof ReleaseError
      ? error
      : new ReleaseError(
          error instanceof RolloutClientError && isClusterCode(error.code) ? error.code : "FAILED",
          (error as Error).message,
          { release: record.id, cause: error },
        );
  const aborted = reason.code === "ABORTED";
  const timedOut = reason.code === "TIMEOUT";
  // An engine that lost the Lease must not touch the components: another release may run on them now.
  if (!(await lease.stillHeld().catch(() => true)))
    throw new ReleaseError(
      "LOCKED",
      `release ${record.id} lost the Lease of environment "${p.environment}" while aborting (${reason.message}); the engine that took it over finishes it`,
      { release: record.id, environment: p.environment, cause: error },
    );
  r.emit("aborting", `aborting: ${reason.message}; every component goes back to what it served before`);
  try {
    if (r.record.state !== "aborting")
      await step(ctx, r, aborted ? "abort-requested" : timedOut ? "timed-out" : "fault", { message: reason.message });
  } catch {
    // Recording is best effort here: restoring the components matters more.
  }
  const left = await abortAll(ctx, r, resumed ? changed : changed.filter((c) => r.touched.has(c.name)));
  if (left.length > 0) {
    const names = left.map((x) => x.component);
    const message = `${reason.message}; the abort could not bring back ${left.map((x) => `${x.component} (${x.why})`).join(", ")}: once the cluster accepts the writes, run \`rollway rollback ${record.id}\` to put ${names.join(", ")} back`;
    await step(ctx, r, "write-refused", { finishedAt: ctx.iso(), message, leftover: names }).catch(() => undefined);
    r.emit("failed", `release ${record.id} failed: ${message}`, { code: "FAILED" });
    throw new ReleaseError("FAILED", `release ${record.id} failed and is not fully rolled back: ${message}`, {
      release: record.id,
      environment: p.environment,
      component: names[0] as string,
      cause: error,
    });
  }
  const end = aborted ? "aborted" : "failed";
  const code: ReleaseErrorCode = aborted
    ? "ABORTED"
    : timedOut
      ? "TIMEOUT"
      : isClusterCode(reason.code)
        ? reason.code
        : "FAILED";
  await step(ctx, r, aborted ? "restored-after-abort" : "restored-after-failure", {
    finishedAt: ctx.iso(),
    message: reason.message,
  });
  r.emit(end, `release ${record.id} ${end}: ${reason.message}; every component is on its previous version`, {
    code,
  });
  throw new ReleaseError(
    code,
    `release ${record.id} ${timedOut ? "timed out" : end} and was rolled back: ${reason.message}`,
    {
      release: record.id,
      environment: p.environment,
      ...(reason.component ? { component: reason.component } : {}),
      cause: error,
    },
  );
}
