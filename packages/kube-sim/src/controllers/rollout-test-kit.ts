// Test helpers for the Argo Rollouts and Flagger controller tests: a kube-sim on a manual clock, a tiny HTTP
// client that speaks to it as kubectl and the kubectl-argo-rollouts plugin do (plain fetch, JSON and merge/JSON
// patches), watch recording, and a webhook receiver. Every resource is disposable (`await using`).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadAll } from "js-yaml";
import { ManualClock } from "../clock.js";
import { type KubeSim, startKubeSim } from "../sim.js";
import type { Controller } from "./runtime.js";

export const NS = "default";

export const PATHS = {
  rollouts: `/apis/argoproj.io/v1alpha1/namespaces/${NS}/rollouts`,
  canaries: `/apis/flagger.app/v1beta1/namespaces/${NS}/canaries`,
  analysisRuns: `/apis/argoproj.io/v1alpha1/namespaces/${NS}/analysisruns`,
  analysisTemplates: `/apis/argoproj.io/v1alpha1/namespaces/${NS}/analysistemplates`,
  clusterAnalysisTemplates: "/apis/argoproj.io/v1alpha1/clusteranalysistemplates",
  metricTemplates: `/apis/flagger.app/v1beta1/namespaces/${NS}/metrictemplates`,
  jobs: `/apis/batch/v1/namespaces/${NS}/jobs`,
  replicaSets: `/apis/apps/v1/namespaces/${NS}/replicasets`,
  deployments: `/apis/apps/v1/namespaces/${NS}/deployments`,
  services: `/api/v1/namespaces/${NS}/services`,
  pods: `/api/v1/namespaces/${NS}/pods`,
  events: `/api/v1/namespaces/${NS}/events`,
} as const;

const CONTENT_TYPES = {
  json: "application/json",
  merge: "application/merge-patch+json",
  jsonPatch: "application/json-patch+json",
} as const;

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Kubernetes objects
export type Obj = any;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body}`);
  }
}

/** A kube-sim on a ManualClock plus an HTTP client for it. */
export interface SimResource extends AsyncDisposable {
  sim: KubeSim;
  get(path: string): Promise<Obj>;
  list(path: string, labelSelector?: string): Promise<Obj[]>;
  create(path: string, body: Obj): Promise<Obj>;
  mergePatch(path: string, body: Obj): Promise<Obj>;
  jsonPatch(path: string, ops: Obj[]): Promise<Obj>;
  /** Advances the simulator's clock by `ms`, running every controller wait that falls due. */
  advance(ms: number): Promise<void>;
  /** Advances in `stepMs` steps until `check` returns a truthy value; fails after `maxMs` of clock time. */
  until<T>(what: string, check: () => Promise<T | undefined | false>, maxMs?: number, stepMs?: number): Promise<T>;
  /** Records watch events of a collection (JSON lines over HTTP), as a client sees them. */
  watch(path: string): Promise<WatchRecorder>;
  /** Runs the real kubectl (v1.32, /usr/bin/kubectl or $KUBECTL) against the simulator. */
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

const run = promisify(execFile);
const KUBECTL = process.env.KUBECTL ?? "/usr/bin/kubectl";

export interface WatchRecorder {
  events: Array<{ type: string; object: Obj }>;
  close(): void;
}

export async function simResource(
  options: { readyDelayMs?: number; controllers?: Controller[] } = {},
): Promise<SimResource> {
  const sim = await startKubeSim({
    clock: new ManualClock(Date.UTC(2026, 0, 1)),
    readyDelayMs: options.readyDelayMs ?? 2000,
    controllers: options.controllers,
  });
  const watches: WatchRecorder[] = [];

  async function request(method: string, path: string, body?: unknown, type: keyof typeof CONTENT_TYPES = "json") {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": CONTENT_TYPES[type] },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new HttpError(res.status, text);
    return JSON.parse(text) as Obj;
  }

  const resource: SimResource = {
    sim,
    get: (path) => request("GET", path),
    list: async (path, labelSelector) => {
      const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
      return (await request("GET", `${path}${q}`)).items as Obj[];
    },
    create: (path, body) => request("POST", path, body),
    mergePatch: (path, body) => request("PATCH", path, body, "merge"),
    jsonPatch: (path, ops) => request("PATCH", path, ops, "jsonPatch"),
    advance: (ms) => sim.advance(ms),
    async until(what, check, maxMs = 120_000, stepMs = 1000) {
      let waited = 0;
      for (;;) {
        await sim.settle();
        const value = await check();
        if (value) return value;
        if (waited >= maxMs) throw new Error(`still waiting after ${maxMs} ms of clock time for: ${what}`);
        await sim.advance(stepMs);
        waited += stepMs;
      }
    },
    async watch(path) {
      const controller = new AbortController();
      const res = await fetch(`${sim.url}${path}?watch=1`, { signal: controller.signal });
      if (!res.ok || !res.body) throw new HttpError(res.status, await res.text());
      const recorder: WatchRecorder = { events: [], close: () => controller.abort() };
      const decoder = new TextDecoder();
      let buffer = "";
      const reader = res.body.getReader();
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            buffer += decoder.decode(value, { stream: true });
            let nl = buffer.indexOf("\n");
            while (nl >= 0) {
              const line = buffer.slice(0, nl).trim();
              buffer = buffer.slice(nl + 1);
              if (line) recorder.events.push(JSON.parse(line));
              nl = buffer.indexOf("\n");
            }
          }
        } catch {
          // aborted by close()
        }
      })();
      watches.push(recorder);
      return recorder;
    },
    async kubectl(...args) {
      try {
        const { stdout, stderr } = await run(KUBECTL, args, {
          env: { ...process.env, KUBECONFIG: sim.kubeconfigPath },
          timeout: 30_000,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
      }
    },
    async [Symbol.asyncDispose]() {
      for (const w of watches) w.close();
      await sim.close();
    },
  };
  return resource;
}

/** One call a webhook receiver got. */
export interface HookCall {
  path: string;
  body: Obj;
  authorization: string | undefined;
}

/** An HTTP server answering webhooks with a status per path that a test can change. */
export interface HookServer extends AsyncDisposable {
  url: string;
  calls: HookCall[];
  /** Status code answered on `path` (default 200). */
  respond(path: string, status: number): void;
  /** Holds every request to `path` unanswered until the returned function is called (a hanging webhook). */
  hold(path: string): () => void;
  /** How many requests are being held right now. */
  held(): number;
}

export async function hookServer(): Promise<HookServer> {
  const statuses = new Map<string, number>();
  const holds = new Map<string, Array<() => void>>();
  let heldNow = 0;
  const calls: HookCall[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const path = req.url ?? "/";
      calls.push({ path, body: body ? JSON.parse(body) : undefined, authorization: req.headers.authorization });
      const answer = () => {
        const status = statuses.get(path) ?? 200;
        res.statusCode = status;
        res.end(status < 300 ? "ok" : "gate closed");
      };
      const waiting = holds.get(path);
      if (!waiting) return answer();
      heldNow++;
      waiting.push(() => {
        heldNow--;
        answer();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    respond: (path, status) => statuses.set(path, status),
    hold(path) {
      const waiting: Array<() => void> = [];
      holds.set(path, waiting);
      return () => {
        holds.delete(path);
        for (const release of waiting.splice(0)) release();
      };
    },
    held: () => heldNow,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const MESH_CRDS = join(
  fileURLToPath(new URL(".", import.meta.url)),
  "..",
  "..",
  "test-fixtures",
  "mesh",
  "mesh-crds.yaml",
);

/** Installs (POSTs) the stand-in mesh CRDs of test-fixtures/mesh/, as installing Istio, Contour or Gateway API would. */
/**
 * WaitForRolloutStatus (argo-rollouts' e2e fixtures): until the Rollout `name` reports `phase` for its current
 * generation, as kubectl-argo-rollouts shows it, moving the clock 1 s at a time for `maxMs` at most; the Rollout.
 */
export async function waitForRolloutStatus(k: SimResource, name: string, phase: string, maxMs = 300_000): Promise<Obj> {
  return k.until(
    `${name} ${phase}`,
    async () => {
      const ro = await k.get(`${PATHS.rollouts}/${name}`);
      return ro.status?.phase === phase && ro.status.observedGeneration === String(ro.metadata.generation)
        ? ro
        : undefined;
    },
    maxMs,
    1_000,
  );
}

export async function installMeshCrds(k: SimResource): Promise<void> {
  for (const crd of loadAll(readFileSync(MESH_CRDS, "utf8")) as Obj[]) {
    if (crd) await k.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
  }
}

export function podTemplate(app: string, image: string): Obj {
  return { metadata: { labels: { app } }, spec: { containers: [{ name: app, image }] } };
}

/** A Deployment of `replicas` pods labelled `app: <name>`, one container `name` running `image`. */
export function deployment(name: string, replicas: number, image = `${name}:1`): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate(name, image) },
  };
}

/**
 * Flagger docs' podinfo Canary: Deployment `podinfo` on port 9898, the kubernetes provider, `analysis` (interval
 * 15s, threshold 2 unless given); `spec` adds or overrides top-level fields (`provider`, `metricsServer`…).
 */
export function podinfoCanary(analysis: Obj, spec: Obj = {}): Obj {
  return {
    apiVersion: "flagger.app/v1beta1",
    kind: "Canary",
    metadata: { name: "podinfo" },
    spec: {
      provider: "kubernetes",
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
      service: { port: 9898 },
      analysis: { interval: "15s", threshold: 2, ...analysis },
      ...spec,
    },
  };
}

export function isReady(pod: Obj): boolean {
  return (pod.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
}

/** A loopback server that speaks Prometheus' `/api/v1/query` (form POST or GET) and serves JSON for web metrics. */
export interface MetricsServer extends AsyncDisposable {
  url: string;
  /** Queries received, in order. */
  queries: string[];
  /** Answers a query containing `match` with a vector of these sample values (`[]` for an empty vector). */
  vector(match: string, values: number[]): void;
  /** Answers GET `path` with this JSON body and status. */
  json(path: string, body: unknown, status?: number): void;
}

export async function metricsServer(): Promise<MetricsServer> {
  const vectors: Array<[string, number[]]> = [];
  const documents = new Map<string, { body: unknown; status: number }>();
  const queries: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      res.setHeader("Content-Type", "application/json");
      if (url.pathname === "/api/v1/query") {
        const params = req.method === "POST" ? new URLSearchParams(body) : url.searchParams;
        const query = params.get("query") ?? "";
        const time = Number(params.get("time") ?? "0");
        queries.push(query);
        const found = [...vectors].reverse().find(([match]) => query.includes(match));
        if (!found) {
          res.statusCode = 400;
          res.end(JSON.stringify({ status: "error", errorType: "bad_data", error: `no series for ${query}` }));
          return;
        }
        res.end(
          JSON.stringify({
            status: "success",
            data: { resultType: "vector", result: found[1].map((v) => ({ metric: {}, value: [time, String(v)] })) },
          }),
        );
        return;
      }
      const doc = documents.get(url.pathname);
      res.statusCode = doc?.status ?? 404;
      res.end(JSON.stringify(doc?.body ?? { error: "not found" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    queries,
    vector: (match, values) => vectors.push([match, values]),
    json: (path, body, status = 200) => documents.set(path, { body, status }),
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
