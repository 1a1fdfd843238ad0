/**
 * Test resources: a kube-sim API server on a manual clock with a rollout-client connected to it, disposed by
 * `onTestFinished`, in the style of trpc's `*Resource` helpers. Objects are created over HTTP, as a user would.
 */
import { ManualClock, startKubeSim } from "@rollway/kube-sim";
import { onTestFinished } from "vitest";
import { connect, type RolloutClient } from "../client.js";
import { type Connection, openConnection } from "../connect.js";
import { type KindName, type KubeObject, resourcePath } from "../resources.js";

export const NAMESPACE = "shop";

export interface KubeSimEnv {
  sim: Awaited<ReturnType<typeof startKubeSim>>;
  client: RolloutClient;
  /** A raw connection to the same server, for the test's own reads, writes and watches. */
  conn: Connection;
  /** Every request the client sent, in order. */
  requests: { method: string; path: string }[];
  create<T>(kind: KindName, object: object): Promise<T>;
  get<T>(kind: KindName, name: string): Promise<T>;
  patchStatus<T>(kind: KindName, name: string, status: object): Promise<T>;
}

/**
 * `withoutControllers`: the API server alone, for tests of what one operation writes (no controller reacts and
 * changes the object after it).
 */
export async function kubeSimResource(
  options: { conflictRetries?: number; withoutControllers?: boolean; tls?: boolean; crds?: string[] } = {},
): Promise<KubeSimEnv> {
  const clock = new ManualClock();
  const sim = await startKubeSim({
    clock,
    namespace: NAMESPACE,
    readyDelayMs: 1000,
    tls: options.tls ?? false,
    ...(options.crds ? { crds: options.crds } : {}),
    ...(options.withoutControllers ? { controllers: [] } : {}),
  });
  const requests: { method: string; path: string }[] = [];
  const client = await connect({
    kubeconfig: { yaml: sim.kubeconfig },
    clock: sim.clock,
    onRequest: (r) => requests.push(r),
    ...(options.conflictRetries === undefined ? {} : { conflictRetries: options.conflictRetries }),
  });
  const conn = await openConnection({ kubeconfig: { yaml: sim.kubeconfig } });
  onTestFinished(async () => {
    client.close();
    conn.close();
    await sim.close();
  });
  await conn
    .request({
      method: "POST",
      path: "/api/v1/namespaces",
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
      resource: { kind: "Namespace", name: NAMESPACE },
    })
    .catch(() => undefined);
  return {
    sim,
    client,
    conn,
    requests,
    create: (kind, object) =>
      conn.request({
        method: "POST",
        path: resourcePath(kind, NAMESPACE),
        body: object,
        resource: { kind, namespace: NAMESPACE },
      }),
    get: (kind, name) =>
      conn.request({
        method: "GET",
        path: resourcePath(kind, NAMESPACE, name),
        resource: { kind, name, namespace: NAMESPACE },
      }),
    patchStatus: (kind, name, status) =>
      conn.request({
        method: "PATCH",
        path: resourcePath(kind, NAMESPACE, name, "status"),
        patchType: "merge",
        body: { status },
        resource: { kind, name, namespace: NAMESPACE },
      }),
  };
}

export function deploymentManifest(
  name: string,
  image: string,
  options: { replicas?: number; strategy?: "RollingUpdate" | "Recreate" } = {},
) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: { app: name } },
      strategy: { type: options.strategy ?? "RollingUpdate" },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image }] },
      },
    },
  };
}

export function rolloutManifest(
  name: string,
  image: string,
  strategy: "blueGreen" | "canary",
  options: {
    replicas?: number;
    autoPromotionEnabled?: boolean;
    steps?: object[];
    workloadRef?: string;
    scaleDownDelaySeconds?: number;
  } = {},
) {
  const strategies = {
    blueGreen: {
      blueGreen: {
        activeService: `${name}-active`,
        previewService: `${name}-preview`,
        autoPromotionEnabled: options.autoPromotionEnabled ?? false,
        ...(options.scaleDownDelaySeconds === undefined
          ? {}
          : { scaleDownDelaySeconds: options.scaleDownDelaySeconds }),
      },
    },
    canary: {
      canary: { steps: options.steps ?? [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] },
    },
  };
  const template = {
    metadata: { labels: { app: name } },
    spec: {
      containers: [
        { name, image },
        { name: "proxy", image: "envoy:1.30" },
      ],
    },
  };
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: { app: name } },
      ...(options.workloadRef
        ? { workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: options.workloadRef } }
        : { template }),
      strategy: strategies[strategy],
    },
  };
}

export function serviceManifest(name: string, app: string) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NAMESPACE },
    spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] },
  };
}

/** A ReplicaSet as a controller would have created it for one revision of `owner`. */
export function replicaSetManifest(
  owner: { kind: "Rollout" | "Deployment"; name: string; uid: string },
  revision: number,
  image: string,
  extraAnnotations: Record<string, string> = {},
) {
  const hashLabel = owner.kind === "Rollout" ? "rollouts-pod-template-hash" : "pod-template-hash";
  const revisionKey = owner.kind === "Rollout" ? "rollout.argoproj.io/revision" : "deployment.kubernetes.io/revision";
  const hash = `h${revision}abc`;
  const labels = { app: owner.name, [hashLabel]: hash };
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${owner.name}-${hash}`,
      namespace: NAMESPACE,
      labels,
      annotations: { [revisionKey]: String(revision), ...extraAnnotations },
      ownerReferences: [
        {
          apiVersion: owner.kind === "Rollout" ? "argoproj.io/v1alpha1" : "apps/v1",
          kind: owner.kind,
          name: owner.name,
          uid: owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: owner.name, image },
            { name: "proxy", image: "envoy:1.30" },
          ],
        },
      },
    },
  };
}

export function canaryManifest(
  name: string,
  loadtester: string,
  analysis: Record<string, unknown> = { interval: "1m", iterations: 2, threshold: 2 },
) {
  return {
    apiVersion: "flagger.app/v1beta1",
    kind: "Canary",
    metadata: { name, namespace: NAMESPACE },
    spec: {
      provider: "kubernetes",
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      progressDeadlineSeconds: 60,
      service: { port: 8080, portDiscovery: true },
      analysis: {
        ...analysis,
        webhooks: [
          { name: "ask for confirmation", type: "confirm-rollout", url: `${loadtester}/gate/check` },
          { name: "promote", type: "confirm-promotion", url: `${loadtester}/gate/check` },
          { name: "rollback", type: "rollback", url: `${loadtester}/rollback/check` },
        ],
      },
    },
  };
}

/**
 * Moves kube-sim's clock forward in small steps until `promise` settles, giving the client's watches real time to
 * deliver between steps: the way a cluster's time passes while a caller waits.
 */
export async function drive<T>(
  env: KubeSimEnv,
  promise: Promise<T>,
  options: { stepMs?: number; maxMs?: number } = {},
): Promise<T> {
  const stepMs = options.stepMs ?? 500;
  const maxMs = options.maxMs ?? 300_000;
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let waited = 0; !settled; waited += stepMs) {
    if (waited > maxMs) throw new Error(`still waiting after ${maxMs} ms of cluster time`);
    await env.sim.advance(stepMs);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return promise;
}

/** Records a watch of one collection, in order, with the resourceVersion of each event. */
export function recordWatch(env: KubeSimEnv, kind: KindName, query: Record<string, string>) {
  const events: { type: string; object: KubeObject; rv: number }[] = [];
  const stop = new AbortController();
  const done = (async () => {
    try {
      for await (const event of env.conn.watchStream(resourcePath(kind, NAMESPACE), query, { kind }, stop.signal)) {
        const object = event.object as unknown as KubeObject;
        events.push({ type: event.type, object, rv: Number(object.metadata.resourceVersion) });
      }
    } catch {
      // Stopped.
    }
  })();
  onTestFinished(async () => {
    stop.abort();
    await done;
  });
  return {
    events,
    stop: async () => {
      stop.abort();
      await done;
    },
  };
}
