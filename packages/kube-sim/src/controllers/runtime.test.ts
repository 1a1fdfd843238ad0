import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { KubeObject } from "../crds.js";
import type { ResourceType } from "../resources.js";
import { startKubeSim } from "../sim.js";
import { defineController } from "./runtime.js";

// The README's "Writing a controller" example: stamps each ConfigMap with how long ago it was first seen,
// re-checking every 10 s of clock time.
const stamp = defineController({
  name: "stamp",
  for: { apiVersion: "v1", kind: "ConfigMap" },
  reconcile(ctx, key) {
    const type = ctx.store.types.get("", "configmaps") as ResourceType;
    const cm = ctx.store.peek(type, key.namespace, key.name);
    if (!cm) return undefined;
    const ageSeconds = Math.floor((ctx.clock.now() - Date.parse(cm.metadata.creationTimestamp as string)) / 1000);
    ctx.store.patch(type, key.namespace, key.name, "merge", {
      metadata: { annotations: { "example.com/age": String(ageSeconds) } },
    });
    return { requeueAfterMs: 10_000 };
  },
});

function annotation(o: KubeObject): string | undefined {
  return o.metadata.annotations?.["example.com/age"];
}

/** A controller that records Events about each ConfigMap it reconciles, as `onReconcile` says. */
function noisyController(
  onReconcile: (record: (type: "Normal" | "Warning", reason: string, message: string) => void, name: string) => void,
) {
  return defineController({
    name: "noisy",
    for: { apiVersion: "v1", kind: "ConfigMap" },
    reconcile(ctx, key) {
      const type = ctx.store.types.get("", "configmaps") as ResourceType;
      const cm = ctx.store.peek(type, key.namespace, key.name);
      if (cm)
        onReconcile((t, reason, message) => ctx.recordEvent(cm, t, reason, message, "noisy-controller"), key.name);
      return undefined;
    },
  });
}

describe("controller runtime", () => {
  it("reconciles on watch events and on clock requeues, without real sleeps", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [stamp] });
    const type = sim.store.types.get("", "configmaps") as ResourceType;
    sim.store.create(type, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } });
    await sim.settle();
    expect(annotation(sim.store.get(type, "default", "c"))).toBe("0");
    await sim.advance(25_000);
    expect(annotation(sim.store.get(type, "default", "c"))).toBe("20");
  });

  it("throws a failing reconcile from settle(), naming the controller and object", async () => {
    const broken = defineController({
      name: "broken",
      for: { apiVersion: "v1", kind: "ConfigMap" },
      reconcile() {
        throw new Error("boom");
      },
    });
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [broken] });
    const type = sim.store.types.get("", "configmaps") as ResourceType;
    sim.store.create(type, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } });
    await expect(sim.settle()).rejects.toThrow("controller broken failed to reconcile default/c: boom");
  });

  it("retries a reconcile that hits a Conflict, and reports it once it keeps failing", async () => {
    let calls = 0;
    const racing = defineController({
      name: "racing",
      for: { apiVersion: "v1", kind: "ConfigMap" },
      reconcile(ctx, key) {
        calls++;
        const type = ctx.store.types.get("", "configmaps") as ResourceType;
        const cm = ctx.store.get(type, key.namespace, key.name);
        // A stale resourceVersion, as when another writer got there first.
        ctx.store.update(type, key.namespace, key.name, { ...cm, metadata: { ...cm.metadata, resourceVersion: "1" } });
        return undefined;
      },
    });
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [racing] });
    const type = sim.store.types.get("", "configmaps") as ResourceType;
    sim.store.create(type, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } });
    await expect(sim.settle()).rejects.toThrow(
      'controller racing failed to reconcile default/c: Operation cannot be fulfilled on configmaps "c"',
    );
    expect(calls).toBe(6);
  });

  it("records repeated Events as one with a count, and expires them after an hour (event TTL)", async () => {
    const noisy = noisyController((record) => {
      for (let i = 0; i < 3; i++) record("Warning", "Invalid", "data.a is not a number");
    });
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [noisy] });
    const type = sim.store.types.get("", "configmaps") as ResourceType;
    const events = sim.store.types.get("", "events") as ResourceType;
    sim.store.create(type, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } });
    await sim.settle();
    const list = sim.store.list(events, "default").items;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      reason: "Invalid",
      type: "Warning",
      count: 3,
      involvedObject: { kind: "ConfigMap", name: "c" },
    });
    await sim.advance(60 * 60 * 1000);
    expect(sim.store.list(events, "default").items).toEqual([]);
  });

  it("expires many Events with one clock timer, not one each: each an hour after its last occurrence, a repeat extending it", async () => {
    // One Event per ConfigMap, recorded at each reconcile (a create, then each change).
    const noisy = noisyController((record, name) => record("Normal", "Seen", `saw ${name}`));
    const clock = new ManualClock();
    await using sim = await startKubeSim({ clock, controllers: [noisy] });
    const type = sim.store.types.get("", "configmaps") as ResourceType;
    const events = sim.store.types.get("", "events") as ResourceType;
    const names = () =>
      sim.store
        .list(events, "default")
        .items.map((e) => (e as KubeObject & { involvedObject: { name: string } }).involvedObject.name)
        .sort();
    const MINUTE = 60 * 1000;
    // 120 Events, one every 30 s over the first hour (c0 at 0 min … c119 at 59.5 min).
    for (let i = 0; i < 120; i++) {
      sim.store.create(type, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${i}` } });
      await sim.advance(i < 119 ? MINUTE / 2 : 0);
    }
    expect(names()).toHaveLength(120);
    // The simulator's only timer is the expiry sweep (before: 120 timers, one per Event).
    expect(clock.pendingTimers()).toBe(1);

    // c0 occurs again 59.5 minutes after it first did: it now lives until an hour after that.
    sim.store.patch(type, "default", "c0", "merge", { data: { again: "yes" } });
    await sim.settle();
    expect(clock.pendingTimers()).toBe(1);
    // At 60.5 min: c0's first occurrence and c1 are over an hour old; c1 is gone, the repeated c0 lives on.
    await sim.advance(MINUTE);
    expect(names()).not.toContain("c1");
    expect(names()).toContain("c0");
    expect(names()).toContain("c2");
    expect(names()).toHaveLength(119);
    // Just before 119.5 min (an hour after c119 and after c0's repeat) only those two are left; then none.
    await sim.advance(59 * MINUTE - 1);
    expect(names()).toEqual(["c0", "c119"]);
    await sim.advance(1);
    expect(names()).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("refuses sim.advance() on the real clock with a clear error", async () => {
    await using sim = await startKubeSim({ controllers: [] });
    await expect(sim.advance(1000)).rejects.toThrow("sim.advance() needs the simulator to run on a ManualClock");
  });
});
