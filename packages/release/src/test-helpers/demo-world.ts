/**
 * The demo environment's world, shared by the tests and the benchmark: a frontend and N backends as blue-green Argo
 * Rollouts with their active and preview Services, a platform Deployment, and backend-1's oConfig v1 ConfigMap,
 * created over HTTP as a user would.
 */
import { parseOConfig, referenceConfigMap, renderConfigMap } from "@rollway/oconfig-versioning";
import type { EnvironmentInput } from "../environment.js";

export const NS = "demo";

export const BACKENDS = ["backend-1", "backend-2", "backend-3", "backend-4", "backend-5"];
export const V1 = '{ "sc.production": true, "param1": "a value" }';
export const V2 = '{ "sc.production": true, "param1": "another value", "param2": "a new value" }';
export const OCONFIG: { current: string; next: string; configs: Record<string, string>[] } = {
  current: "v1",
  next: "v2",
  configs: [{ v1: V1 }, { v2: V2 }],
};

/** The images running before any release. */
export const OLD = {
  frontend: "my-registry/image-for-frontend:1.0",
  "backend-1": "my-registry/image-for-backend-1:1.0",
  other: "my-registry/image-for-other-backends:1.0",
  orchestrator: "olympeio/orchestrator:2.9.0",
};

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Kubernetes objects
export type Obj = any;

export function demoEnvironmentInput(
  options: { readyTimeoutSeconds?: number; backends?: string[] } = {},
): EnvironmentInput {
  const bg = (name: string, container: string) => ({
    workload: { kind: "Rollout" as const, name },
    container,
    strategy: { type: "blueGreen" as const, activeService: name, previewService: `${name}-preview` },
  });
  const backends = options.backends ?? BACKENDS;
  return {
    apiVersion: "rollway.dev/v1alpha1",
    kind: "Environment",
    name: "demo",
    namespace: NS,
    host: "demo.example.com",
    promotion: { mode: "manual", readyTimeoutSeconds: options.readyTimeoutSeconds ?? 20 },
    frontend: bg("frontend", "frontend"),
    backends: Object.fromEntries(
      backends.map((b) => [b, { ...bg(b, "backend"), ...(b === "backend-1" ? { oConfig: OCONFIG } : {}) }]),
    ),
    codeAsData: {
      container: "codeasdata",
      timeoutSeconds: 20,
      job: {
        spec: {
          backoffLimit: 0,
          template: { spec: { restartPolicy: "Never", containers: [{ name: "codeasdata", args: ["sync"] }] } },
        },
      },
    },
    platform: [
      {
        name: "orchestrator",
        workload: { kind: "Deployment", name: "orchestrator" },
        container: "orchestrator",
        image: "olympeio/orchestrator",
        stableVersion: "2.9.1",
      },
    ],
  };
}

export const podTemplate = (app: string, container: string, image: string): Obj => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: container, image, ports: [{ containerPort: 8080 }] }] },
});

export const rolloutsPath = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/rollouts`;
export const servicesPath = `/api/v1/namespaces/${NS}/services`;
export const podsPath = `/api/v1/namespaces/${NS}/pods`;
export const replicaSetsPath = `/apis/apps/v1/namespaces/${NS}/replicasets`;
export const jobsPath = `/apis/batch/v1/namespaces/${NS}/jobs`;
export const configMapsPath = `/api/v1/namespaces/${NS}/configmaps`;

/** Creates the namespace and every workload; returns the names of the Rollouts and Deployments. */
export async function seedDemoWorld(url: string, backends: string[] = BACKENDS): Promise<string[]> {
  const http = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text}`);
    return JSON.parse(text) as Obj;
  };
  await http("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  const v1 = renderConfigMap("backend-1", parseOConfig(OCONFIG, { service: "backend-1" }).current, { namespace: NS });
  await http("POST", configMapsPath, v1);
  const rollouts: [string, string, string][] = [
    ["frontend", "frontend", OLD.frontend],
    ...backends.map((b): [string, string, string] => [b, "backend", b === "backend-1" ? OLD["backend-1"] : OLD.other]),
  ];
  for (const [name, container, image] of rollouts) {
    for (const svc of [name, `${name}-preview`]) {
      await http("POST", servicesPath, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: svc },
        spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      });
    }
    let template = podTemplate(name, container, image);
    if (name === "backend-1") template = referenceConfigMap(template, { configMapName: v1.metadata.name, container });
    await http("POST", rolloutsPath, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name },
      spec: {
        replicas: 2,
        revisionHistoryLimit: 3,
        selector: { matchLabels: { app: name } },
        template,
        strategy: {
          blueGreen: {
            activeService: name,
            previewService: `${name}-preview`,
            autoPromotionEnabled: false,
            scaleDownDelaySeconds: 0,
          },
        },
      },
    });
  }
  await http("POST", `/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "orchestrator" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "orchestrator" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: podTemplate("orchestrator", "orchestrator", OLD.orchestrator),
    },
  });
  return [...rollouts.map(([name]) => name), "orchestrator"];
}

export interface WatchRecording {
  /** Every watch event, in the order received, tagged with the kind it was recorded as. */
  events: { kind: string; type: string; object: Obj }[];
  stop(): void;
}

/** Watches collections from their current state on (`kind → path`) and keeps every event, until `stop()`. */
export async function recordWatches(url: string, collections: Record<string, string>): Promise<WatchRecording> {
  const stop = new AbortController();
  const events: WatchRecording["events"] = [];
  for (const [kind, path] of Object.entries(collections)) {
    const res = await fetch(`${url}${path}?watch=true`, { signal: stop.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.trim()) events.push({ kind, ...JSON.parse(line) });
          }
        }
      } catch {
        // stop() ended the watch
      }
    })();
  }
  return { events, stop: () => stop.abort() };
}

const isReady = (pod: Obj) =>
  pod.status?.conditions?.some((c: Obj) => c.type === "Ready" && c.status === "True") === true;

/**
 * Replays recorded Service and Pod events in the API server's order (resourceVersion) and returns, for each active
 * Service, every moment it selected no Ready pod (a user request could then have failed or reached an unready pod),
 * and the sequence of pod-template hashes it selected.
 */
export function replayServing(
  events: WatchRecording["events"],
  services: string[],
): { gaps: string[]; selected: Record<string, string[]> } {
  const ordered = [...events]
    .filter((e) => e.type !== "BOOKMARK")
    .sort((a, b) => Number(a.object.metadata.resourceVersion) - Number(b.object.metadata.resourceVersion));
  const pods = new Map<string, Obj>();
  const selectors = new Map<string, Record<string, string>>();
  const gaps: string[] = [];
  const selected: Record<string, string[]> = {};
  for (const e of ordered) {
    if (e.kind === "Pod") {
      if (e.type === "DELETED") pods.delete(e.object.metadata.name);
      else pods.set(e.object.metadata.name, e.object);
    } else if (services.includes(e.object.metadata.name)) {
      const selector = e.object.spec.selector as Record<string, string>;
      selectors.set(e.object.metadata.name, selector);
      const hash = selector["rollouts-pod-template-hash"] ?? "";
      const seen = selected[e.object.metadata.name] ?? [];
      selected[e.object.metadata.name] = seen;
      if (seen.at(-1) !== hash) seen.push(hash);
    }
    for (const [service, selector] of selectors) {
      const serving = [...pods.values()].filter(
        (p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v) && isReady(p),
      );
      if (serving.length === 0)
        gaps.push(
          `${service} had no Ready pod at resourceVersion ${e.object.metadata.resourceVersion} (${e.kind} ${e.type} ${e.object.metadata.name})`,
        );
    }
  }
  return { gaps, selected };
}

export interface LoadTester {
  url: string;
  close(): Promise<void>;
}

/**
 * A flagger-loadtester's gate API (pkg/loadtester/server.go), served over real HTTP: `/gate/check` and
 * `/rollback/check` answer 200 when open and 403 when closed; `/gate/open|close` and `/rollback/open|close` take
 * `{ name, namespace }`. Flagger's confirm-promotion and rollback webhooks point at it; rollout-client opens it.
 */
export async function loadTester(): Promise<LoadTester> {
  const { createServer } = await import("node:http");
  const open = new Set<string>();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      const { name, namespace } = JSON.parse(body || "{}") as { name?: string; namespace?: string };
      const [, kind, verb] = (req.url ?? "").split("/");
      const key = `${kind}/${namespace}/${name}`;
      if (verb === "open") open.add(key);
      else if (verb === "close") open.delete(key);
      const status = verb === "check" && !open.has(key) ? 403 : 200;
      res.writeHead(status, { "Content-Type": "text/plain" });
      res.end(status === 200 ? "ok" : "closed");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
