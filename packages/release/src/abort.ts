/**
 * Abort: every touched component back to exactly what it served before the release (its whole template, config
 * volume included), promoted back at once, so an abort never leaves a preview that waits. A Flagger Canary is rolled
 * back by Flagger (its rollback gate) unless it was promoted already. Components that cannot get back in time are
 * returned, for the release to end `failed` naming them.
 */
import { isHealthy, type WorkloadStatus } from "@rollway/rollout-client";
import { timeoutSignal } from "./clock.js";
import { type EngineContext, type Running, targetOf } from "./engine-context.js";
import { ReleaseError } from "./errors.js";
import type { ComponentPlan } from "./plan.js";
import { imagesOf, readServed, templateKey } from "./served.js";
import { waitComponent } from "./waits.js";

/** Going back is the one thing that must not give up early: at least this long, whatever the ready timeout. */
export const MIN_ABORT_SECONDS = 60;

/**
 * Every touched component back to exactly what it served before the release (its whole template, config volume
 * included), promoted back at once: an abort never leaves a preview that waits. Components whose writes keep
 * failing, or that do not get back within the ready timeout, are returned: the release then ends `failed`
 * naming them.
 */
export async function abortAll(
  ctx: EngineContext,
  run: Running,
  components: ComponentPlan[],
): Promise<{ component: string; why: string }[]> {
  const p = run.record.plan;
  // A fresh deadline (the run's own signal may be the reason we are aborting), generous: going back is the one
  // thing that must not give up early, yet it ends, so that a release never stays `aborting`.
  const abortSeconds = Math.max(p.promotion.readyTimeoutSeconds, MIN_ABORT_SECONDS);
  const deadline = timeoutSignal(
    ctx.clock,
    abortSeconds * 1000,
    undefined,
    () =>
      new ReleaseError("FAILED", `the components did not return to stable within ${abortSeconds} s`, {
        release: run.record.id,
      }),
  );
  const left: { component: string; why: string }[] = [];
  try {
    await Promise.all(
      components.map(async (c) => {
        try {
          await abortComponent(ctx, run, c, deadline.signal);
        } catch (error) {
          left.push({ component: c.name, why: (error as Error).message });
        }
      }),
    );
  } finally {
    deadline.cancel();
  }
  return left;
}

async function abortComponent(
  ctx: EngineContext,
  run: Running,
  c: ComponentPlan,
  deadline: AbortSignal,
): Promise<void> {
  const { client, api, writer } = ctx;
  const p = run.record.plan;
  const t = await targetOf(ctx, run, c);
  const before = run.record.servedBefore?.[c.name];
  const oldImage = before ? imagesOf(before)[c.container] : c.image.from;
  const servingOld = (s: WorkloadStatus) =>
    (s.stableImages ?? (s.kind === "Deployment" ? s.images : [])).some(
      (i) => i.container === c.container && i.image === oldImage,
    );
  if (t.kind === "Canary") {
    const now = await client.status(t);
    if (servingOld(now) && (now.phase === "Aborted" || isHealthy(now))) {
      // The primary never changed (aborted in analysis) or already serves the old version again.
    } else if (now.stableImages?.some((i) => i.container === c.container && i.image === c.image.to)) {
      // Promoted already: the old template back on the target, which Flagger promotes (gates opened).
      if (before) await writer.put(t, before);
      else await writer.write(t, c, oldImage, undefined);
      await client.gate(t, "confirm-promotion", "open").catch(() => undefined);
      await waitComponent(
        ctx,
        run,
        c,
        (s) => isHealthy(s) && servingOld(s),
        Math.max(p.promotion.readyTimeoutSeconds, MIN_ABORT_SECONDS),
        "the stable version",
        deadline,
      );
    } else {
      // Flagger's own rollback: the rollback gate makes it fail the analysis and keep the primary (the stable
      // version) serving; the target keeps the failed spec at zero replicas until the next release, as in Flagger.
      await client.abort(t);
      await waitComponent(
        ctx,
        run,
        c,
        (s) => s.phase === "Aborted" && servingOld(s),
        Math.max(p.promotion.readyTimeoutSeconds, MIN_ABORT_SECONDS),
        "Flagger's rollback",
        deadline,
      );
    }
    await client.gate(t, "rollback", "close");
    run.emit("component-aborted", `${c.name}: rolled back by Flagger, the primary serves ${oldImage}`, {
      component: c.name,
    });
    return;
  }
  const replicas = run.record.scaledDown?.[c.name];
  const status = await client.status(t);
  // Promoted already (the stable version is the release's): the old template comes back as a new version that
  // is promoted in full at once, the new one serving until the old is ready.
  let promoted = false;
  if (t.kind === "Rollout") {
    const now = before ? await readServed(api, t, status) : undefined;
    promoted = before ? !now || templateKey(now.template) !== templateKey(before) : !servingOld(status);
  }
  if (t.kind === "Rollout" && !promoted) await client.abort(t);
  if (before) await writer.put(t, before, replicas);
  else {
    const config = c.config?.from.configMap
      ? { configMap: c.config.from.configMap, mountPath: c.config.mountPath }
      : undefined;
    await writer.write(t, c, oldImage, config, replicas);
  }
  if (t.kind === "Rollout") {
    if (promoted) await client.promote(t, { full: true });
    else await client.retry(t);
  }
  await waitComponent(
    ctx,
    run,
    c,
    (s) => isHealthy(s) && servingOld(s),
    Math.max(p.promotion.readyTimeoutSeconds, MIN_ABORT_SECONDS),
    "the stable version",
    deadline,
  );
  if (before) {
    // Config is part of what is served: the template users get now must be the one they had, byte for byte.
    const now = await readServed(api, t, await client.status(t));
    if (now && templateKey(now.template) !== templateKey(before))
      throw new ReleaseError("FAILED", `${c.name}: serves ${oldImage} again but not the template it had before`, {
        component: c.name,
        release: run.record.id,
      });
  }
  run.emit("component-aborted", `${c.name}: back on ${oldImage}`, { component: c.name });
}
