/**
 * Starting a release: the environment's Lease (waiting for it, or LOCKED; a Lease left by a dead engine makes its
 * release go back first), what every changed component serves now read from the cluster (served.ts: the plan's
 * `from` and the templates an abort puts back; NOT_STABLE when one serves two versions), the oConfig ConfigMaps,
 * then the record, and the run.
 */
import { randomBytes } from "node:crypto";
import { findTargets, hasHttpStatus, type Target } from "@rollway/rollout-client";
import type { PodTemplate } from "./cluster-state.js";
import type { ApplyOptions, EngineContext } from "./engine-context.js";
import { ReleaseError } from "./errors.js";
import { acquireLease } from "./lock.js";
import type { ReleasePlan } from "./plan.js";
import { createRecord, type ReleaseRecord } from "./records.js";
import { recoverReleases } from "./recover.js";
import { runRelease } from "./run.js";
import { listReplicaSetsOnce, readServed } from "./served.js";

/** `<environment>-<yyyymmdd-hhmmss>-<4 hex>`, on the engine's clock. */
const newId = (ctx: EngineContext, p: ReleasePlan) => {
  const t = new Date(ctx.clock.now()).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${p.environment}-${t}-${randomBytes(2).toString("hex")}`.toLowerCase();
};

export async function startRelease(
  ctx: EngineContext,
  planned: ReleasePlan,
  options: ApplyOptions,
  extra: Partial<ReleaseRecord> = {},
): Promise<ReleaseRecord> {
  const { api, clock } = ctx;
  let p = planned;
  const id = newId(ctx, p);
  const lease = await acquireLease({
    api,
    clock,
    namespace: p.namespace,
    environment: p.environment,
    holder: ctx.identity,
    release: id,
    durationSeconds: ctx.leaseSeconds,
    wait: options.waitForLock ?? false,
    signal: options.signal ?? new AbortController().signal,
    onWaiting: (holder, running) =>
      options.onEvent?.({
        type: "waiting-for-lock",
        release: id,
        environment: p.environment,
        at: ctx.iso(),
        message: `waiting for ${running ? `release ${running}` : `engine ${holder}`} to finish`,
      }),
  });
  if (lease.takenOverFrom?.release) {
    // The previous engine died mid-release: the new release supersedes it, so that one goes back to stable first.
    await lease.release();
    await recoverReleases(ctx, p.environment, { ...options, namespace: p.namespace, policy: "rollback" });
    return startRelease(ctx, p, options, extra);
  }
  // "from" is what serves users, read now that no other release can change it; a component serving two
  // versions (a preview, a rolling update) refuses the release before anything changes.
  let servedBefore: Record<string, PodTemplate>;
  let current: ReleasePlan;
  let configsCreated: string[] = [];
  const targets = new Map<string, Target>();
  try {
    ({ servedBefore, plan: current } = await readServedBefore(ctx, p, targets));
  } catch (error) {
    await lease.release().catch(() => undefined);
    throw error;
  }
  p = current;
  // The oConfig ConfigMaps exist before the record does: the record holds their names (content hashes) but not
  // their values (plan() keeps `data` out of JSON), so an engine resuming the release finds them in the cluster.
  try {
    configsCreated = await createConfigMaps(ctx, p);
  } catch (error) {
    await lease.release().catch(() => undefined);
    throw error;
  }
  const record: ReleaseRecord = {
    id,
    environment: p.environment,
    namespace: p.namespace,
    payloadDigest: p.payloadDigest,
    state: "applying",
    plan: p,
    approvals: [],
    engine: ctx.identity,
    startedAt: ctx.iso(),
    updatedAt: ctx.iso(),
    servedBefore,
    ...extra,
  };
  try {
    await createRecord(api, record);
  } catch (error) {
    await lease.release();
    throw error;
  }
  return runRelease(ctx, record, lease, options, false, configsCreated, targets);
}

/** Creates the plan's oConfig ConfigMaps (AlreadyExists is fine); returns the names it created. */
async function createConfigMaps(ctx: EngineContext, p: ReleasePlan): Promise<string[]> {
  const created: string[] = [];
  await Promise.all(
    p.configMaps.map(async (cm) => {
      if (cm.data === undefined) return; // a plan read back from JSON: the ConfigMap was created by its first run
      await ctx.api.objects.create({ ...cm, metadata: { ...cm.metadata, namespace: p.namespace }, data: cm.data }).then(
        () => created.push(cm.metadata.name),
        (error) => {
          if (!hasHttpStatus(error, 409)) throw error;
        },
      );
    }),
  );
  return created;
}

/**
 * Reads what each component the plan changes serves now (served.ts): the plan's `from` becomes exactly that,
 * and the templates are what an abort puts back. Refuses with NOT_STABLE, naming the components, when one serves
 * more than one version.
 */
async function readServedBefore(
  ctx: EngineContext,
  p: ReleasePlan,
  targets: Map<string, Target>,
): Promise<{ servedBefore: Record<string, PodTemplate>; plan: ReleasePlan }> {
  const { api, client } = ctx;
  const replicaSets = listReplicaSetsOnce(api, p.namespace);
  const servedBefore: Record<string, PodTemplate> = {};
  const unsettled: { component: string; why: string }[] = [];
  // One list of Rollouts finds every changed component's target and holds the Rollouts themselves.
  const found = await findTargets(
    api,
    p.components.filter((c) => c.changed).map((c) => c.target.name),
    p.namespace,
  );
  const listed = new Map(found.rollouts.map((r) => [r.metadata.name, r]));
  const components = await Promise.all(
    p.components.map(async (c) => {
      if (!c.changed) return c;
      // Nothing drives it (any more): rollout-client's own lookup says so with its error.
      const t = found.targets.get(c.target.name) ?? (await client.target(c.target.name, p.namespace));
      targets.set(c.name, t);
      // The listed Rollout and one shared list of ReplicaSets; rollout-client's status only for a Canary.
      const served = await readServed(api, t, t.kind === "Canary" ? await client.status(t) : undefined, {
        replicaSets,
        ...(t.kind === "Rollout" && listed.has(t.name) ? { rollout: listed.get(t.name) } : {}),
      });
      if (!served) return c;
      // A rollback finishing an abort puts a known template over whatever is there.
      if (!served.settled && !c.restore) unsettled.push({ component: c.name, why: served.unsettled ?? "not settled" });
      servedBefore[c.name] = served.template;
      const from = served.images[c.container];
      return {
        ...c,
        image: { ...c.image, from, changed: c.image.to !== from },
        ...(c.config
          ? {
              config: {
                ...c.config,
                from: { ...c.config.from, configMap: served.configMap },
                changed: c.config.to.configMap !== served.configMap,
              },
            }
          : {}),
      };
    }),
  );
  const [first] = unsettled;
  if (first)
    throw new ReleaseError(
      "NOT_STABLE",
      `environment "${p.environment}" is not stable, nothing was changed: ${unsettled.map((u) => `${u.component}: ${u.why}`).join("; ")}; wait for it to settle (or finish or abort the release that changed it) and deploy again`,
      { environment: p.environment, component: first.component, detail: first.why },
    );
  return { servedBefore, plan: { ...p, components } };
}
