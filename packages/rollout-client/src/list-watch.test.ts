import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ManualClock } from "@rollway/kube-sim";
import fc from "fast-check";
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

  it("backs off more and more from a server whose lists carry no resourceVersion and whose watches end empty", async () => {
    // Anything that answers every request with an empty 2xx (a misconfigured proxy, another program on the port) is
    // not an API server. A list without a resourceVersion proves nothing about the server's health, so it must not
    // reset the back-off: a test of the CLI saw a leaked watch poll such a server every 50–100 ms.
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(201, { "content-type": "application/json" });
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: c, cluster: {server: 'http://127.0.0.1:${port}'}}]`,
      "users: [{name: u, user: {token: t}}]",
      `contexts: [{name: x, context: {cluster: c, user: u, namespace: ${NAMESPACE}}}]`,
      "current-context: x",
    ].join("\n");
    const clock = new ManualClock();
    const f = await follow(kubeconfig, { clock });
    const seen: string[] = [];
    const reading = (async () => {
      for (let e = await f.next(); e !== "END"; e = await f.next()) seen.push(e);
    })();
    // Ten seconds of the loop's clock, a tenth of a second at a time, each step given real time for its requests.
    for (let step = 0; step < 100; step++) {
      clock.advance(100);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    f.stop.abort();
    clock.advance(60_000);
    await reading;
    expect(seen[0]).toBe("LISTED ");
    // Doubling from 50–100 ms up to the 30 s cap, ten seconds hold at most ~8 tries of a list and a watch each; at the
    // base rate they would hold over a hundred.
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.length).toBeLessThanOrEqual(20);
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

describe("listWatch against random sequences of changes and faults (model-based)", () => {
  type Model = Map<string, string>;
  interface Real {
    env: Awaited<ReturnType<typeof kubeSimResource>>;
    held: Map<string, string>;
  }
  const key = (o: AnyObject) => o.metadata?.name ?? "";
  const dataValue = (o: AnyObject) => String((o.data as Record<string, string> | undefined)?.v ?? "");
  /** After every step the follower must come to hold exactly what the cluster holds, whatever happened to its watch. */
  const settle = async (m: Model, r: Real) => {
    await expect
      .poll(() => JSON.stringify([...r.held].sort()), { timeout: 10_000, interval: 5 })
      .toBe(JSON.stringify([...m].sort()));
  };
  const cmd = (
    name: string,
    check: (m: Model) => boolean,
    run: (m: Model, r: Real) => Promise<void>,
  ): fc.AsyncCommand<Model, Real> => ({
    check,
    async run(m, r) {
      await run(m, r);
      await settle(m, r);
    },
    toString: () => name,
  });
  const names = fc.constantFrom("a", "b", "c");
  const commands = [
    names.map((n) =>
      cmd(
        `create ${n}`,
        (m) => !m.has(n),
        async (m, r) => {
          await r.env.conn.objects.create(configMap(n, { v: "0" }));
          m.set(n, "0");
        },
      ),
    ),
    fc.tuple(names, fc.integer({ min: 1, max: 99 })).map(([n, v]) =>
      cmd(
        `patch ${n}=${v}`,
        (m) => m.has(n),
        async (m, r) => {
          await r.env.conn.objects.patch({ ...CM, name: n }, { data: { v: String(v) } }, "merge");
          m.set(n, String(v));
        },
      ),
    ),
    names.map((n) =>
      cmd(
        `delete ${n}`,
        (m) => m.has(n),
        async (m, r) => {
          await r.env.conn.objects.delete({ ...CM, name: n });
          m.delete(n);
        },
      ),
    ),
    fc.constant(
      cmd(
        "drop watches",
        () => true,
        async (_m, r) => r.env.sim.faults.dropWatches(),
      ),
    ),
    fc.constant(
      cmd(
        "expire history and drop watches",
        () => true,
        async (_m, r) => {
          r.env.sim.faults.expireWatchHistory();
          r.env.sim.faults.dropWatches();
        },
      ),
    ),
    fc.tuple(names, fc.integer({ min: 100, max: 199 })).map(([n, v]) =>
      cmd(
        `while the watch is down: set ${n}=${v}, delete the others, forget the history`,
        () => true,
        async (m, r) => {
          const refused = r.env.sim.faults.failRequests({ verb: "watch", resource: "configmaps", code: 503 });
          r.env.sim.faults.dropWatches();
          if (m.has(n)) await r.env.conn.objects.patch({ ...CM, name: n }, { data: { v: String(v) } }, "merge");
          else await r.env.conn.objects.create(configMap(n, { v: String(v) }));
          for (const other of [...m.keys()].filter((k) => k !== n)) {
            await r.env.conn.objects.delete({ ...CM, name: other });
            m.delete(other);
          }
          m.set(n, String(v));
          r.env.sim.faults.expireWatchHistory();
          refused.clear();
        },
      ),
    ),
    fc.constant(
      cmd(
        "refuse the next watch with 503 and drop watches",
        () => true,
        async (_m, r) => {
          r.env.sim.faults.failRequests({ verb: "watch", resource: "configmaps", code: 503, times: 1 });
          r.env.sim.faults.dropWatches();
        },
      ),
    ),
  ];

  it("always comes to hold exactly what the cluster holds: no event lost or repeated across drops, 410s and 503s", async () => {
    // Back-offs fire at once (a clock whose timers do not wait): the property is about order, not time.
    const instant = {
      now: () => Date.now(),
      setTimer: (_ms: number, fn: () => void) => {
        const t = setTimeout(fn, 0);
        return { cancel: () => clearTimeout(t) };
      },
    };
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 12 }), async (cmds) => {
        const env = await kubeSimResource({ withoutControllers: true });
        const conn = await openConnection({
          kubeconfig: { yaml: env.sim.kubeconfig },
          clock: instant,
          retry: { sleep: async () => undefined },
        });
        const stop = new AbortController();
        const held = new Map<string, string>();
        const following = (async () => {
          for await (const e of conn.objects.listWatch(CM, { signal: stop.signal, labelSelector: "app=demo" })) {
            if (e.type === "LISTED") {
              held.clear();
              for (const o of e.objects) held.set(key(o), dataValue(o));
            } else if (e.type === "DELETED") held.delete(key(e.object));
            else if (e.type !== "INTERRUPTED") held.set(key(e.object), dataValue(e.object));
          }
        })();
        try {
          await fc.asyncModelRun(() => ({ model: new Map(), real: { env, held } }), cmds);
        } finally {
          stop.abort();
          await following;
          conn.close();
        }
      }),
      { numRuns: 15 },
    );
  });
});
