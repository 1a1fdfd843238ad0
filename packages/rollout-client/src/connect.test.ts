import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadKubeConfig, openConnection } from "./connect.js";
import { RolloutClientError } from "./errors.js";

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: { server: "https://prod.example:6443" }
- name: staging
  cluster: { server: "http://127.0.0.1:1" }
users:
- name: ci
  user: { token: "t0ken-never-shown" }
contexts:
- name: prod
  context: { cluster: prod, user: ci, namespace: shop }
- name: staging
  context: { cluster: staging, user: ci }
current-context: prod
`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function kubeconfigFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "rollout-client-"));
  dirs.push(dir);
  const file = join(dir, "config");
  writeFileSync(file, text);
  return file;
}

describe("connection settings", () => {
  it("uses the current context and its namespace from a kubeconfig file", async () => {
    const conn = await openConnection({ kubeconfig: { file: kubeconfigFile(KUBECONFIG) } });
    expect({ context: conn.context, namespace: conn.namespace, server: conn.server }).toEqual({
      context: "prod",
      namespace: "shop",
      server: "https://prod.example:6443",
    });
    conn.close();
  });
  it("selects another context, whose namespace defaults to `default`, and an explicit namespace wins", async () => {
    const staging = await openConnection({ kubeconfig: { yaml: KUBECONFIG }, context: "staging" });
    expect([staging.context, staging.namespace]).toEqual(["staging", "default"]);
    staging.close();
    const explicit = await openConnection({ kubeconfig: { yaml: KUBECONFIG }, namespace: "web" });
    expect(explicit.namespace).toBe("web");
    explicit.close();
  });
  it("refuses an unknown context and lists the known ones", () => {
    expect(() => loadKubeConfig({ kubeconfig: { yaml: KUBECONFIG }, context: "qa" })).toThrow(
      'kubeconfig: the kubeconfig has no context "qa" (it has: prod, staging)',
    );
  });
  it("says which kubeconfig file cannot be read", () => {
    const error = (() => {
      try {
        loadKubeConfig({ kubeconfig: { file: "/nonexistent/kubeconfig" } });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RolloutClientError);
    expect((error as RolloutClientError).code).toBe("INVALID");
    expect((error as Error).message).toContain('kubeconfig "/nonexistent/kubeconfig"');
  });
  it("reports an unreachable API server as UNAVAILABLE without leaking the token", async () => {
    const conn = await openConnection({ kubeconfig: { yaml: KUBECONFIG }, context: "staging" });
    const failure = conn.request({ method: "GET", path: "/version", resource: { kind: "Version" } });
    await expect(failure).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(failure).rejects.not.toThrow(/t0ken/);
    conn.close();
  });
});
