import { describe, expect, it, vi } from "vitest";
import { cacheRecords } from "./records.js";
import { autoPayload, eventLog, NS, releaseSimResource, seedPayload } from "./test-helpers/release-sim.js";

describe("cacheRecords", () => {
  it("answers reads from a watch: new releases and state changes arrive, and a dropped watch lists again", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const first = await k.engine.apply(await k.engine.plan(autoPayload("tag"), k.environment));
    const cache = cacheRecords(k.api, NS);
    try {
      await cache.synced;
      expect(cache.get(first.id)).toMatchObject({ id: first.id, state: "promoted" });
      expect(cache.get("no-such-release")).toBeUndefined();

      const second = await k.engine.apply(await k.engine.plan(autoPayload("tag2"), k.environment));
      await vi.waitFor(() => expect(cache.get(second.id)?.state).toBe("promoted"));
      expect(cache.list("demo")?.map((r) => r.id)).toEqual([second.id, first.id]);
      expect(cache.list("another-environment")).toEqual([]);

      // The API server drops every watch: the cache lists again and keeps up.
      k.sim.faults.dropWatches();
      const undo = await k.engine.rollback(second.id, { namespace: NS });
      await vi.waitFor(() => expect(cache.get(undo.id)?.state).toBe("promoted"));
      expect(cache.get(second.id)?.state).toBe("rolled-back");
    } finally {
      cache.close();
    }
  });
});

describe("the approval wait (followRecord)", () => {
  it("acts on an approval given while the watch history has expired and watches are dropped (relists on 410)", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const log = eventLog();
    const run = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    // The history expires and every open watch is cut: only a relist can see the decision.
    k.sim.faults.expireWatchHistory();
    k.sim.faults.dropWatches();
    await k.engine.promote(waiting.release, { by: "alice", namespace: NS });
    expect((await run).state).toBe("promoted");
  });
});

describe("the approval wait (followRecord) on an open watch that gets a 410", () => {
  it("acts on an approval given as its open watch gets a 410 ERROR event, with no clock time passing (relists at once, no back-off or timeout)", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"], fastClock: true });
    const log = eventLog();
    const run = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    // The clock stands still from here: only what needs no timer can happen.
    const thaw = await k.cluster.freeze();
    const clock = k.cluster.clock as NonNullable<typeof k.cluster.clock>;
    const frozenAt = clock.now();
    const sent = k.requests.length;
    // Other objects change (the engine's watches follow only its record), then the watch cache falls behind: the
    // engine's open watches get ERROR 410 Expired and are closed, and resuming from their last version gets 410
    // again; only a list sees the approval given now.
    const created = await fetch(`${k.sim.url}${k.paths.configMaps}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "unrelated" } }),
    });
    expect(created.status).toBe(201);
    k.sim.faults.expireOpenWatches();
    await k.engine.promote(waiting.release, { by: "alice", namespace: NS });
    // A release that fails instead (the 410 taken as fatal) shows here at once, not at the test's timeout.
    const promoting = await Promise.race([log.next("promoting"), run]);
    expect(clock.now() - frozenAt, "clock time between the approval and acting on it").toBe(0);
    expect("type" in promoting && promoting.type, "the engine acted on the approval").toBe("promoting");
    // It listed its record again (a GET of the ConfigMap collection, not a watch) after the 410.
    const relists = k.requests
      .slice(sent)
      .filter((r) => r.method === "GET" && r.path.includes("/configmaps?") && !r.path.includes("watch="));
    expect(relists.length, "lists of the record after the 410").toBeGreaterThan(0);
    thaw();
    expect((await run).state).toBe("promoted");
  });
});

describe("waiting for the environment Lease", () => {
  it("a queued release starts once the running one ends, though watch history expired and watches were dropped", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const log = eventLog();
    const first = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    const other = await k.otherEngine();
    const queuedLog = eventLog();
    const queued = other.apply(await other.plan(autoPayload("tag2"), k.environment), {
      waitForLock: true,
      onEvent: queuedLog.onEvent,
    });
    await queuedLog.next("waiting-for-lock");
    k.sim.faults.expireWatchHistory();
    k.sim.faults.dropWatches();
    await k.engine.promote(waiting.release, { by: "alice", namespace: NS });
    expect((await first).state).toBe("promoted");
    expect((await queued).state).toBe("promoted");
  });
});
