/**
 * Driving a component's rollout and waiting for it: what "ready" means for a new version (healthy and stable on
 * it, or a Rollout/Canary paused with its preview on it), one wait on rollout-client's watch per component with a
 * time limit on the engine's clock, and the engine's Jobs run under the run's signal. A Degraded or Aborted status
 * fails the wait at once, and a workload's own stuck reason (ProgressDeadlineExceeded) is reported first.
 */
import { isHealthy, isPaused, type WorkloadStatus } from "@rollway/rollout-client";
import { timeoutSignal } from "./clock.js";
import { type EngineContext, type Running, targetOf } from "./engine-context.js";
import type { JobTemplate } from "./environment.js";
import { ReleaseError } from "./errors.js";
import { runReleaseJob } from "./jobs.js";
import type { ComponentPlan } from "./plan.js";
import { workloadStuckReason } from "./stuck.js";

/** The new version is ready: stable and healthy on it, or (not a Deployment) paused with its preview on it. */
export const isReadyFor = (c: ComponentPlan, image: string) => (s: WorkloadStatus) => {
  const stable = (s.stableImages ?? (s.kind === "Deployment" ? s.images : [])).some(
    (i) => i.container === c.container && i.image === image,
  );
  if (isHealthy(s) && stable) return true;
  return (
    c.target.kind !== "Deployment" &&
    isPaused(s) &&
    s.images.some((i) => i.container === c.container && i.image === image)
  );
};

const failed = (s: WorkloadStatus) => s.phase === "Degraded" || s.phase === "Aborted";

/** Waits for a component's status to satisfy `ready`; a Degraded/Aborted status or the timeout fails the release. */
export async function waitComponent(
  ctx: EngineContext,
  run: Running,
  c: ComponentPlan,
  ready: (s: WorkloadStatus) => boolean,
  timeoutSeconds: number,
  what: string,
  signal = run.signal,
): Promise<WorkloadStatus> {
  const t = await targetOf(ctx, run, c);
  const timeout = timeoutSignal(
    ctx.clock,
    timeoutSeconds * 1000,
    signal,
    () =>
      new ReleaseError("FAILED", `${c.name}: ${what} not reached within ${timeoutSeconds} s`, {
        component: c.name,
        release: run.record.id,
      }),
  );
  try {
    const status = await ctx.client.waitFor(t, (s) => ready(s) || failed(s), { signal: timeout.signal });
    if (!ready(status)) {
      const reason = workloadStuckReason(status);
      if (reason)
        run.stuck({
          component: c.name,
          reason,
          message: `${c.name}: ${t.kind} "${t.name}" is not getting ready: ${status.message || reason}`,
        });
      throw new ReleaseError(
        "FAILED",
        `${c.name}: ${t.kind} "${t.name}" is ${status.phase}${status.message ? `: ${status.message}` : ""}`,
        { component: c.name, release: run.record.id, resource: `${t.kind} "${t.name}"` },
      );
    }
    return status;
  } catch (error) {
    if (timeout.signal.aborted) throw timeout.signal.reason;
    throw error;
  } finally {
    timeout.cancel();
  }
}

/** Runs one of the release's Jobs (a hook, a migration, code as data) to completion under the run's signal. */
export const runJob = (ctx: EngineContext, run: Running, name: string, template: JobTemplate, timeoutSeconds: number) =>
  runReleaseJob(
    { api: ctx.api, clock: ctx.clock, release: run.record.id, namespace: run.record.namespace, signal: run.signal },
    name,
    template,
    timeoutSeconds,
  );
