// Issue #13, finding 3, the last window: a decision is success only when the engine running the release
// acknowledged it. Everything on kube-sim's manual clock (`fastClock`, or frozen and moved by the test): no sleeps.
import { describe, expect, it } from "vitest";
import type { ReleaseEngine } from "./engine.js";
import type { ReleaseError } from "./errors.js";
import type { ReleaseEvent } from "./events.js";
import { acquireLease, leaseName } from "./lock.js";
import { eventLog, NS, type ReleaseSim, releaseSimResource, seedPayload } from "./test-helpers/release-sim.js";

const BACKENDS = ["backend-1"];
const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${leaseName("demo")}`;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: ReleaseError) => e,
  );
/** The demo world with one backend, every clock on the helper's manual clock. */
const world = () => releaseSimResource({ backends: BACKENDS, fastClock: true });

/** Plans and applies the seed payload with `engine` until the run reaches the event `until`; the run goes on. */
async function runUntil(k: ReleaseSim, engine: ReleaseEngine, until: ReleaseEvent["type"]) {
  const log = eventLog();
  const running = engine.apply(await engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent });
  const { release } = await log.next(until);
  return { release, running, log };
}

describe("finding 3: a decision is success only when an engine acknowledged it", () => {
  it("finding 3: promote and abort right after the engine died (its Lease still live) wait for it, then are taken back off the record and fail NOT_RUNNING naming rollway recover", async () => {
    const k = await world();
    const dying = await k.proxiedEngine();
    const { release } = await runUntil(k, dying.engine, "waiting-for-approval");
    await dying.crash();
    const lease = await k.get(leasePath);
    expect(lease.spec.holderIdentity).toBe(dying.engine.identity);

    const waiting: { release: string; holder: string }[] = [];
    const onWaiting = (w: { release: string; holder: string }) => waiting.push(w);
    const [promote, abort] = await Promise.all([
      failure(k.engine.promote(release, { by: "alice", namespace: NS, onWaiting })),
      failure(k.engine.abort(release, { by: "bob", namespace: NS, onWaiting })),
    ]);
    for (const error of [promote, abort]) {
      expect(error?.code).toBe("NOT_RUNNING");
      expect(error?.message).toContain("rollway recover demo");
      expect(error?.message).toContain("nothing was decided");
    }
    // They said they were waiting, for whom.
    expect(waiting).toEqual([
      { release, holder: dying.engine.identity },
      { release, holder: dying.engine.identity },
    ]);
    // Nothing is left on the record for a later engine to act on.
    const after = await k.engine.get(release, NS);
    expect(after.state).toBe("waiting-for-approval");
    expect(after.approvals).toEqual([]);
    expect(after.abortRequested).toBeUndefined();
    // Once the Lease has expired, a decision is refused at once (no wait), as before.
    const late = await failure(k.engine.promote(release, { by: "alice", namespace: NS, onWaiting }));
    expect(late?.code).toBe("NOT_RUNNING");
    expect(waiting).toHaveLength(2);
  });

  it("finding 3: a promote given before the gate returns once the running engine acknowledged it (no clock time passing), a second one returns at once, and the release promotes without waiting", async () => {
    const k = await world();
    const { release, running, log } = await runUntil(k, k.engine, "started");
    const thaw = await k.cluster.freeze();
    const other = await k.otherEngine();
    const decided = await other.promote(release, { by: "alice", namespace: NS });
    expect(decided.approvals).toEqual([
      expect.objectContaining({ gate: "promotion", by: "alice", ackedBy: k.engine.identity }),
    ]);
    expect((await k.engine.get(release, NS)).approvals[0]?.ackedAt).toBe(decided.approvals[0]?.ackedAt);
    const again = await other.promote(release, { by: "carol", namespace: NS });
    expect(again.approvals).toEqual(decided.approvals);
    thaw();
    expect((await running).state).toBe("promoted");
    expect(log.types()).not.toContain("waiting-for-approval");
  });

  it("a run whose caller gave up just before the approval gate ends (rolled back), never waits for an approval for good", async () => {
    // Seen in the model test: the caller's timeout fired after the last step before the approval wait,
    // whose abort listener was added to a signal already aborted, so the run waited (and renewed its Lease) forever.
    const k = await world();
    const caller = new AbortController();
    const log = eventLog();
    const running = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), {
      signal: caller.signal,
      onEvent: (e) => {
        log.onEvent(e);
        if (e.type === "code-as-data-done") caller.abort(new Error("the caller gave up"));
      },
    });
    const ended = await failure(running);
    expect(ended, "the run ended instead of waiting for an approval").toBeDefined();
    const { release } = await log.next("started");
    expect((await k.engine.get(release, NS)).state).toBe("aborted");
    expect(log.types()).not.toContain("waiting-for-approval");
  });

  it("finding 3: abort of a live waiting release returns once its engine acknowledged it, and the engine aborts", async () => {
    const k = await world();
    const { release, running } = await runUntil(k, k.engine, "waiting-for-approval");
    const other = await k.otherEngine();
    const decided = await other.abort(release, { by: "bob", namespace: NS });
    expect(decided.abortRequested).toMatchObject({ by: "bob", ackedBy: k.engine.identity });
    expect(await failure(running)).toMatchObject({ code: "ABORTED" });
    expect((await k.engine.get(release, NS)).state).toBe("aborted");
  });

  it("finding 3: an engine that acknowledges at the last moment before its Lease would expire keeps the decision: success, and it promotes", async () => {
    const k = await world();
    const stalling = await k.proxiedEngine({ identity: "engine-that-stalls" });
    const { release, running } = await runUntil(k, stalling.engine, "waiting-for-approval");
    const thaw = await k.cluster.freeze();
    const clock = k.cluster.clock;
    if (!clock) throw new Error("fastClock gives a manual clock");
    stalling.stall();
    const lease = await k.get(leasePath);
    const expiry = Date.parse(lease.spec.renewTime) + lease.spec.leaseDurationSeconds * 1000;

    const waiting: string[] = [];
    let settled = false;
    const promote = k.engine
      .promote(release, { by: "alice", namespace: NS, onWaiting: (w) => waiting.push(w.holder) })
      .finally(() => {
        settled = true;
      });
    // The approval is on the record; the engine, stalled, does not see it. Time runs (a tenth of a second at a
    // time, until the decider says it waits), then to just before the expiry.
    while (waiting.length === 0) {
      await k.cluster.sim.advance(100);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await k.cluster.sim.advance(expiry - clock.now() - 200);
    expect(settled).toBe(false);
    expect(waiting).toEqual(["engine-that-stalls"]);
    expect((await k.engine.get(release, NS)).approvals).toEqual([expect.objectContaining({ by: "alice" })]);

    stalling.resume();
    const decided = await promote;
    expect(decided.approvals).toEqual([expect.objectContaining({ by: "alice", ackedBy: "engine-that-stalls" })]);
    thaw();
    expect((await running).state).toBe("promoted");
  });

  it("finding 3: an engine that renews its Lease but never acknowledges (one older than the handshake) gives TIMEOUT once the Lease's time as read is over, and the decision is taken back", async () => {
    const k = await world();
    const dying = await k.proxiedEngine();
    const { release } = await runUntil(k, dying.engine, "waiting-for-approval");
    await dying.crash();
    // An engine from before the handshake takes the release's Lease over and renews it, never acknowledging.
    const clock = k.cluster.clock;
    if (!clock) throw new Error("fastClock gives a manual clock");
    const stop = new AbortController();
    const held = await acquireLease({
      api: k.api,
      clock,
      namespace: NS,
      environment: "demo",
      holder: "engine-before-the-handshake",
      release,
      durationSeconds: 30,
      wait: true,
      signal: stop.signal,
    });
    try {
      const error = await failure(k.engine.promote(release, { by: "alice", namespace: NS }));
      expect(error?.code).toBe("TIMEOUT");
      expect(error?.message).toContain("engine-before-the-handshake");
      expect(error?.message).toContain("nothing was decided");
      expect((await k.engine.get(release, NS)).approvals).toEqual([]);
    } finally {
      await held.release();
    }
  });
});
