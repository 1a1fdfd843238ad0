/**
 * Promote 20 blue-green Rollouts at once and wait until all are Healthy, against kube-sim running in a child
 * process (so this process's CPU time is rollway's own). Compared in the same run with a polling baseline that
 * promotes the same way and then GETs every Rollout once per second of cluster time, as scripts around
 * `kubectl get` do. Each iteration prints its request counts and times; the bench timing itself includes the
 * set-up (20 Rollouts brought to BlueGreenPause).
 */
import { type ChildProcess, fork } from "node:child_process";
import { bench, describe } from "vitest";
import { openConnection } from "../src/connect.js";
import { connect, isHealthy, type RolloutClient, rolloutStatus, type Target } from "../src/index.js";
import type { RolloutObject } from "../src/resources.js";

const ROLLOUTS = 20;
const NAMESPACE = "bench";
const STEP_MS = 500;

interface Sim {
  child: ChildProcess;
  kubeconfig: string;
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

async function startSim(): Promise<Sim> {
  const child = fork(new URL("./sim-process.mjs", import.meta.url), { stdio: "inherit" });
  const kubeconfig = await new Promise<string>((resolve) =>
    child.once("message", (m: { kubeconfig: string }) => resolve(m.kubeconfig)),
  );
  let next = 0;
  return {
    child,
    kubeconfig,
    advance: (ms) =>
      new Promise((resolve) => {
        const id = next++;
        const onMessage = (m: { id?: number }) => {
          if (m.id !== id) return;
          child.off("message", onMessage);
          resolve();
        };
        child.on("message", onMessage);
        child.send({ advance: ms, id });
      }),
    close: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.send({ close: true });
      }),
  };
}

/** Moves cluster time in steps until `done` resolves. */
async function drive<T>(sim: Sim, done: Promise<T>): Promise<T> {
  let settled = false;
  done.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    await sim.advance(STEP_MS);
    await new Promise((r) => setTimeout(r, 2));
  }
  return done;
}

async function prepare() {
  const sim = await startSim();
  const requests: { method: string; path: string }[] = [];
  let counting = false;
  const client = await connect({
    kubeconfig: { yaml: sim.kubeconfig },
    onRequest: (r) => counting && requests.push(r),
  });
  const setup = await openConnection({ kubeconfig: { yaml: sim.kubeconfig } });
  const create = (path: string, body: object) =>
    setup.request({ method: "POST", path, body, resource: { kind: "bench" } });
  await create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
  const targets: Target[] = [];
  for (let i = 0; i < ROLLOUTS; i++) {
    const name = `svc-${i}`;
    for (const role of ["active", "preview"]) {
      await create(`/api/v1/namespaces/${NAMESPACE}/services`, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: `${name}-${role}` },
        spec: { selector: { app: name }, ports: [{ port: 80 }] },
      });
    }
    await create(`/apis/argoproj.io/v1alpha1/namespaces/${NAMESPACE}/rollouts`, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `${name}:1` }] } },
        strategy: {
          blueGreen: {
            activeService: `${name}-active`,
            previewService: `${name}-preview`,
            autoPromotionEnabled: false,
          },
        },
      },
    });
    targets.push(await client.target(name));
  }
  await drive(sim, Promise.all(targets.map((t) => client.waitFor(t, isHealthy))));
  await Promise.all(targets.map((t, i) => client.setImages(t, { [`svc-${i}`]: `svc-${i}:2` })));
  await drive(sim, Promise.all(targets.map((t) => client.waitFor(t, (s) => s.phase === "Paused"))));
  return {
    sim,
    client,
    targets,
    requests,
    startCounting: () => {
      requests.length = 0;
      counting = true;
    },
    async close() {
      client.close();
      setup.close();
      await sim.close();
    },
  };
}

function summarise(label: string, requests: { method: string; path: string }[], phases: Record<string, number>) {
  const watches = requests.filter((r) => r.method === "GET" && r.path.includes("watch=true")).length;
  const gets = requests.filter((r) => r.method === "GET" && !r.path.includes("watch=true")).length;
  const writes = requests.filter((r) => r.method !== "GET").length;
  console.log(
    `${label}: writes=${writes} (${writes / ROLLOUTS}/Rollout) GETs=${gets} watches=${watches} ` +
      Object.entries(phases)
        .map(([k, v]) => `${k}=${v.toFixed(1)}ms`)
        .join(" "),
  );
}

async function promoteAll(client: RolloutClient, targets: Target[]) {
  await Promise.all(targets.map((t) => client.promote(t)));
}

describe(`promote ${ROLLOUTS} blue-green Rollouts and wait until all are Healthy`, () => {
  bench(
    "rollway: promote, then waitFor (watch)",
    async () => {
      const env = await prepare();
      env.startCounting();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await promoteAll(env.client, env.targets);
      const t1 = performance.now();
      const cpu1 = process.cpuUsage(cpu0);
      const promoteRequests = env.requests.length;
      const cpu2start = process.cpuUsage();
      await drive(
        env.sim,
        Promise.all(env.targets.map((t) => env.client.waitFor(t, (s) => isHealthy(s) && s.stableRevision === 2))),
      );
      const cpu2 = process.cpuUsage(cpu2start);
      summarise("rollway", env.requests, {
        promoteWall: t1 - t0,
        promoteCpu: (cpu1.user + cpu1.system) / 1000,
        waitCpu: (cpu2.user + cpu2.system) / 1000,
      });
      console.log(
        `  promote phase requests=${promoteRequests}, wait phase requests=${env.requests.length - promoteRequests}`,
      );
      await env.close();
    },
    { iterations: 3, time: 0, warmupIterations: 0, warmupTime: 0 },
  );

  bench(
    "baseline: promote, then GET each Rollout every second of cluster time",
    async () => {
      const env = await prepare();
      env.startCounting();
      const conn = await openConnection({
        kubeconfig: { yaml: env.sim.kubeconfig },
        onRequest: (r) => env.requests.push(r),
      });
      await promoteAll(env.client, env.targets);
      const promoteRequests = env.requests.length;
      const cpu0 = process.cpuUsage();
      const pending = new Set(env.targets.map((t) => t.name));
      while (pending.size > 0) {
        for (const name of [...pending]) {
          const rollout = await conn.request<RolloutObject>({
            method: "GET",
            path: `/apis/argoproj.io/v1alpha1/namespaces/${NAMESPACE}/rollouts/${name}`,
            resource: { kind: "Rollout", name },
          });
          const status = rolloutStatus({ rollout });
          if (status.phase === "Healthy" && status.stableRevision === 2) pending.delete(name);
        }
        if (pending.size > 0) await env.sim.advance(1000);
      }
      const cpu = process.cpuUsage(cpu0);
      summarise("baseline", env.requests, { waitCpu: (cpu.user + cpu.system) / 1000 });
      console.log(
        `  promote phase requests=${promoteRequests}, wait phase requests=${env.requests.length - promoteRequests}`,
      );
      conn.close();
      await env.close();
    },
    { iterations: 3, time: 0, warmupIterations: 0, warmupTime: 0 },
  );
});
