// Fault injection: what a client sees when the API server misbehaves, and what pods report when containers do.
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import type { ResourceType } from "./resources.js";
import { startKubeSim } from "./sim.js";

const CM = "/api/v1/namespaces/default/configmaps";

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary pod status
type Obj = any;

async function podSim() {
  const sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 1_000 });
  const pods = sim.store.types.get("", "pods") as ResourceType;
  return {
    sim,
    run: (name: string, image: string) =>
      sim.store.create(pods, "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: { containers: [{ name: "app", image }] },
      }),
    pod: (name: string) => sim.store.get(pods, "default", name) as Obj,
    [Symbol.asyncDispose]: () => sim.close(),
  };
}

describe("request faults", () => {
  it("answers the next matching request with 429 TooManyRequests and Retry-After, then recovers", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    sim.faults.failRequests({ verb: "list", resource: "configmaps", code: 429, times: 1 });
    const first = await fetch(`${sim.url}${CM}`);
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("1");
    expect(((await first.json()) as { reason: string }).reason).toBe("TooManyRequests");
    expect((await fetch(`${sim.url}${CM}`)).status).toBe(200);
  });

  it("fails only the matching verb and resource with a 500 InternalError Status until cleared", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const fault = sim.faults.failRequests({
      verb: "create",
      resource: "configmaps",
      code: 500,
      message: "etcdserver: request timed out",
    });
    const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } });
    const post = () =>
      fetch(`${sim.url}${CM}`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
    const failed = await post();
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "InternalError",
      message: "etcdserver: request timed out",
      code: 500,
    });
    expect((await fetch(`${sim.url}${CM}`)).status).toBe(200);
    fault.clear();
    expect((await post()).status).toBe(201);
  });

  it("still answers correctly when requests are delayed", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    sim.faults.delayRequests({ resource: "namespaces", ms: 20, times: 1 });
    const res = await fetch(`${sim.url}/api/v1/namespaces/default`);
    expect(((await res.json()) as { metadata: { name: string } }).metadata.name).toBe("default");
  });

  it("ends open watch streams on dropWatches(), so clients must re-watch", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const res = await fetch(`${sim.url}${CM}?watch=true&resourceVersion=${sim.store.resourceVersion()}`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    sim.faults.dropWatches();
    expect((await reader.read()).done).toBe(true);
  });
});

describe("a watch cache that falls behind", () => {
  it("sends every open watch an ERROR event with 410 Expired and closes it; resuming gets 410, a new list sees everything", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const configMaps = sim.store.types.get("", "configmaps") as ResourceType;
    const create = (name: string) =>
      sim.store.create(configMaps, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name } });
    // A watch of one object, as a client following one record has: changes to others move the server on.
    const one = `${CM}?watch=true&fieldSelector=metadata.name%3Dbefore`;
    const lines = readLines(await fetch(`${sim.url}${one}&resourceVersion=${sim.store.resourceVersion()}`));
    create("before");
    const added = await lines.next();
    expect(added).toMatchObject({ type: "ADDED", object: { metadata: { name: "before" } } });
    create("another");

    sim.faults.expireOpenWatches();
    // Changed at once: a stream already ended must not carry it (nor crash the server writing after its end).
    sim.store.patch(configMaps, "default", "before", "merge", { data: { changed: "yes" } }, {});
    create("after");
    expect(await lines.next()).toMatchObject({
      type: "ERROR",
      object: { kind: "Status", status: "Failure", reason: "Expired", code: 410 },
    });
    expect(await lines.next()).toBeUndefined();

    // Resuming from the last version seen is refused with 410 too: the history is gone.
    const resumed = readLines(await fetch(`${sim.url}${one}&resourceVersion=${added.object.metadata.resourceVersion}`));
    expect(await resumed.next()).toMatchObject({ type: "ERROR", object: { code: 410, reason: "Expired" } });
    expect(await resumed.next()).toBeUndefined();
    // Only a list sees what changed meanwhile.
    const list = (await (await fetch(`${sim.url}${CM}`)).json()) as { items: Obj[] };
    expect(list.items.map((c) => c.metadata.name)).toEqual(expect.arrayContaining(["before", "another", "after"]));
    // The server still answers and watches again.
    const again = readLines(await fetch(`${sim.url}${CM}?watch=true&resourceVersion=${sim.store.resourceVersion()}`));
    create("later");
    expect(await again.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "later" } } });
    again.cancel();
  });
});

/** The events of a watch stream, one JSON line at a time; `undefined` once the server ended it. */
function readLines(res: Response): { next(): Promise<Obj | undefined>; cancel(): void } {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next() {
      for (;;) {
        const nl = buffer.indexOf("\n");
        if (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim()) return JSON.parse(line);
          continue;
        }
        const { done, value } = await reader.read();
        if (done) return undefined;
        buffer += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => void reader.cancel(),
  };
}

describe("pod faults", () => {
  it("reports ErrImagePull, then ImagePullBackOff, with the pod Pending and not ready", async () => {
    await using k = await podSim();
    k.sim.faults.failImagePull({ image: "missing:1" });
    k.run("p", "missing:1");
    await k.sim.settle();
    expect(k.pod("p").status.phase).toBe("Pending");
    expect(k.pod("p").status.containerStatuses[0].state.waiting).toEqual({
      reason: "ErrImagePull",
      message: 'Back-off pulling image "missing:1"',
    });
    await k.sim.advance(5_000);
    expect(k.pod("p").status.containerStatuses[0].state.waiting.reason).toBe("ImagePullBackOff");
  });

  it("keeps a neverReady pod Running with Ready False", async () => {
    await using k = await podSim();
    k.sim.faults.neverReady({ namePrefix: "slow" });
    k.run("slow-1", "app:1");
    k.run("fast-1", "app:1");
    await k.sim.advance(10_000);
    const ready = (name: string) => k.pod(name).status.conditions.find((c: Obj) => c.type === "Ready").status;
    expect(k.pod("slow-1").status.phase).toBe("Running");
    expect(ready("slow-1")).toBe("False");
    expect(ready("fast-1")).toBe("True");
  });

  it("lets a crashing pod recover once the fault is cleared", async () => {
    await using k = await podSim();
    const crash = k.sim.faults.crashPods({ image: "app:bad" });
    k.run("c", "app:bad");
    await k.sim.advance(25_000);
    expect(k.pod("c").status.containerStatuses[0]).toMatchObject({
      restartCount: 3,
      ready: false,
      state: { waiting: { reason: "CrashLoopBackOff" } },
    });
    crash.clear();
    await k.sim.settle();
    expect(k.pod("c").status.containerStatuses[0]).toMatchObject({
      ready: true,
      state: { running: { startedAt: "2026-01-01T00:00:00Z" } },
    });
  });
});

describe("pod termination", () => {
  it("keeps a deleted pod Terminating and not ready for terminationDelayMs, then removes it; gracePeriodSeconds=0 removes at once", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0, terminationDelayMs: 5_000 });
    const pods = sim.store.types.get("", "pods") as ResourceType;
    for (const name of ["a", "b"]) {
      sim.store.create(pods, "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: { containers: [{ name: "app", image: "app:1" }] },
      });
    }
    await sim.settle();
    const res = await fetch(`${sim.url}/api/v1/namespaces/default/pods/a`, { method: "DELETE" });
    const body = (await res.json()) as Obj;
    expect(body.kind).toBe("Pod");
    expect(body.metadata).toMatchObject({ deletionTimestamp: "2026-01-01T00:00:30Z", deletionGracePeriodSeconds: 30 });
    await sim.settle();
    const terminating = sim.store.get(pods, "default", "a") as Obj;
    expect(terminating.status.conditions.find((c: Obj) => c.type === "Ready").status).toBe("False");
    await sim.advance(5_000);
    expect(sim.store.peek(pods, "default", "a")).toBeUndefined();
    const forced = await fetch(`${sim.url}/api/v1/namespaces/default/pods/b?gracePeriodSeconds=0`, {
      method: "DELETE",
    });
    expect(forced.status).toBe(200);
    expect(sim.store.peek(pods, "default", "b")).toBeUndefined();
  });
});
