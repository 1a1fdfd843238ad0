/**
 * Test resources: a kube-sim API server on a manual clock with a rollout-client connected to it, disposed by
 * `onTestFinished`, in the style of trpc's `*Resource` helpers. Objects are created over HTTP, as a user would.
 */
import { ManualClock, startKubeSim } from "@rollway/kube-sim";
import { onTestFinished } from "vitest";
import { connect, type RolloutClient } from "../client.js";
import { type Connection, openConnection } from "../connect.js";
import { type KindName, resourcePath } from "../resources.js";

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

export async function kubeSimResource(options: { conflictRetries?: number } = {}): Promise<KubeSimEnv> {
  const clock = new ManualClock();
  const sim = await startKubeSim({ clock, namespace: NAMESPACE, readyDelayMs: 1000 });
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
