/**
 * Recovery: the unfinished releases of an environment whose engine stopped renewing the Lease are taken over (the
 * takeover recorded) and resumed, or rolled back with the `rollback` policy. A live Lease, whoever holds it, this
 * engine included, is never taken: no twin engines.
 */
import { type EngineContext, type RecoverOptions, updateRun } from "./engine-context.js";
import { ReleaseError } from "./errors.js";
import { transition } from "./lifecycle.js";
import { acquireLease, type HeldLease } from "./lock.js";
import { getRecord, listRecords, type ReleaseRecord, TERMINAL_STATES } from "./records.js";
import { runRelease } from "./run.js";
import { RUN_END_CODES } from "./run-end.js";

export async function recoverReleases(
  ctx: EngineContext,
  environment: string,
  o: RecoverOptions = {},
): Promise<ReleaseRecord[]> {
  const { api, clock, active, identity } = ctx;
  const ns = o.namespace ?? ctx.client.namespace;
  const open = (await listRecords(api, ns, environment)).filter((x) => !TERMINAL_STATES.includes(x.state));
  const done: ReleaseRecord[] = [];
  for (const record of open) {
    // This engine runs it: recovering it here would make a twin engine.
    if (active.has(record.id)) continue;
    let lease: HeldLease;
    try {
      // Only an expired (or let go) Lease is taken: a live one, whoever holds it (this engine too), is left alone.
      lease = await acquireLease({
        api,
        clock,
        namespace: ns,
        environment,
        holder: identity,
        release: record.id,
        durationSeconds: ctx.leaseSeconds,
        wait: o.wait ?? false,
        signal: o.signal ?? new AbortController().signal,
      });
    } catch (error) {
      if (error instanceof ReleaseError && error.code === "LOCKED") continue; // its engine is alive
      throw error;
    }
    // While we waited, its engine may have finished it.
    const fresh = await getRecord(api, ns, record.id);
    if (TERMINAL_STATES.includes(fresh.state) || active.has(record.id)) {
      await lease.release();
      continue;
    }
    const from = lease.takenOverFrom?.holder || fresh.engine;
    const mine = await updateRun(ctx, fresh, (x) => ({
      ...x,
      state: transition(x.state, "taken-over", x.id).next,
      engine: identity,
      takeovers: [...(x.takeovers ?? []), { from, by: identity, at: ctx.iso() }],
      ...(o.policy === "rollback"
        ? { abortRequested: x.abortRequested ?? { by: `${identity} (recovery)`, at: ctx.iso() } }
        : {}),
    }));
    o.onEvent?.({
      type: "taken-over",
      release: record.id,
      environment,
      at: ctx.iso(),
      message: `engine ${identity} took release ${record.id} over from ${from}, whose Lease expired`,
    });
    try {
      done.push(await runRelease(ctx, mine, lease, o, true));
    } catch (error) {
      if (!(error instanceof ReleaseError) || !RUN_END_CODES.has(error.code)) throw error;
      done.push(await getRecord(api, ns, record.id));
    }
  }
  return done;
}
