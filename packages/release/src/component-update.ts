/**
 * Rolling a component out to the release's version: one template write (image and oConfig ConfigMap, or a whole
 * template a rollback restores), preceded for a component with migration Jobs by stopping its old pods (replicas
 * recorded first, so an abort or a takeover can give them back) and running the Jobs with the new image (seed 001).
 */
import type { WorkloadObject } from "./cluster-state.js";
import { type EngineContext, type Running, targetOf, updateRun } from "./engine-context.js";
import { workloadRef } from "./kinds.js";
import type { ComponentPlan } from "./plan.js";
import { runJob, waitComponent } from "./waits.js";

/** Stops every pod of a recreate Deployment before its migration Job runs (seed 001). */
export const scaleToZeroPatch = { spec: { replicas: 0 } };

export async function updateComponent(ctx: EngineContext, r: Running, c: ComponentPlan): Promise<void> {
  const { api, writer } = ctx;
  const p = r.record.plan;
  const config = c.config ? { configMap: c.config.to.configMap, mountPath: c.config.mountPath } : undefined;
  const migrations = p.hooks.migration.filter((m) => m.for === c.name);
  let replicas: number | undefined;
  if (migrations.length > 0) {
    replicas = r.record.scaledDown?.[c.name];
    if (replicas === undefined) {
      const object = await api.objects.get<WorkloadObject>(workloadRef(c.workload.kind, p.namespace, c.workload.name));
      replicas = object.spec.replicas ?? 1;
      const keep = replicas;
      r.record = await updateRun(ctx, r.record, (x) => ({
        ...x,
        scaledDown: { ...(x.scaledDown ?? {}), [c.name]: keep },
      }));
    }
    r.touched.add(c.name);
    await api.objects.patch(workloadRef(c.workload.kind, p.namespace, c.workload.name), scaleToZeroPatch, "merge");
    await waitComponent(
      ctx,
      r,
      c,
      (s) => s.readyReplicas === 0,
      p.promotion.readyTimeoutSeconds,
      "stopping the old pods",
    );
    for (const m of migrations) {
      r.emit("hook-started", `migration Job ${m.name} for ${c.name} started`, { component: c.name });
      await runJob(ctx, r, m.name, m.job, m.timeoutSeconds);
      r.emit("hook-done", `migration Job ${m.name} for ${c.name} completed`, { component: c.name });
    }
  }
  r.touched.add(c.name);
  const t = await targetOf(ctx, r, c);
  if (c.restore) await writer.put(t, c.restore, replicas);
  else await writer.write(t, c, c.image.to, config, replicas);
  r.emit(
    "component-updated",
    `${c.name}: ${c.image.from ?? "(none)"} → ${c.image.to}${c.config?.changed ? `, oConfig ${c.config.to.version}` : ""}`,
    { component: c.name },
  );
}
