/**
 * Benchmark: plan and apply one release of N backends (+ frontend + a platform Deployment) on kube-sim, auto
 * promotion. kube-sim runs in a child process, so this process's CPU time is rollway's own time (plan, engine,
 * HTTP clients), separate from what the cluster takes; wall time includes both. Requests are every HTTP request
 * rollway sent (watches included). Run: pnpm bench  (READY_DELAY_MS=… to give pods a start-up time;
 * REQUESTS=1 prints apply's requests by method and kind; PROFILE=dir writes a CPU profile of each size's plan + apply alone, without start-up and seeding, to dir).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { EXAMPLE_PAYLOAD_TEXT, parseDeployPayload } from "@rollway/payload-schema";
import { connect, isHealthy } from "@rollway/rollout-client";
import { createReleaseEngine } from "../src/engine.js";
import { parseEnvironment } from "../src/environment.js";
import { demoEnvironmentInput, NS, seedDemoWorld } from "../src/test-helpers/demo-world.js";

const SIZES = (process.env.SIZES ?? "10,25,50").split(",").map(Number);

async function startSim(): Promise<{ url: string; kubeconfigPath: string; stop(): void }> {
  const script = fileURLToPath(new URL("./sim-server.ts", import.meta.url));
  const yamlText = fileURLToPath(new URL("./yaml-text.mjs", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", "--import", yamlText, script], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once("line", resolve));
  return { ...(JSON.parse(line) as { url: string; kubeconfigPath: string }), stop: () => child.stdin.end() };
}

interface Row {
  backends: number;
  planMs: number;
  planCpuMs: number;
  planRequests: number;
  applyMs: number;
  applyCpuMs: number;
  applyRequests: number;
}

async function measure(n: number): Promise<Row> {
  const sim = await startSim();
  try {
    const backends = Array.from({ length: n }, (_, i) => `backend-${i + 1}`);
    const names = await seedDemoWorld(sim.url, backends);
    let requests = 0;
    const byKind = new Map<string, number>();
    const onRequest = (r: { method: string; path: string }) => {
      requests++;
      if (!process.env.REQUESTS) return;
      const [path = "", query = ""] = r.path.split("?");
      const kind = path.replace(/\/namespaces\/[^/]+/, "").replace(/^\/apis?\/(?:[^/]+\/)?v[^/]*\//, "");
      const plural = kind.split("/")[0];
      const key = `${r.method} ${plural}${kind.includes("/") ? "/NAME" : ""}${kind.split("/")[2] ? `/${kind.split("/")[2]}` : ""}${query.includes("watch=true") ? " (watch)" : ""}`;
      byKind.set(key, (byKind.get(key) ?? 0) + 1);
    };
    const kubeconfig = { file: sim.kubeconfigPath };
    const client = await connect({ kubeconfig, onRequest });
    await Promise.all(
      names.map(async (name) => client.waitFor(await client.target(name, NS), isHealthy, { timeout: 60_000 })),
    );
    const engine = createReleaseEngine({ client });
    const environment = parseEnvironment(demoEnvironmentInput({ backends, readyTimeoutSeconds: 120 }));
    const payload = parseDeployPayload({ ...JSON.parse(EXAMPLE_PAYLOAD_TEXT), noDowntime: { promotionMode: "auto" } });

    const profiler = process.env.PROFILE ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.start");
    }
    requests = 0;
    let cpu = process.cpuUsage();
    let t = performance.now();
    const plan = await engine.plan(payload, environment);
    const planMs = performance.now() - t;
    let used = process.cpuUsage(cpu);
    const planCpuMs = (used.user + used.system) / 1000;
    const planRequests = requests;

    requests = 0;
    byKind.clear();
    cpu = process.cpuUsage();
    t = performance.now();
    const record = await engine.apply(plan);
    const applyMs = performance.now() - t;
    used = process.cpuUsage(cpu);
    if (profiler) {
      const { profile } = await profiler.post("Profiler.stop");
      writeFileSync(`${process.env.PROFILE}/release-${n}.cpuprofile`, JSON.stringify(profile));
      profiler.disconnect();
    }
    if (process.env.REQUESTS) console.log([...byKind].sort((a, b) => b[1] - a[1]));
    if (record.state !== "promoted") throw new Error(`release ended ${record.state}`);
    client.close();
    return {
      backends: n,
      planMs,
      planCpuMs,
      planRequests,
      applyMs,
      applyCpuMs: (used.user + used.system) / 1000,
      applyRequests: requests,
    };
  } finally {
    sim.stop();
  }
}

// As the built CLI and server run: tsx turns source-mapped stack traces on, and every aborted watch's AbortError
// would pay for mapping its stack, a cost no user pays.
process.setSourceMapsEnabled(false);
const rows: Row[] = [];
for (const n of SIZES) rows.push(await measure(n));
const f = (x: number) => x.toFixed(0);
console.log(
  "| backends | components | plan wall ms | plan rollway CPU ms | plan requests | apply wall ms | apply rollway CPU ms | apply requests | requests / component |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const components = r.backends + 2;
  console.log(
    `| ${r.backends} | ${components} | ${f(r.planMs)} | ${f(r.planCpuMs)} | ${r.planRequests} | ${f(r.applyMs)} | ${f(r.applyCpuMs)} | ${r.applyRequests} | ${((r.planRequests + r.applyRequests) / components).toFixed(1)} |`,
  );
}
