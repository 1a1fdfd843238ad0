/**
 * The demo environment's world for the tests and the benchmark: `@rollway/release/demo` (examples/demo-environment.yaml,
 * the world `rollway demo`, `rollway sim` and `rollway serve --sim` run) with test-sized settings — a short ready
 * timeout, a subset of the backends, no oConfig on the frontend — plus a platform Deployment, seeded over HTTP
 * by the demo's own `seedDemoWorld`, in any namespace (many worlds in one kube-sim).
 */
import { parse as parseYaml } from "yaml";
import { DEMO_ENVIRONMENT_YAML, seedDemoWorld as seedDemoEnvironment } from "../demo.js";
import { type EnvironmentInput, parseEnvironment } from "../environment.js";

export const NS = "demo";

export const BACKENDS = ["backend-1", "backend-2", "backend-3", "backend-4", "backend-5"];
const demoInput = parseYaml(DEMO_ENVIRONMENT_YAML) as EnvironmentInput & {
  backends: Record<string, { oConfig?: { current: string; next: string; configs: Record<string, string>[] } }>;
};
/** backend-1's oConfig in the demo file. */
export const OCONFIG = demoInput.backends["backend-1"]?.oConfig as {
  current: string;
  next: string;
  configs: Record<string, string>[];
};

/** The images running before any release (the demo's start images; the platform's is the test's own). */
export const OLD = {
  frontend: "my-registry/image-for-frontend:1.0",
  "backend-1": "my-registry/image-for-backend-1:1.0",
  other: "my-registry/image-for-other-backends:1.0",
  orchestrator: "olympeio/orchestrator:2.9.0",
};

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Kubernetes objects
export type Obj = any;

export interface DemoWorldOptions {
  readyTimeoutSeconds?: number;
  /** Which of the demo's backends the world has (default: all five). */
  backends?: string[];
  /** Default `demo`. */
  namespace?: string;
  /** The platform Deployment `orchestrator` (default true). */
  platform?: boolean;
}

/** The demo's code-as-data Job with a short timeout, its container running `sync` (the tests' expected arguments). */
function codeAsDataInput(): NonNullable<EnvironmentInput["codeAsData"]> {
  const codeAsData = structuredClone(demoInput.codeAsData) as NonNullable<EnvironmentInput["codeAsData"]> & {
    job: { spec: { template: { spec: { containers: { name: string; args?: string[] }[] } } } };
  };
  for (const c of codeAsData.job.spec.template.spec.containers) if (c.name === codeAsData.container) c.args = ["sync"];
  return { ...codeAsData, timeoutSeconds: 20 };
}

export function demoEnvironmentInput(options: DemoWorldOptions = {}): EnvironmentInput {
  const backends = options.backends ?? BACKENDS;
  const { oConfig: _frontendConfig, ...frontend } = demoInput.frontend as NonNullable<EnvironmentInput["frontend"]>;
  return {
    ...demoInput,
    namespace: options.namespace ?? NS,
    promotion: { ...demoInput.promotion, readyTimeoutSeconds: options.readyTimeoutSeconds ?? 20 },
    frontend,
    // Backends past the demo's five (the benchmark's fifty) are blue-green Rollouts like backend-2..5.
    backends: Object.fromEntries(
      backends.map((b) => [
        b,
        demoInput.backends[b] ?? {
          workload: { kind: "Rollout", name: b },
          container: "backend",
          strategy: { type: "blueGreen", activeService: b, previewService: `${b}-preview` },
        },
      ]),
    ),
    codeAsData: codeAsDataInput(),
    ...(options.platform === false
      ? {}
      : {
          platform: [
            {
              name: "orchestrator",
              workload: { kind: "Deployment", name: "orchestrator" },
              container: "orchestrator",
              image: "olympeio/orchestrator",
              stableVersion: "2.9.1",
            },
          ],
        }),
  } as EnvironmentInput;
}

export const podTemplate = (app: string, container: string, image: string): Obj => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: container, image, ports: [{ containerPort: 8080 }] }] },
});

/** The API paths of one world's collections. */
export function pathsIn(namespace: string) {
  return {
    rollouts: `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/rollouts`,
    services: `/api/v1/namespaces/${namespace}/services`,
    pods: `/api/v1/namespaces/${namespace}/pods`,
    replicaSets: `/apis/apps/v1/namespaces/${namespace}/replicasets`,
    jobs: `/apis/batch/v1/namespaces/${namespace}/jobs`,
    configMaps: `/api/v1/namespaces/${namespace}/configmaps`,
    deployments: `/apis/apps/v1/namespaces/${namespace}/deployments`,
  };
}
const paths = pathsIn(NS);
export const rolloutsPath = paths.rollouts;
export const servicesPath = paths.services;
export const podsPath = paths.pods;
export const jobsPath = paths.jobs;
export const configMapsPath = paths.configMaps;

/**
 * Creates the namespace and every workload (the demo's `seedDemoWorld`, then the platform Deployment); returns the
 * names of the Rollouts and Deployments.
 */
export async function seedDemoWorld(url: string, world: DemoWorldOptions | string[] = {}): Promise<string[]> {
  const options = Array.isArray(world) ? { backends: world } : world;
  const environment = parseEnvironment(demoEnvironmentInput(options));
  await seedDemoEnvironment(url, environment);
  const names = ["frontend", ...Object.keys(environment.backends)];
  if (options.platform === false) return names;
  const res = await fetch(`${url}${pathsIn(environment.namespace).deployments}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "orchestrator" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "orchestrator" } },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: podTemplate("orchestrator", "orchestrator", OLD.orchestrator),
      },
    }),
  });
  if (!res.ok) throw new Error(`POST the orchestrator Deployment: HTTP ${res.status}: ${await res.text()}`);
  return [...names, "orchestrator"];
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
