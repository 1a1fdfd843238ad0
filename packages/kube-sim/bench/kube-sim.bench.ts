// Benchmarks for kube-sim: start-up, listing 1,000 objects over HTTP, and one write fanned out to 100 watches.
// Each is measured next to a baseline in the same run (a bare node:http server; JSON.stringify of the same list;
// a single watch) so the figures say what kube-sim itself costs.
import { createServer } from "node:http";
import { afterAll, bench, describe } from "vitest";
import { ManualClock } from "../src/clock.js";
import { type KubeSim, startKubeSim } from "../src/sim.js";

// The first start in a process loads the CRDs (from the disk cache after the first run ever); keep it out.
await (await startKubeSim({ clock: new ManualClock(), controllers: [] })).close();

describe("start-up (start and close)", () => {
  bench("startKubeSim() with the upstream CRDs, no controllers", async () => {
    const sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    await sim.close();
  });
  bench("startKubeSim() with the built-in controllers", async () => {
    const sim = await startKubeSim({ clock: new ManualClock() });
    await sim.close();
  });
  bench("baseline: a bare node:http server listening on loopback", async () => {
    const server = createServer((_req, res) => res.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
});

const listSim: KubeSim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
const configMaps = listSim.store.types.get("", "configmaps");
if (!configMaps) throw new Error("no configmaps type");
for (let i = 0; i < 1000; i++) {
  listSim.store.create(configMaps, "default", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `cm-${String(i).padStart(4, "0")}`, labels: { app: "bench", shard: String(i % 10) } },
    data: { key: "value".repeat(20) },
  });
}
const rawItems = listSim.store.listRaw(configMaps, "default").items;

describe("list 1,000 ConfigMaps", () => {
  bench("GET /api/v1/namespaces/default/configmaps (HTTP, JSON)", async () => {
    const res = await fetch(`${listSim.url}/api/v1/namespaces/default/configmaps`);
    await res.arrayBuffer();
  });
  bench("GET with labelSelector=shard=3 (100 of 1,000)", async () => {
    const res = await fetch(`${listSim.url}/api/v1/namespaces/default/configmaps?labelSelector=shard%3D3`);
    await res.arrayBuffer();
  });
  bench("baseline: JSON.stringify of the same 1,000 objects", () => {
    JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", metadata: {}, items: rawItems });
  });
});

async function openWatches(sim: KubeSim, count: number) {
  const streams: { reader: ReadableStreamDefaultReader<Uint8Array>; abort: AbortController }[] = [];
  for (let i = 0; i < count; i++) {
    const abort = new AbortController();
    const res = await fetch(
      `${sim.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${sim.store.resourceVersion()}`,
      {
        signal: abort.signal,
      },
    );
    streams.push({ reader: (res.body as ReadableStream<Uint8Array>).getReader(), abort });
  }
  return streams;
}

const fanSim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
const fanType = fanSim.store.types.get("", "configmaps");
if (!fanType) throw new Error("no configmaps type");
fanSim.store.create(fanType, "default", {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "fan" },
  data: { n: "0" },
});
const hundred = await openWatches(fanSim, 100);
const single = await openWatches(fanSim, 1);
for (const s of single) s.abort.abort();
let n = 0;

async function writeAndReceive(watchers: typeof hundred) {
  n++;
  fanSim.store.patch(fanType as NonNullable<typeof fanType>, "default", "fan", "merge", { data: { n: String(n) } });
  await Promise.all(watchers.map((w) => w.reader.read()));
}

describe("watch fan-out: one write, every watcher receives it", () => {
  bench("100 HTTP watches", async () => {
    await writeAndReceive(hundred);
  });
  bench("baseline: 1 HTTP watch", async () => {
    // Opened lazily so its stream only carries the events of this bench.
    const one = await openWatches(fanSim, 1);
    await writeAndReceive(one);
    for (const s of one) s.abort.abort();
  });
});

afterAll(async () => {
  for (const s of hundred) s.abort.abort();
  await listSim.close();
  await fanSim.close();
});
