/**
 * Promotion of every changed component together: one promote per Rollout or Canary that is not promoted yet (a
 * Deployment rolled out already), then each one waited for until it is healthy with the new version stable.
 */
import { isHealthy } from "@rollway/rollout-client";
import { statusesOnce } from "./cluster-state.js";
import { type EngineContext, type Running, targetOf } from "./engine-context.js";
import { changedComponents } from "./plan.js";
import { waitComponent } from "./waits.js";

export async function promoteAll(ctx: EngineContext, run: Running): Promise<void> {
  const { client } = ctx;
  const p = run.record.plan;
  const changed = changedComponents(p);
  const statusOf = statusesOnce(client, p.namespace);
  await Promise.all(
    changed.map(async (c) => {
      const t = await targetOf(ctx, run, c);
      if (t.kind === "Deployment") return; // a Deployment rolled out already: nothing to promote
      const status = await statusOf(t);
      const promoted =
        isHealthy(status) &&
        (status.stableImages ?? []).some((i) => i.container === c.container && i.image === c.image.to);
      if (!promoted) await client.promote(t, { full: c.strategy === "canary" });
    }),
  );
  await Promise.all(
    changed.map(async (c) => {
      await waitComponent(
        ctx,
        run,
        c,
        (s) =>
          isHealthy(s) &&
          (s.stableImages ?? s.images).some((i) => i.container === c.container && i.image === c.image.to),
        p.promotion.readyTimeoutSeconds,
        "promotion",
      );
      run.emit("component-promoted", `${c.name}: ${c.image.to} now serves users`, { component: c.name });
    }),
  );
}
