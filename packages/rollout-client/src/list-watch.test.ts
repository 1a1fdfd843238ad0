import { ManualClock } from "@rollway/kube-sim";
import { describe, expect, it, onTestFinished } from "vitest";
import { openConnection } from "./connect.js";
import type { ListWatchEvent } from "./list-watch.js";
import type { AnyObject } from "./objects.js";
import { kubeSimResource, NAMESPACE } from "./test-helpers/kube-sim.js";

const CM = { apiVersion: "v1", kind: "ConfigMap" } as const;
const configMap = (name: string, data: Record<string, string> = {}) => ({
  ...CM,
  metadata: { name, namespace: NAMESPACE, labels: { app: "demo" } },
  data,
});

type Seen = string;
const describeEvent = (e: ListWatchEvent<AnyObject>): Seen => {
  if (e.type === "LISTED") return `LISTED ${e.objects.map((o) => o.metadata?.name).join(",")}`;
  if (e.type === "INTERRUPTED") return `INTERRUPTED ${e.error.code}`;
  return `${e.type} ${e.object.metadata?.name}`;
};

/** Follows the ConfigMaps labelled app=demo; `next()` waits for the next event. */
async function follow(kubeconfig: string, options: { clock?: ManualClock; initial?: "list" | "watch-list" } = {}) {
  const requests: string[] = [];
  const conn = await openConnection({
    kubeconfig: { yaml: kubeconfig },
    onRequest: (r) => requests.push(`${r.method} ${decodeURIComponent(r.path)}`),
    ...(options.clock ? { clock: options.clock } : {}),
    retry: { attempts: 1 },
  });
  const stop = new AbortController();
  const events = conn.objects.listWatch(CM, {
    signal: stop.signal,
    labelSelector: "app=demo",
    ...(options.initial ? { initial: options.initial } : {}),
  });
  onTestFinished(async () => {
    stop.abort();
    await events.return(undefined);
    conn.close();
  });
  return {
    requests,
    stop,
    next: async () => {
      const r = await events.next();
      return r.done ? "END" : describeEvent(r.value);
    },
  };
}

describe("listWatch: the one list-then-watch loop", () => {
  it("lists, then watches from the list's resourceVersion with bookmarks, and reports each change", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("a"));
    const f = await follow(env.sim.kubeconfig);
    expect(await f.next()).toBe("LISTED a");
    const changed = f.next();
    await env.conn.objects.create(configMap("b"));
    expect(await changed).toBe("ADDED b");
    await env.conn.objects.patch({ ...CM, name: "a" }, { data: { x: "1" } }, "merge");
    expect(await f.next()).toBe("MODIFIED a");
    await env.conn.objects.delete({ ...CM, name: "b" });
    expect(await f.next()).toBe("DELETED b");
    expect(f.requests[0]).toBe(`GET /api/v1/namespaces/${NAMESPACE}/configmaps?labelSelector=app=demo`);
    expect(f.requests[1]).toMatch(
      /^GET \/api\/v1\/namespaces\/shop\/configmaps\?labelSelector=app=demo&allowWatchBookmarks=true&resourceVersion=\d+&watch=true$/,
    );
    expect(f.requests).toHaveLength(2);
  });

  it("resumes from the last resourceVersion after a closed stream, without a relist and missing nothing", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const f = await follow(env.sim.kubeconfig);
    expect(await f.next()).toBe("LISTED ");
    const live = f.next();
    await env.conn.objects.create(configMap("before"));
    expect(await live).toBe("ADDED before"); // the watch is open
    env.sim.faults.dropWatches();
    await env.conn.objects.create(configMap("while-away"));
    expect(await f.next()).toBe("ADDED while-away");
    expect(f.requests.filter((r) => !r.includes("watch=true"))).toHaveLength(1);
    expect(f.requests.filter((r) => r.includes("watch=true"))).toHaveLength(2);
  });

  it("relists on 410 Gone (an ERROR event with 410 Expired) and reports the whole set again", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("a"));
    const f = await follow(env.sim.kubeconfig);
    expect(await f.next()).toBe("LISTED a");
    const live = f.next();
    await env.conn.objects.create(configMap("b"));
    expect(await live).toBe("ADDED b");
    env.sim.faults.dropWatches();
    await env.conn.objects.create(configMap("c"));
    await env.conn.objects.delete({ ...CM, name: "a" });
    env.sim.faults.expireWatchHistory();
    env.sim.faults.dropWatches(); // in case the watch resumed before the history was forgotten
    // Whichever the stream delivers before its history is forgotten, the end state is one LISTED with b alone.
    let last = await f.next();
    while (!last.startsWith("LISTED")) last = await f.next();
    expect(last).toBe("LISTED b,c");
    expect(f.requests.filter((r) => !r.includes("watch=true"))).toHaveLength(2);
  });

  it("starts as a watch list (no LIST) when asked, and reports the replay whole at its end bookmark", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create(configMap("a"));
    await env.conn.objects.create(configMap("b"));
    const f = await follow(env.sim.kubeconfig, { initial: "watch-list" });
    expect(await f.next()).toBe("LISTED a,b");
    await env.conn.objects.create(configMap("c"));
    expect(await f.next()).toBe("ADDED c");
    expect(f.requests).toHaveLength(1);
    expect(f.requests[0]).toContain("sendInitialEvents=true");
  });

  it("reports a transient failure as INTERRUPTED and tries again after a back-off on the injected clock", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const clock = new ManualClock();
    const f = await follow(env.sim.kubeconfig, { clock });
    expect(await f.next()).toBe("LISTED ");
    const live = f.next();
    await env.conn.objects.create(configMap("before"));
    expect(await live).toBe("ADDED before");
    const refused = env.sim.faults.failRequests({ verb: "watch", resource: "configmaps", code: 503 });
    env.sim.faults.dropWatches();
    expect(await f.next()).toBe("INTERRUPTED UNAVAILABLE");
    refused.clear();
    await env.conn.objects.create(configMap("after"));
    const next = f.next();
    await clock.advance(30_000); // at most the back-off's cap: no real time passes
    expect(await next).toBe("ADDED after");
  });

  it("ends with the RolloutClientError when RBAC denies the list (403 is never retried)", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    env.sim.faults.deny({ verb: "list", resource: "configmaps" });
    const f = await follow(env.sim.kubeconfig);
    await expect(f.next()).rejects.toMatchObject({
      code: "FORBIDDEN",
      httpStatus: 403,
      reason: "Forbidden",
      resource: { kind: "ConfigMap", namespace: NAMESPACE },
    });
  });

  it("ends quietly when the signal aborts, while it waits for the next event", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const f = await follow(env.sim.kubeconfig);
    expect(await f.next()).toBe("LISTED ");
    const next = f.next();
    f.stop.abort();
    expect(await next).toBe("END");
  });

  it("follows one named object of a kind found through discovery", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const ingress = { apiVersion: "networking.k8s.io/v1", kind: "Ingress" } as const;
    await env.conn.objects.create({ ...ingress, metadata: { name: "web", namespace: NAMESPACE }, spec: {} });
    await env.conn.objects.create({ ...ingress, metadata: { name: "other", namespace: NAMESPACE }, spec: {} });
    const stop = new AbortController();
    onTestFinished(() => stop.abort());
    const events = env.conn.objects.listWatch({ ...ingress, name: "web" }, { signal: stop.signal });
    const first = await events.next();
    expect(first.value && describeEvent(first.value)).toBe("LISTED web");
    await events.return(undefined);
  });
});
