/** `startKubeSim()`: wires the store, the HTTP(S) server, the controllers and the faults together. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Clock, ManualClock, realClock, type TimerHandle } from "./clock.js";
import { builtInControllers } from "./controllers/index.js";
import {
  type Controller,
  type ControllerContext,
  type ControllerError,
  ControllerRuntime,
  type SimTiming,
} from "./controllers/runtime.js";
import { crdToType, defaultCrdSources, type KubeObject, loadCrds } from "./crds.js";
import { KubeSimError } from "./errors.js";
import { Faults } from "./faults.js";
import { builtInTypes, type ResourceType, ResourceTypes } from "./resources.js";
import { createApiHandler } from "./server/handler.js";
import { renderKubeconfig } from "./server/kubeconfig.js";
import { servingCert } from "./server/tls.js";
import { Store } from "./store.js";

// Node 20 has both symbols, but older runtimes and some bundlers do not: fall back to the registered symbols.
const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for("nodejs.asyncDispose");

export interface KubeSimOptions {
  /** Port to listen on (127.0.0.1); a free port when unset. */
  port?: number;
  /** Serve HTTPS with a self-signed certificate (put in the kubeconfig as the CA). */
  tls?: boolean;
  /** The clock that drives every controller wait. Default: the real clock. Tests pass a `ManualClock`. */
  clock?: Clock;
  /** Time a started container takes to become ready. Default 1000 ms. */
  readyDelayMs?: number;
  /** Time a Job's pod runs before it exits. Default 1000 ms. */
  jobRunMs?: number;
  /** Time between restarts of a crashing container. Default 10000 ms. */
  crashBackoffMs?: number;
  /** Time a deleted pod stays Terminating (capped by its grace period). Default 0: gone at the next reconcile. */
  terminationDelayMs?: number;
  /** CRD YAML files or folders to load. Default: the repo's shared fixtures, else the CRDs shipped in the package. */
  crds?: string[];
  /** Controllers to run. Default: `builtInControllers` (Deployment, ReplicaSet, Pod, Job, and any registered). */
  controllers?: Controller[];
  /** Namespace of the kubeconfig's context. Default "default". */
  namespace?: string;
  /** Seed for generated names and UIDs, so runs are reproducible. */
  seed?: number;
  /** How many changes watches can resume from (older resource versions get 410 Gone). Default 10000. */
  watchHistory?: number;
  /** Called for each failed reconcile (they are also thrown from `settle()`). */
  onControllerError?: (error: ControllerError) => void;
}

export interface KubeSim {
  /** Base URL of the API server, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Path of a kubeconfig file for kubectl (`KUBECONFIG=...`); deleted by `close()`. */
  kubeconfigPath: string;
  kubeconfig: string;
  store: Store;
  clock: Clock;
  faults: Faults;
  controllers: ControllerRuntime;
  /** Runs controllers until nothing is pending at the current clock time. */
  settle(): Promise<void>;
  /** Moves a `ManualClock` forward, settling controllers at each timer along the way. */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const typeByCrd = new WeakMap<KubeObject, ResourceType>();

/** Loads CRDs at module level once per set of sources (parsing and schema compiling are the slow part). */
function crdsFor(sources: string[]): { crd: KubeObject; type: ResourceType }[] {
  return loadCrds(sources).map((crd) => {
    let type = typeByCrd.get(crd);
    if (!type) {
      type = crdToType(crd);
      typeByCrd.set(crd, type);
    }
    return { crd, type };
  });
}

function seedCluster(store: Store): void {
  const ns = store.types.get("", "namespaces") as ResourceType;
  for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    store.create(ns, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { "kubernetes.io/metadata.name": name } },
    });
  }
  const nodes = store.types.get("", "nodes") as ResourceType;
  const node = store.create(nodes, undefined, {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: "kube-sim-node",
      labels: { "kubernetes.io/hostname": "kube-sim-node", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" },
    },
    spec: { podCIDR: "10.244.0.0/24" },
  }).object;
  store.update(
    nodes,
    undefined,
    "kube-sim-node",
    {
      ...node,
      status: {
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            message: "kubelet is posting ready status",
            lastHeartbeatTime: store.timestamp(),
            lastTransitionTime: store.timestamp(),
          },
        ],
        addresses: [
          { type: "InternalIP", address: "10.0.0.10" },
          { type: "Hostname", address: "kube-sim-node" },
        ],
        allocatable: { cpu: "2", memory: "8Gi", pods: "110" },
        capacity: { cpu: "2", memory: "8Gi", pods: "110" },
        nodeInfo: {
          kubeletVersion: "v1.32.0-kube-sim",
          operatingSystem: "linux",
          architecture: "amd64",
          containerRuntimeVersion: "kube-sim://1",
        },
      },
    },
    { subresource: "status" },
  );
  const services = store.types.get("", "services") as ResourceType;
  store.create(services, "default", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
    spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }] },
  });
}

export async function startKubeSim(options: KubeSimOptions = {}): Promise<KubeSim> {
  for (const key of ["readyDelayMs", "jobRunMs", "crashBackoffMs", "terminationDelayMs"] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw new KubeSimError("INVALID_OPTIONS", `${key} must be a number of milliseconds >= 0, got ${v}`);
  }
  const clock = options.clock ?? realClock();
  const types = new ResourceTypes(builtInTypes());
  const store = new Store(types, { clock, seed: options.seed, historySize: options.watchHistory });
  seedCluster(store);
  const crdType = types.get("apiextensions.k8s.io", "customresourcedefinitions") as ResourceType;
  for (const { crd, type } of crdsFor(options.crds ?? defaultCrdSources())) store.seedCrd(crdType, crd, type);

  const faults = new Faults();
  const eventExpiries = new EventExpiries(store, clock);
  const timing: SimTiming = {
    readyDelayMs: options.readyDelayMs ?? 1000,
    jobRunMs: options.jobRunMs ?? 1000,
    crashBackoffMs: options.crashBackoffMs ?? 10_000,
    terminationDelayMs: options.terminationDelayMs ?? 0,
  };
  const ctx: ControllerContext = {
    store,
    clock,
    faults,
    timing,
    recordEvent: (obj, type, reason, message, component) =>
      recordEvent(store, eventExpiries, obj, type, reason, message, component),
  };
  const runtime = new ControllerRuntime(options.controllers ?? builtInControllers, ctx, {
    onError: options.onControllerError,
  });

  const cert = options.tls ? await servingCert() : undefined;
  let address = "127.0.0.1:0";
  const handler = createApiHandler({ store, faults, serverAddress: () => address, now: () => clock.now() });
  const server: Server = cert
    ? createHttpsServer({ cert: cert.cert, key: cert.key }, handler.handle)
    : createHttpServer(handler.handle);
  server.keepAliveTimeout = 5_000;
  const unsubscribeFaults = faults.onChange((what) => {
    if (what === "watches") handler.closeWatches();
    else if (what === "watches-expired") handler.closeWatches("expired");
    else if (what === "history") store.compact();
    else runtime.resync({ apiVersion: "v1", kind: "Pod" });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    runtime.close();
    throw new KubeSimError(
      "START_FAILED",
      `kube-sim could not listen on 127.0.0.1:${options.port ?? 0}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `${cert ? "https" : "http"}://${address}`;
  const kubeconfig = renderKubeconfig(url, cert?.cert, options.namespace);
  const dir = mkdtempSync(join(tmpdir(), "rollway-kube-sim-"));
  const kubeconfigPath = join(dir, "kubeconfig");
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      runtime.close();
      eventExpiries.close();
      unsubscribeFaults();
      handler.closeWatches();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    })();
    return closed;
  };

  const sim: KubeSim = {
    url,
    kubeconfigPath,
    kubeconfig,
    store,
    clock,
    faults,
    controllers: runtime,
    settle: () => runtime.settle(),
    async advance(ms: number) {
      if (!(clock instanceof ManualClock))
        throw new KubeSimError(
          "INVALID_OPTIONS",
          "sim.advance() needs the simulator to run on a ManualClock (startKubeSim({ clock: new ManualClock() }))",
        );
      if (!Number.isFinite(ms) || ms < 0)
        throw new KubeSimError("INVALID_OPTIONS", `sim.advance() needs a number of ms >= 0, got ${ms}`);
      const target = clock.now() + ms;
      await runtime.settle();
      for (;;) {
        const next = clock.nextTimerAt();
        if (next === undefined || next > target) break;
        clock.advance(Math.max(0, next - clock.now()));
        await runtime.settle();
      }
      clock.advance(target - clock.now());
      await runtime.settle();
    },
    close,
    [asyncDispose]: close,
  };
  return sim;
}

/** Events live one hour, as with the API server's default --event-ttl. */
export const EVENT_TTL_MS = 60 * 60 * 1000;

/**
 * When each Event expires, with one clock timer for all of them (not one per Event: on a manual clock, timers pile
 * up in long model runs and every step scans them). The TTL is the same for every Event and the clock only moves
 * forward, so the Events in order of their last occurrence are in order of expiry: a Map kept in that order (a
 * repeat moves its Event to the end) and one timer at the first one's expiry, which deletes every Event due then
 * and sets itself for the next.
 */
class EventExpiries {
  /** Event identity (namespace, object, type, reason, message) → its name and expiry, in order of expiry. */
  private readonly byIdentity = new Map<string, { ns: string; name: string; at: number }>();
  private timer: TimerHandle | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** The name of the Event that stands for `identity`, while it lives. */
  nameOf(identity: string): string | undefined {
    return this.byIdentity.get(identity)?.name;
  }

  /** The Event `name` occurred now: it expires EVENT_TTL_MS from now. */
  occurred(identity: string, ns: string, name: string): void {
    this.byIdentity.delete(identity);
    this.byIdentity.set(identity, { ns, name, at: this.clock.now() + EVENT_TTL_MS });
    if (!this.timer) this.schedule();
  }

  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.byIdentity.clear();
  }

  private schedule(): void {
    const first = this.byIdentity.values().next().value;
    if (!first) return;
    this.timer = this.clock.setTimer(first.at - this.clock.now(), () => {
      this.timer = undefined;
      this.sweep();
    });
  }

  private sweep(): void {
    const events = this.store.types.get("", "events");
    const now = this.clock.now();
    for (const [identity, e] of this.byIdentity) {
      if (e.at > now) break;
      this.byIdentity.delete(identity);
      if (events && this.store.peek(events, e.ns, e.name)) this.store.delete(events, e.ns, e.name);
    }
    this.schedule();
  }
}

/**
 * Writes a core/v1 Event as the client-go event recorder does: a repeat of the same reason and message about the
 * same object bumps `count` and `lastTimestamp` on the existing Event instead of adding one (what `kubectl
 * describe` shows as "x3 over 2m"); each Event is deleted an hour after its last occurrence.
 */
function recordEvent(
  store: Store,
  expiries: EventExpiries,
  obj: KubeObject,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
  component: string,
): void {
  const events = store.types.get("", "events");
  const ns = obj.metadata.namespace ?? "default";
  if (!events || !store.peek(store.types.get("", "namespaces") as ResourceType, undefined, ns)) return;
  const now = store.timestamp();
  // Which Event stands for this (object, type, reason, message): kept by the caller so no list is needed.
  const identity = `${ns}\u0000${obj.metadata.uid}\u0000${type}\u0000${reason}\u0000${message}`;
  const knownName = expiries.nameOf(identity);
  const same = knownName ? store.peek(events, ns, knownName) : undefined;
  let name: string;
  if (same) {
    name = same.metadata.name as string;
    store.patch(events, ns, name, "merge", {
      count: ((same.count as number | undefined) ?? 1) + 1,
      lastTimestamp: now,
    });
  } else {
    name = `${obj.metadata.name}.${store.randomSuffix()}${store.randomSuffix()}`;
    store.create(events, ns, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: ns },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: component,
      reportingInstance: "kube-sim",
    });
  }
  expiries.occurred(identity, ns, name);
}
