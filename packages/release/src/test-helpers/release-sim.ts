/**
 * Test resources: a kube-sim (real clock, short delays) holding the demo environment's workloads — a frontend and
 * five backends as blue-green Argo Rollouts with their active and preview Services, a platform Deployment — and a
 * release engine connected to it over HTTP. Everything is disposed by `onTestFinished`, as trpc's `*Resource`
 * helpers do.
 */
import { fileURLToPath } from "node:url";
import { defaultCrdSources, type KubeSim, startKubeSim } from "@rollway/kube-sim";
import { parseOConfig, referenceConfigMap, renderConfigMap } from "@rollway/oconfig-versioning";
import { connect, isHealthy } from "@rollway/rollout-client";
import { onTestFinished } from "vitest";
import { createReleaseEngine, type ReleaseEngine } from "../engine.js";
import { type Environment, type EnvironmentInput, parseEnvironment } from "../environment.js";
import { type KubeApi, openKubeApi } from "../kube-api.js";

export const NS = "demo";
/** Only while kube-sim lacks the built-in Lease API (see lease-crd.yaml). */
const LEASE_CRD = [fileURLToPath(new URL("./lease-crd.yaml", import.meta.url))];
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

export interface ReleaseSim {
  sim: KubeSim;
  engine: ReleaseEngine;
  api: KubeApi;
  environment: Environment;
  /** Every request the engine sent. */
  requests: { method: string; path: string }[];
  /** A second engine with its own connections: another process (a server replica, the CLI). */
  otherEngine(options?: { leaseDurationSeconds?: number }): Promise<ReleaseEngine>;
  get(path: string): Promise<Obj>;
  /** The image the active Service of a Rollout sends users to, read from the ReplicaSet it selects. */
  serving(rollout: string): Promise<{ image: string; configMap: string | undefined }>;
}

export const rolloutsPath = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/rollouts`;
export const servicesPath = `/api/v1/namespaces/${NS}/services`;
export const podsPath = `/api/v1/namespaces/${NS}/pods`;
export const replicaSetsPath = `/apis/apps/v1/namespaces/${NS}/replicasets`;
export const jobsPath = `/apis/batch/v1/namespaces/${NS}/jobs`;
export const configMapsPath = `/api/v1/namespaces/${NS}/configmaps`;

export async function releaseSimResource(
  options: { readyTimeoutSeconds?: number; backends?: string[]; leaseDurationSeconds?: number } = {},
): Promise<ReleaseSim> {
  const sim = await startKubeSim({
    namespace: NS,
    readyDelayMs: 20,
    jobRunMs: 20,
    crds: [...defaultCrdSources(), ...LEASE_CRD],
  });
  const closers: (() => void | Promise<void>)[] = [() => sim.close()];
  onTestFinished(async () => {
    for (const close of closers.reverse()) await close();
  });
  const requests: { method: string; path: string }[] = [];
  const makeEngine = async (track: boolean, leaseDurationSeconds = options.leaseDurationSeconds ?? 30) => {
    const onRequest = track ? (r: { method: string; path: string }) => requests.push(r) : undefined;
    const client = await connect({ kubeconfig: { yaml: sim.kubeconfig }, ...(onRequest ? { onRequest } : {}) });
    const api = await openKubeApi({ kubeconfig: { yaml: sim.kubeconfig }, ...(onRequest ? { onRequest } : {}) });
    closers.push(
      () => client.close(),
      () => api.close(),
    );
    return { api, client, engine: createReleaseEngine({ client, api, leaseDurationSeconds }) };
  };
  const { api, client, engine } = await makeEngine(true);
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
  const environment = parseEnvironment(demoEnvironmentInput(options));

  await http("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  const v1 = renderConfigMap("backend-1", parseOConfig(OCONFIG, { service: "backend-1" }).current, { namespace: NS });
  await http("POST", configMapsPath, v1);
  const rollouts: [string, string, string][] = [
    ["frontend", "frontend", OLD.frontend],
    ...(options.backends ?? BACKENDS).map((b): [string, string, string] => [
      b,
      "backend",
      b === "backend-1" ? OLD["backend-1"] : OLD.other,
    ]),
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
  // Every workload Healthy (watched through rollout-client) before the test starts.
  await Promise.all(
    [...rollouts.map(([name]) => name), "orchestrator"].map(async (name) =>
      client.waitFor(await client.target(name, NS), isHealthy, { timeout: 10_000 }),
    ),
  );
  requests.length = 0;

  return {
    sim,
    engine,
    api,
    environment,
    requests,
    otherEngine: async (o = {}) => (await makeEngine(false, o.leaseDurationSeconds)).engine,
    get: (path) => http("GET", path),
    async serving(rollout) {
      const ro = await http("GET", `${rolloutsPath}/${rollout}`);
      const svc = await http("GET", `${servicesPath}/${ro.spec.strategy.blueGreen.activeService}`);
      const hash = svc.spec.selector["rollouts-pod-template-hash"];
      const rs = (await http("GET", replicaSetsPath)).items.find(
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
