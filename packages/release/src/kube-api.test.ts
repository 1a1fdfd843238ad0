import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { ReleaseError } from "./errors.js";
import { openKubeApi, redact } from "./kube-api.js";

describe("the engine's API requests", () => {
  it.each([
    ["https://admin:s3cret@cluster.example.com:6443/api", "https://***@cluster.example.com:6443/api"],
    ["Authorization: Bearer eyJhbGciOi.J9.abc-_", "Authorization: Bearer ***"],
    ["nothing secret here", "nothing secret here"],
  ])("redacts credentials from %j", (input, output) => {
    expect(redact(input)).toBe(output);
  });

  it("turns an API server refusal into a CLUSTER error with the status, without the token", async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      res.writeHead(403, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          reason: "Forbidden",
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
    const error = await api
      .request({ method: "POST", path: "/api/v1/namespaces/demo/configmaps", body: {}, what: 'ConfigMap "x"' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    expect(error).toMatchObject({ code: "CLUSTER", httpStatus: 403 });
    expect((error as Error).message).toBe(
      'POST ConfigMap "x" in namespace "demo": configmaps is forbidden: User "system:serviceaccount:demo:rollway" cannot create resource "configmaps"',
    );
    expect((error as Error).message).not.toContain("very-secret-token");
    expect(seen).toEqual(["POST /api/v1/namespaces/demo/configmaps Bearer very-secret-token"]);
  });
});
