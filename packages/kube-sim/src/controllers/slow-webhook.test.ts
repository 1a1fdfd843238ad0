// A slow webhook must not freeze the world: the Flagger reconcile that waits on it is parked, and every other
// controller keeps working (issue: one 6 s Flagger webhook made scaling an unrelated Deployment take 5.5 s).
// The hanging webhook is a real HTTP server that holds its answer until the test releases it; the waits below poll
// for a state with a generous limit and assert nothing about how long anything took.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { deployment, hookServer, type Obj, PATHS, podinfoCanary, simResource } from "./rollout-test-kit.js";

async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, limitMs = 20_000): Promise<T> {
  const stop = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > stop) throw new Error(`still waiting after ${limitMs} ms of real time for: ${what}`);
    await sleep(20);
  }
}

function canaryWithEventHook(url: string, interval: string): Obj {
  return podinfoCanary({ interval, iterations: 2, webhooks: [{ name: "events", type: "event", url, timeout: "60s" }] });
}

describe("a slow webhook does not block other controllers", () => {
  it("on the manual clock: an unrelated Deployment scales up and its pods go ready while Flagger's webhook hangs", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    const release = hooks.hold("/events");
    await k.create(PATHS.deployments, deployment("podinfo", 2));
    await k.create(PATHS.canaries, canaryWithEventHook(`${hooks.url}/events`, "15s"));
    await k.create(PATHS.deployments, deployment("other", 1));
    await k.sim.settle();

    // Move the clock to Flagger's first tick without settling: its event webhook now hangs.
    const clock = k.sim.clock as ManualClock;
    clock.advance(15_000);
    await eventually("the event webhook to be called", async () => hooks.held() > 0);

    await k.mergePatch(`${PATHS.deployments}/other`, { spec: { replicas: 3 } });
    await eventually("3 pods of other", async () => (await k.list(PATHS.pods, "app=other")).length === 3);
    clock.advance(2_000); // readyDelayMs
    const other = await eventually("other available", async () => {
      const d = await k.get(`${PATHS.deployments}/other`);
      return d.status?.availableReplicas === 3 ? d : undefined;
    });
    expect(other.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(hooks.held()).toBeGreaterThan(0);
    expect(k.sim.controllers.waiting).toBe(1);

    // Once the webhook answers, Flagger's tick completes and settle() sees the world at rest.
    release();
    await k.sim.settle();
    expect(k.sim.controllers.waiting).toBe(0);
    expect(hooks.calls.some((c) => c.path === "/events" && c.body.name === "podinfo")).toBe(true);
  });

  it("on the real clock: an unrelated Deployment scales up while Flagger's webhook hangs", async () => {
    await using sim = await startKubeSim({ readyDelayMs: 10 });
    await using hooks = await hookServer();
    const release = hooks.hold("/events");
    const call = async (method: string, path: string, body?: Obj, type = "application/json") => {
      const res = await fetch(`${sim.url}${path}`, {
        method,
        headers: body ? { "Content-Type": type } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      expect(res.ok).toBe(true);
      return (await res.json()) as Obj;
    };
    await call("POST", PATHS.deployments, deployment("podinfo", 1));
    await call("POST", PATHS.canaries, canaryWithEventHook(`${hooks.url}/events`, "1s"));
    await call("POST", PATHS.deployments, deployment("other", 1));
    // Flagger's shortest analysis interval is 10 s: the first tick comes that much real time after the Canary.
    await eventually("the event webhook to be called", async () => hooks.held() > 0);

    await call("PATCH", `${PATHS.deployments}/other`, { spec: { replicas: 3 } }, "application/merge-patch+json");
    const other = await eventually("other available", async () => {
      const d = await call("GET", `${PATHS.deployments}/other`);
      return d.status?.availableReplicas === 3 ? d : undefined;
    });
    expect(other.status.readyReplicas).toBe(3);
    expect(hooks.held()).toBeGreaterThan(0);
    release();
    await eventually("Flagger's tick to finish", async () => sim.controllers.waiting === 0);
  });
});

it("keeps the manual clock deterministic: store-only reconciles never park", async () => {
  await using sim = await startKubeSim({ clock: new ManualClock() });
  const deployments = sim.store.types.get("apps", "deployments");
  if (!deployments) throw new Error("no deployments type");
  sim.store.create(deployments, "default", deployment("web", 3));
  await sim.advance(5_000);
  expect(sim.controllers.waiting).toBe(0);
  expect(sim.store.get(deployments, "default", "web").status).toMatchObject({ availableReplicas: 3 });
});
