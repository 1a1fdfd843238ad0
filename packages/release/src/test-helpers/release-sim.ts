/**
 * Test resources: a kube-sim (real clock, short delays) holding the demo environment's workloads — a frontend and
 * five backends as blue-green Argo Rollouts with their active and preview Services, a platform Deployment — and a
 * release engine connected to it over HTTP. Everything is disposed by `onTestFinished`, as trpc's `*Resource`
 * helpers do.
 */
import { type KubeSim, ManualClock, startKubeSim } from "@rollway/kube-sim";
import { EXAMPLE_PAYLOAD_TEXT, parseDeployPayload } from "@rollway/payload-schema";
import { type Clock, type Connection, connect, isHealthy, type RolloutClient } from "@rollway/rollout-client";
import { onTestFinished } from "vitest";
import { createReleaseEngine, type ReleaseEngine } from "../engine.js";
import { type Environment, parseEnvironment } from "../environment.js";
import type { ReleaseEvent } from "../events.js";
import { clusterProxyResource } from "./cluster-proxy.js";
import { demoEnvironmentInput, NS, type Obj, OLD, pathsIn, seedDemoWorld } from "./demo-world.js";

export * from "./demo-world.js";

export interface ReleaseSim {
  /** Disposes of everything (only needed with `dispose: "manual"`). */
  close(): Promise<void>;
  sim: KubeSim;
  /** The kube-sim the world is in (its clock, `freeze()`). */
  cluster: SimCluster;
  /** The world's namespace, and the paths of its collections. */
  ns: string;
  paths: ReturnType<typeof pathsIn>;
  engine: ReleaseEngine;
  /** The engine's connection (its rollout-client's): records, Leases, any object. */
  api: Connection;
  /** The engine's rollout-client. */
  client: RolloutClient;
  environment: Environment;
  /** Every request the engine sent. */
  requests: { method: string; path: string }[];
  /** A second engine with its own connections: another process (a server replica, the CLI). */
  otherEngine(options?: { leaseDurationSeconds?: number }): Promise<ReleaseEngine>;
  /**
   * Another engine whose connections go through a TCP proxy (`clusterProxyResource`): `crash()` cuts every
   * connection and refuses new ones, and stops the engine's timers (`processClock`), so the engine is gone as after
   * `kill -9` (its Lease is never let go, its pending promises never settle); `stall()` lets nothing pass (its Lease is
   * not renewed) until `resume()`. In-process.
   */
  proxiedEngine(options?: {
    identity?: string;
    leaseDurationSeconds?: number;
  }): Promise<{ engine: ReleaseEngine; crash(): Promise<void>; stall(): void; resume(): void }>;
  get(path: string): Promise<Obj>;
  /** The image the active Service of a Rollout sends users to, read from the ReplicaSet it selects. */
  serving(rollout: string): Promise<{ image: string; configMap: string | undefined }>;
}

/** A kube-sim for one test or one whole file (many worlds, one namespace each, as model-based tests make). */
export interface SimCluster {
  sim: KubeSim;
  /** The ManualClock every clock runs on, with `fastClock`. */
  clock: ManualClock | undefined;
  /**
   * With `fastClock`: stops moving the clock until the returned function is called (resolves once it stopped), so
   * a test can show that something happens with no clock time passing (no timer, back-off or timeout involved).
   */
  freeze(): Promise<() => void>;
  close(): Promise<void>;
}

/**
 * Starts a kube-sim (short delays). `fastClock`: every clock (kube-sim's controllers, the engine, rollout-client) on
 * one ManualClock that the helper moves 500 ms forward every 5 ms of real time, for controllers with long intervals
 * (Flagger ticks at least every 10 s). Disposed when the test ends, or by `close()` with `dispose: "manual"`.
 */
export async function kubeSimResource(
  options: {
    fastClock?: boolean;
    /** With `fastClock`: clock time per step (default 500 ms; each step is followed by 5 ms of real time). */
    stepMs?: number;
    namespace?: string;
    dispose?: "test" | "manual";
  } = {},
): Promise<SimCluster> {
  const stepMs = options.stepMs ?? 500;
  const clock = options.fastClock ? new ManualClock(Date.now()) : undefined;
  const sim = await startKubeSim({
    ...(clock ? { clock } : {}),
    namespace: options.namespace ?? NS,
    readyDelayMs: 20,
    jobRunMs: 20,
  });
  let running = true;
  /** While set, the driver stays parked: `parked` resolves once it is, `thaw()` lets it go on. */
  let gate: { parked: Promise<void>; onParked: () => void; thawed: Promise<void>; thaw: () => void } | undefined;
  const driving = clock
    ? (async () => {
        while (running) {
          if (gate) {
            gate.onParked();
            await gate.thawed;
          }
          await sim.advance(stepMs);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })()
    : Promise.resolve();
  const freeze = async () => {
    if (!gate) {
      let onParked = () => {};
      let thaw = () => {};
      const parked = new Promise<void>((resolve) => {
        onParked = resolve;
      });
      const thawed = new Promise<void>((resolve) => {
        thaw = () => {
          gate = undefined;
          resolve();
        };
      });
      gate = { parked, onParked, thawed, thaw };
    }
    const { parked, thaw } = gate;
    if (clock) await parked;
    return thaw;
  };
  const close = async () => {
    running = false;
    gate?.thaw();
    await driving;
    await sim.close();
  };
  if (options.dispose !== "manual") onTestFinished(close);
  return {
    sim,
    clock,
    close,
    freeze,
  };
}

/**
 * One process's view of the shared clock: `stop()` cancels its timers and ignores new ones, so nothing of that process
 * runs again, as after `kill -9` or its exit. Without it, an engine whose proxy was cut ("crashed") went on renewing
 * its Lease and re-opening its watches with back-offs on the shared clock, and every world left its loops behind: the
 * model test's sequences took four times as long by the 200th (BENCHMARKS.md, fifteenth session).
 */
function processClock(clock: Clock): { clock: Clock; stop(): void } {
  let stopped = false;
  const live = new Set<{ cancel(): void }>();
  return {
    clock: {
      now: () => clock.now(),
      setTimer(ms, fn) {
        if (stopped) return { cancel() {} };
        const timer = clock.setTimer(ms, () => {
          live.delete(timer);
          fn();
        });
        live.add(timer);
        return {
          cancel() {
            live.delete(timer);
            timer.cancel();
          },
        };
      },
    },
    stop() {
      stopped = true;
      for (const timer of live) timer.cancel();
      live.clear();
    },
  };
}

/** Deletes everything in a namespace, then the namespace (test teardown, straight in the store). */
function removeNamespace(sim: KubeSim, namespace: string): void {
  for (const type of sim.store.types.all()) {
    if (!type.namespaced) continue;
    for (const o of sim.store.listRaw(type, namespace).items) {
      try {
        sim.store.delete(type, namespace, o.metadata.name as string, { gracePeriodSeconds: 0 });
      } catch {
        // already gone with its owner
      }
    }
  }
  const namespaces = sim.store.types.get("", "namespaces");
  if (namespaces && namespace !== "default") sim.store.delete(namespaces, undefined, namespace);
}

export async function releaseSimResource(
  options: {
    readyTimeoutSeconds?: number;
    backends?: string[];
    leaseDurationSeconds?: number;
    /** See `kubeSimResource`; ignored with `on` (the cluster's clock is used). */
    fastClock?: boolean;
    /** "manual": the caller disposes with `close()` (many worlds in one test, as model-based tests make). */
    dispose?: "test" | "manual";
    /** Lay the world out in this running kube-sim (its own namespace) instead of starting one; `close()` leaves it. */
    on?: SimCluster;
    /** Default `demo`. */
    namespace?: string;
    /** The platform Deployment `orchestrator` (default true). */
    platform?: boolean;
  } = {},
): Promise<ReleaseSim> {
  const ns = options.namespace ?? NS;
  const cluster =
    options.on ?? (await kubeSimResource({ fastClock: options.fastClock, namespace: ns, dispose: "manual" }));
  const { sim, clock } = cluster;
  // In a shared kube-sim the world goes with its namespace: the next worlds' lists and resyncs stay as cheap.
  const closers: (() => void | Promise<void>)[] = [options.on ? () => removeNamespace(sim, ns) : () => cluster.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  if (options.dispose !== "manual") onTestFinished(closeAll);
  const requests: { method: string; path: string }[] = [];
  const makeEngine = async (
    o: { track?: boolean; leaseDurationSeconds?: number; identity?: string; kubeconfig?: string } = {},
  ) => {
    const onRequest = o.track ? (r: { method: string; path: string }) => requests.push(r) : undefined;
    // Each engine is a process of its own: its client and engine share a clock that ends with it.
    const own = clock ? processClock(clock) : undefined;
    const client = await connect({
      kubeconfig: { yaml: o.kubeconfig ?? sim.kubeconfig },
      ...(onRequest ? { onRequest } : {}),
      ...(own ? { clock: own.clock } : {}),
    });
    closers.push(() => {
      own?.stop();
      client.close();
    });
    return {
      api: client.connection,
      client,
      engine: createReleaseEngine({
        client,
        leaseDurationSeconds: o.leaseDurationSeconds ?? options.leaseDurationSeconds ?? 30,
        ...(o.identity ? { identity: o.identity } : {}),
        ...(own ? { clock: own.clock } : {}),
      }),
      /** Nothing of this engine runs again (its releases stay as it left them). */
      stop: () => own?.stop(),
    };
  };
  const { api, client, engine } = await makeEngine({ track: true });
  const http = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text}`);
    return JSON.parse(text) as Obj;
  };
  const world = { ...options, namespace: ns };
  const environment = parseEnvironment(demoEnvironmentInput(world));
  const names = await seedDemoWorld(sim.url, world);
  // Every workload Healthy (watched through rollout-client) before the test starts.
  await Promise.all(
    names.map(async (name) => client.waitFor(await client.target(name, ns), isHealthy, { timeout: 10_000 })),
  );
  requests.length = 0;

  const paths = pathsIn(ns);
  return {
    close: closeAll,
    cluster,
    ns,
    paths,
    sim,
    engine,
    client,
    api,
    environment,
    requests,
    otherEngine: async (o = {}) => (await makeEngine(o)).engine,
    async proxiedEngine(o = {}) {
      const proxy = await clusterProxyResource(sim, { dispose: "manual" });
      closers.push(proxy.cut);
      const { engine, stop } = await makeEngine({ ...o, kubeconfig: proxy.kubeconfig });
      const crash = async () => {
        await proxy.cut();
        stop();
      };
      return { engine, crash, stall: proxy.stall, resume: proxy.resume };
    },
    get: (path) => http("GET", path),
    async serving(rollout) {
      const ro = await http("GET", `${paths.rollouts}/${rollout}`);
      const svc = await http("GET", `${paths.services}/${ro.spec.strategy.blueGreen.activeService}`);
      const hash = svc.spec.selector["rollouts-pod-template-hash"];
      const rs = (await http("GET", paths.replicaSets)).items.find(
        (x: Obj) =>
          x.metadata.labels?.["rollouts-pod-template-hash"] === hash &&
          x.metadata.ownerReferences?.[0]?.name === rollout,
      );
      const spec = rs?.spec.template.spec;
      return {
        image: spec?.containers[0].image,
        configMap: spec?.volumes?.find((v: Obj) => v.name === "rollway-oconfig")?.configMap.name,
      };
    },
  };
}

export const NEW = {
  frontend: "my-registry/image-for-frontend:tag",
  "backend-1": "my-registry/image-for-backend-1:tag",
  other: "my-registry/image-for-other-backends:tag",
};
const parsedPayloads = new Map<string, ReturnType<typeof parseDeployPayload>>();
/**
 * The seed's example payload with `extra` fields replaced. Parsed once per distinct input (a copy each call): the
 * deploy rules' pattern safety check is the slow part of parsing, and model-based tests deploy hundreds of times.
 */
export const seedPayload = (extra: Record<string, unknown> = {}) => {
  const key = JSON.stringify(extra);
  let parsed = parsedPayloads.get(key);
  if (!parsed) {
    parsed = parseDeployPayload({ ...JSON.parse(EXAMPLE_PAYLOAD_TEXT), ...extra });
    parsedPayloads.set(key, parsed);
  }
  return structuredClone(parsed);
};
/** The seed's payload with the frontend at `tag`, promoted automatically: a release that runs to its end alone. */
export const autoPayload = (tag: string) => ({
  // The one parse of the automatic seed payload (a plain image string is the only change: no rule to check again).
  ...seedPayload({ noDowntime: { promotionMode: "auto" } }),
  frontend: { image: `my-registry/image-for-frontend:${tag}` },
});
export const expectedImage = (b: string) => (b === "backend-1" ? NEW["backend-1"] : NEW.other);
export const oldImage = (b: string) => (b === "backend-1" ? OLD["backend-1"] : OLD.other);

/** Collects events and resolves waiters for a given event type. */
export function eventLog() {
  const events: ReleaseEvent[] = [];
  const waiters: { type: string; resolve: (e: ReleaseEvent) => void }[] = [];
  return {
    events,
    onEvent(e: ReleaseEvent) {
      events.push(e);
      for (const w of waiters.filter((x) => x.type === e.type)) w.resolve(e);
    },
    next(type: ReleaseEvent["type"]): Promise<ReleaseEvent> {
      const seen = events.find((e) => e.type === type);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ type, resolve }));
    },
    types: () => events.map((e) => e.type),
  };
}
