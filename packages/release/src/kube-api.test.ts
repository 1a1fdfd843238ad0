import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ManualClock, startKubeSim } from "@rollway/kube-sim";
import { connect, RolloutClientError } from "@rollway/rollout-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { isStatus, openKubeApi, paths, redact } from "./kube-api.js";

async function sim(namespace = "demo") {
  const s = await startKubeSim({ clock: new ManualClock(), namespace, controllers: [] });
  onTestFinished(() => s.close());
  const api = await openKubeApi({ kubeconfig: { yaml: s.kubeconfig } });
  await api.request({
    method: "POST",
    path: "/api/v1/namespaces",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    what: `Namespace "${namespace}"`,
  });
  api.close();
  return s;
}

const configMap = (namespace: string, name: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data: { a: "1" },
});

describe("the engine's API requests, over rollout-client's one cluster layer", () => {
  it.each([
    ["https://admin:s3cret@cluster.example.com:6443/api", "https://***@cluster.example.com:6443/api"],
    ["Authorization: Bearer eyJhbGciOi.J9.abc-_", "Authorization: Bearer ***"],
    ["nothing secret here", "nothing secret here"],
  ])("redacts credentials from %j", (input, output) => {
    expect(redact(input)).toBe(output);
  });

  it("a refusal is rollout-client's error: FORBIDDEN, the reason, the request's namespace, no token", async () => {
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
    const api = await openKubeApi({ kubeconfig: { yaml: kubeconfig } });
    onTestFinished(() => api.close());
    // The kubeconfig says `demo`; the release is another environment's, in `prod`: the message names `prod`.
    const error = await api
      .request({ method: "POST", path: paths.configMaps("prod"), body: {}, what: 'ConfigMap "x"' })
      .catch((e: unknown) => e);
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
    expect(isStatus(error, 403)).toBe(true);
  });

  it("an RBAC denial has the same code through the engine's requests and through rollout-client's operations", async () => {
    const s = await sim();
    const client = await connect({ kubeconfig: { yaml: s.kubeconfig } });
    onTestFinished(() => client.close());
    const api = await openKubeApi({ connection: client.connection });
    await api.request({
      method: "POST",
      path: "/apis/apps/v1/namespaces/demo/deployments",
      what: 'Deployment "web"',
      body: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "web:1" }] } },
        },
      },
    });
    s.faults.deny({ verb: "patch", resource: "deployments" });
    s.faults.deny({ verb: "create", resource: "configmaps" });
    const viaOperation = await client.setImages(await client.target("web"), { web: "web:2" }).catch((e: unknown) => e);
    const viaEngineRequest = await api
      .request({ method: "POST", path: paths.configMaps("demo"), body: configMap("demo", "r"), what: 'ConfigMap "r"' })
      .catch((e: unknown) => e);
    for (const error of [viaOperation, viaEngineRequest]) {
      expect(error).toBeInstanceOf(RolloutClientError);
      expect(error).toMatchObject({ code: "FORBIDDEN", httpStatus: 403, reason: "Forbidden", attempts: 1 });
    }
  });

  it("retries transient errors: two 503s on a ConfigMap create and a 429 on a read still succeed", async () => {
    const s = await sim();
    const delays: number[] = [];
    const requests: string[] = [];
    const api = await openKubeApi({
      kubeconfig: { yaml: s.kubeconfig },
      onRequest: (r) => requests.push(r.method),
      retry: { sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
    });
    onTestFinished(() => api.close());
    s.faults.failRequests({ verb: "create", resource: "configmaps", code: 503, times: 2 });
    await api.request({
      method: "POST",
      path: paths.configMaps("demo"),
      body: configMap("demo", "rollway-release-x"),
      what: 'ConfigMap "rollway-release-x"',
    });
    s.faults.failRequests({ verb: "get", resource: "configmaps", code: 429, times: 1 });
    const cm = await api.request<{ data: Record<string, string> }>({
      method: "GET",
      path: paths.configMap("demo", "rollway-release-x"),
      what: 'ConfigMap "rollway-release-x"',
    });
    expect(cm.data).toEqual({ a: "1" });
    expect(requests).toEqual(["POST", "POST", "POST", "GET", "GET"]);
    expect(delays).toEqual([150, 300, 1000]);
  });

  it("deletes a Lease with a resourceVersion precondition (the body used to reach the server unframed: HTTP 400)", async () => {
    const s = await sim();
    const api = await openKubeApi({ kubeconfig: { yaml: s.kubeconfig } });
    onTestFinished(() => api.close());
    const what = 'Lease "rollway-release-demo"';
    const lease = await api.request<{ metadata: { resourceVersion: string } }>({
      method: "POST",
      path: paths.leases("demo"),
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "rollway-release-demo" },
        spec: {},
      },
      what,
    });
    await api.request({
      method: "DELETE",
      path: paths.lease("demo", "rollway-release-demo"),
      body: { preconditions: { resourceVersion: lease.metadata.resourceVersion } },
      what,
    });
    const gone = await api
      .request({ method: "GET", path: paths.lease("demo", "rollway-release-demo"), what })
      .catch((e: unknown) => e);
    expect(isStatus(gone, 404)).toBe(true);
  });

  it("connects with a kubeconfig that sets tls-server-name (the setting the old copy dropped)", async () => {
    const s = await startKubeSim({ clock: new ManualClock(), namespace: "demo", controllers: [], tls: true });
    onTestFinished(() => s.close());
    const yaml = s.kubeconfig.replace(/(certificate-authority-data: .*)/, "$1\n      tls-server-name: localhost");
    expect(yaml).toContain("tls-server-name: localhost");
    const api = await openKubeApi({ kubeconfig: { yaml } });
    onTestFinished(() => api.close());
    const list = await api.request<{ items: unknown[] }>({
      method: "GET",
      path: paths.configMaps("demo"),
      what: "ConfigMaps",
    });
    expect(Array.isArray(list.items)).toBe(true);
  });

  it("shares a RolloutClient's connection: one agent, one request log", async () => {
    const s = await sim();
    const requests: string[] = [];
    const client = await connect({ kubeconfig: { yaml: s.kubeconfig }, onRequest: (r) => requests.push(r.path) });
    onTestFinished(() => client.close());
    const api = await openKubeApi({ connection: client.connection });
    await api.request({ method: "GET", path: paths.configMaps("demo"), what: "ConfigMaps" });
    api.close(); // does not close the shared connection
    await client.connection.objects.list({ apiVersion: "v1", kind: "ConfigMap" });
    expect(requests).toEqual(["/api/v1/namespaces/demo/configmaps", "/api/v1/namespaces/demo/configmaps"]);
    expect(api.connection).toBe(client.connection);
  });
});
