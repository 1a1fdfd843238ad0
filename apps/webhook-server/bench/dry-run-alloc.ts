/**
 * Bytes allocated per dry run, by allocating function: a figure that a busy machine does not move (unlike CPU time),
 * and the garbage collector's share of a request follows it. The server (one build's `dist/index.js`, default this
 * package's) runs in this process, without a cluster; a load generator in its own process posts the seed payload for
 * a warm-up second, then V8's sampling heap profiler (objects later collected included) records 3 s of dry runs.
 * `node --import tsx bench/dry-run-alloc.ts [<dist dir>]` (BENCH_TOP: how many allocating places to print, default
 * 25; BENCH_DEPTH: how many frames name a place, default 1).
 */
import { spawn } from "node:child_process";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";

const TOKEN = "bench-deploy-token-0123456789abcdef";
const dist = process.argv[2] ?? fileURLToPath(new URL("../dist", import.meta.url));
Object.assign(process.env, {
  ROLLWAY_HOST: "127.0.0.1",
  ROLLWAY_PORT: "0",
  ROLLWAY_LOG_LEVEL: "warn",
  RECHECK_BACKEND: "pure",
  ROLLWAY_RATE_LIMIT_PER_MINUTE: "100000000",
  ROLLWAY_TOKENS: JSON.stringify([{ scope: "deploy", project: "shop", environment: "prod", tokens: [TOKEN] }]),
});
const { startServer, loadConfig } = (await import(`${dist}/index.js`)) as typeof import("../src/index.js");
const server = await startServer(loadConfig());
const payload = JSON.stringify(JSON.parse(EXAMPLE_PAYLOAD_TEXT));

function load(seconds: number): Promise<number> {
  const options = {
    url: `${server.url}/v1/projects/shop/environments/prod/validate`,
    method: "POST",
    body: payload,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` },
    connections: 20,
    duration: seconds,
  };
  const script = fileURLToPath(new URL("./load-generator.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve, reject) =>
    child.once("exit", (code) =>
      code === 0
        ? resolve((JSON.parse(out) as { result: { requests: { total: number } } }).result.requests.total)
        : reject(new Error(`load generator: exit ${code}`)),
    ),
  );
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}
try {
  await load(1);
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMinorGC: true,
    includeObjectsCollectedByMajorGC: true,
  });
  const requests = await load(3);
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as { profile: { head: SamplingNode } };
  const depth = Number(process.env.BENCH_DEPTH ?? 1);
  const places = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode, stack: string[]) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const frames = [...stack, `${functionName || "(anonymous)"} ${url.split("/").at(-1)}:${lineNumber}`];
    if (node.selfSize > 0) {
      const place = frames.slice(-depth).reverse().join(" < ");
      places.set(place, (places.get(place) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children) walk(child, frames);
  };
  walk(profile.head, []);
  console.log(`${dist}: ${requests} dry runs, ${(total / requests).toFixed(0)} bytes allocated per dry run`);
  const top = [...places].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.BENCH_TOP ?? 25));
  for (const [place, bytes] of top) console.log(`${(bytes / requests).toFixed(0).padStart(7)}  ${place}`);
} finally {
  await server.shutdown();
}
