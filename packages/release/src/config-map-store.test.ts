import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ManualClock, startKubeSim } from "@rollway/kube-sim";
import { connect, openConnection, RolloutClientError } from "@rollway/rollout-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { createConfigMap, getConfigMap } from "./config-map-store.js";
import { createRecord } from "./records.js";

async function sim(namespace = "demo") {
  const s = await startKubeSim({ clock: new ManualClock(), namespace, controllers: [] });
  onTestFinished(() => s.close());
  const conn = await openConnection({ kubeconfig: { yaml: s.kubeconfig } });
  await conn.objects.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  conn.close();
  return s;
}

const configMap = (name: string) => ({ metadata: { name }, data: { a: "1" } });

describe("the engine's ConfigMaps, through rollout-client's connection and generic object API", () => {
  it("a refusal is rollout-client's error: FORBIDDEN, the reason, the namespace of the request made, no token", async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      res.writeHead(403, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          reason: "Forbidden",
          code: 403,
          message:
            'configmaps is forbidden: User "system:serviceaccount:demo:rollway" cannot create resource "configmaps"',
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${port}" } }]
users: [{ name: u, user: { token: very-secret-token } }]
contexts: [{ name: x, context: { cluster: c, user: u, namespace: demo } }]
current-context: x
`;
    const conn = await openConnection({ kubeconfig: { yaml: kubeconfig } });
    onTestFinished(() => conn.close());
    // The kubeconfig says `demo`; the release is another environment's, in `prod`: the message names `prod`.
    const error = await createConfigMap(conn, "prod", configMap("x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutClientError);
    expect(error).toMatchObject({
      code: "FORBIDDEN",
      httpStatus: 403,
      reason: "Forbidden",
      resource: { kind: "ConfigMap", name: "x", namespace: "prod" },
    });
    expect((error as Error).message).toBe(
      'POST ConfigMap "x" in namespace "prod": configmaps is forbidden: User "system:serviceaccount:demo:rollway" cannot create resource "configmaps" (check the RBAC rules of the user or service account in the kubeconfig)',
    );
    expect((error as Error).message).not.toContain("very-secret-token");
    expect(seen).toEqual(["POST /api/v1/namespaces/prod/configmaps Bearer very-secret-token"]);
  });

  it("an RBAC denial has the same code through the engine's record writes and rollout-client's operations", async () => {
    const s = await sim();
    const client = await connect({ kubeconfig: { yaml: s.kubeconfig } });
    onTestFinished(() => client.close());
    await client.connection.objects.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "web:1" }] } },
      },
    });
    s.faults.deny({ verb: "patch", resource: "deployments" });
    s.faults.deny({ verb: "create", resource: "configmaps" });
    const viaOperation = await client.setImages(await client.target("web"), { web: "web:2" }).catch((e: unknown) => e);
    const viaEngine = await createRecord(client.connection, {
      id: "r1",
      namespace: "demo",
      environment: "demo",
      state: "running",
    } as never).catch((e: unknown) => e);
    for (const error of [viaOperation, viaEngine]) {
      expect(error).toBeInstanceOf(RolloutClientError);
      expect(error).toMatchObject({ code: "FORBIDDEN", httpStatus: 403, reason: "Forbidden", attempts: 1 });
    }
    expect(viaEngine).toMatchObject({ resource: { kind: "ConfigMap", name: "rollway-release-r1", namespace: "demo" } });
  });

  it("retries transient errors: two 503s on a ConfigMap create and a 429 on its read still succeed", async () => {
    const s = await sim();
    const delays: number[] = [];
    const requests: string[] = [];
    const conn = await openConnection({
      kubeconfig: { yaml: s.kubeconfig },
      onRequest: (r) => requests.push(r.method),
      retry: { sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
    });
    onTestFinished(() => conn.close());
    s.faults.failRequests({ verb: "create", resource: "configmaps", code: 503, times: 2 });
    expect(await createConfigMap(conn, "demo", configMap("rollway-events-x"))).toBe(true);
    s.faults.failRequests({ verb: "get", resource: "configmaps", code: 429, times: 1 });
    const cm = await getConfigMap(conn, "demo", "rollway-events-x");
    expect(cm?.data).toEqual({ a: "1" });
    expect(requests).toEqual(["POST", "POST", "POST", "GET", "GET"]);
    expect(delays).toEqual([150, 300, 1000]);
    // Created meanwhile by another process: AlreadyExists is a lost claim, not an error.
    expect(await createConfigMap(conn, "demo", configMap("rollway-events-x"))).toBe(false);
  });
});
