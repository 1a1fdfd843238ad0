/**
 * The run loop: one recorded release driven while this engine holds the environment's Lease. Hooks, every changed
 * component rolled out (component-update.ts) and waited for in preview (waits.ts), code as data, the approvals
 * (approvals.ts), then every component promoted together (promotion.ts) and old ConfigMaps collected. The caller's
 * signal, the time limit and an abort written to the record by any process stop the run, and then run-end.ts puts
 * every touched component back. A resumed run (taken over after its engine died) picks up at its record's state.
 */
import { setMaxListeners } from "node:events";
import type { Target } from "@rollway/rollout-client";
import { waitForApproval } from "./approvals.js";
import { updateComponent } from "./component-update.js";
import { acknowledgeNow, type DecisionWatch, followDecisions } from "./decisions.js";
import { type ApplyOptions, type EngineContext, type Running, step, updateRun } from "./engine-context.js";
import { ReleaseError } from "./errors.js";
import { collectReleaseConfigMaps } from "./gc.js";
import { transition } from "./lifecycle.js";
import type { HeldLease } from "./lock.js";
import { changedComponents } from "./plan.js";
import { promoteAll } from "./promotion.js";
import { getRecord, type ReleaseRecord } from "./records.js";
import { endAfterFailure } from "./run-end.js";
import { watchStuckPods } from "./stuck.js";
import { isReadyFor, runJob, waitComponent } from "./waits.js";

/** Runs (or resumes) a recorded release while holding the Lease. */
export async function runRelease(
  ctx: EngineContext,
  record: ReleaseRecord,
  lease: HeldLease,
  options: ApplyOptions,
  resumed: boolean,
  configsCreated: string[] = [],
  targets = new Map<string, Target>(),
): Promise<ReleaseRecord> {
  const p = record.plan;
  ctx.active.add(record.id);
  const controller = new AbortController();
  // Every component's wait listens on the run's signal: 50 backends are 50 listeners, not a leak.
  setMaxListeners(0, controller.signal);
  // A caller's reason that is a ReleaseError (a TIMEOUT) is kept as the release's reason.
  const onCaller = () =>
    controller.abort(
      options.signal?.reason instanceof ReleaseError
        ? options.signal.reason
        : new ReleaseError("ABORTED", "the release was cancelled by its caller", { release: record.id }),
    );
  if (options.signal?.aborted) onCaller();
  options.signal?.addEventListener("abort", onCaller, { once: true });
  const limit =
    options.timeoutSeconds === undefined
      ? undefined
      : ctx.clock.setTimer(options.timeoutSeconds * 1000, () =>
          controller.abort(
            new ReleaseError("TIMEOUT", `timed out: the release did not finish within ${options.timeoutSeconds} s`, {
              release: record.id,
            }),
          ),
        );
  const emit: Running["emit"] = (type, message, extra = {}) =>
    options.onEvent?.({ type, release: record.id, environment: p.environment, at: ctx.iso(), message, ...extra });
  const stuckSeen = new Set<string>();
  const r: Running = {
    record,
    signal: controller.signal,
    targets,
    touched: new Set(),
    emit,
    stuck: ({ component, reason, message }) => {
      const key = `${component}\u0000${reason}`;
      if (stuckSeen.has(key)) return;
      stuckSeen.add(key);
      emit("component-stuck", message, { component, reason });
    },
  };
  // Any process can decide (approve a gate, ask for an abort) by writing the record: one watch for the whole run
  // acknowledges every decision as soon as it is seen (decisions.ts), and the run acts on acknowledged ones only.
  const watchAbort = new AbortController();
  const decisions = followDecisions(ctx, record, AbortSignal.any([watchAbort.signal, controller.signal]), (x) =>
    controller.abort(new ReleaseError("ABORTED", `aborted by ${x.by}`, { release: record.id })),
  );
  const changed = changedComponents(p);
  // Why a new version does not get ready (a crash loop, an image that cannot be pulled), while the run lasts.
  void watchStuckPods(ctx.api, p.namespace, changed, r.stuck, watchAbort.signal);
  try {
    if (resumed) r.emit("resumed", `resuming release ${record.id} (was ${record.state}) after its engine stopped`);
    else r.emit("started", `release ${record.id} to ${p.environment}: ${changed.length} component(s) change`);
    for (const name of configsCreated) r.emit("config-created", `ConfigMap ${name} created`);
    // What was decided before this engine ran it (a takeover): acknowledged first, then acted on.
    const decided = await acknowledgeNow(ctx, r.record);
    r.record = decided;
    if (decided.state === "aborting" || decided.abortRequested)
      throw new ReleaseError(
        "ABORTED",
        `abort was requested${decided.abortRequested ? ` by ${decided.abortRequested.by}` : ""}`,
        { release: record.id },
      );
    if (decided.state === "applying" || decided.state === "waiting-for-approval")
      await previewAndApprove(ctx, r, lease, resumed, decisions);
    await promoteAndFinish(ctx, r);
    return r.record;
  } catch (error) {
    return await endAfterFailure(ctx, r, error, { lease, resumed, changed });
  } finally {
    limit?.cancel();
    ctx.active.delete(record.id);
    watchAbort.abort();
    options.signal?.removeEventListener("abort", onCaller);
    await lease.release().catch(() => undefined);
  }
}

/** Hooks, every component rolled out and ready in preview, code as data, then the approvals the plan asks for. */
async function previewAndApprove(
  ctx: EngineContext,
  r: Running,
  lease: HeldLease,
  resumed: boolean,
  decisions: DecisionWatch,
): Promise<void> {
  const p = r.record.plan;
  const changed = changedComponents(p);
  if (!resumed) {
    for (const hook of p.hooks.preRelease) {
      r.emit("hook-started", `pre-release Job ${hook.name} started`);
      await runJob(ctx, r, hook.name, hook.job, hook.timeoutSeconds);
      r.emit("hook-done", `pre-release Job ${hook.name} completed`);
    }
  }
  await Promise.all(changed.map((c) => updateComponent(ctx, r, c)));
  await Promise.all(
    changed.map(async (c) => {
      await waitComponent(ctx, r, c, isReadyFor(c, c.image.to), p.promotion.readyTimeoutSeconds, "preview ready");
      const previewUrl = c.target.kind === "Deployment" ? undefined : `https://${p.previewHost}/`;
      r.emit(
        "preview-ready",
        `${c.name}: ${c.image.to} ready${previewUrl ? ` in preview at ${previewUrl}` : " (rolled out)"}`,
        { component: c.name, ...(previewUrl ? { previewUrl } : {}) },
      );
    }),
  );
  r.emit("previews-ready", `every preview is ready at https://${p.previewHost}/`, {
    previewUrl: `https://${p.previewHost}/`,
  });
  if (p.codeAsData) {
    if (p.codeAsData.updateMode === "manual") await waitForApproval(ctx, r, "code-as-data", decisions);
    r.emit(
      "code-as-data-started",
      `code as data: Job from ${p.codeAsData.image}${p.codeAsData.args.length ? ` ${p.codeAsData.args.join(" ")}` : ""}`,
    );
    await runJob(ctx, r, "code-as-data", p.codeAsData.job, p.codeAsData.timeoutSeconds);
    r.emit("code-as-data-done", "code as data deployed");
  }
  if (p.promotion.mode === "manual") {
    if (r.record.state !== "waiting-for-approval") await step(ctx, r, "previews-ready");
    await waitForApproval(ctx, r, "promotion", decisions);
  }
  // Only the holder of the Lease may promote: an engine that stalled past it has been replaced.
  if (!(await lease.stillHeld())) {
    throw new ReleaseError(
      "LOCKED",
      `release ${r.record.id} lost the Lease of environment "${p.environment}" (this engine stopped renewing it in time); the engine that took it over resumes or rolls back the release`,
      { release: r.record.id, environment: p.environment },
    );
  }
  await step(ctx, r, "approved");
}

/** Every component promoted together, the record promoted (and the releases it rolls back marked), then GC. */
async function promoteAndFinish(ctx: EngineContext, r: Running): Promise<void> {
  const p = r.record.plan;
  const id = r.record.id;
  const changed = changedComponents(p);
  r.emit("promoting", `promoting ${changed.length} component(s) together`);
  await promoteAll(ctx, r);
  const oConfigCurrent: Record<string, string> = {};
  for (const c of p.components) if (c.config) oConfigCurrent[c.name] = c.config.to.version;
  await step(ctx, r, "all-healthy-new", { finishedAt: ctx.iso(), oConfigCurrent });
  if (r.record.rollbackOf) {
    // The release rolled back and every newer one it was told to undo: none of them serves any more.
    for (const of of [r.record.rollbackOf, ...(r.record.undoes ?? [])]) {
      await updateRun(ctx, await getRecord(ctx.api, p.namespace, of), (x) => ({
        ...x,
        state: transition(x.state, "rolled-back", x.id).next,
        message: `rolled back by ${r.record.id}`,
      }));
    }
  }
  r.emit("upgrade-done", `release ${id} promoted: ${changed.map((c) => c.name).join(", ") || "nothing changed"}`);
  // The release is done: failing to tidy up old ConfigMaps must not turn it into a failure, but is reported.
  await collectReleaseConfigMaps(ctx.api, p.namespace, r.record.environment, ctx.keepReleases, (message) =>
    r.emit("configs-collected", message),
  ).catch((error: Error) => r.emit("warning", `old oConfig ConfigMaps were not collected: ${error.message}`));
}
