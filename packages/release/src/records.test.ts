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

describe("waitForRecord", () => {
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
