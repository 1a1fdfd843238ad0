import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { parse } from "yaml";
import { connect } from "./client.js";
import { loadKubeConfig, openConnection } from "./connect.js";
import { RolloutClientError } from "./errors.js";
import { deploymentManifest, kubeSimResource } from "./test-helpers/kube-sim.js";

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
  it("follows $KUBECONFIG when no kubeconfig is given (the default chain)", async () => {
    vi.stubEnv("KUBECONFIG", kubeconfigFile(KUBECONFIG));
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const conn = await openConnection({ context: "staging" });
    expect([conn.context, conn.server]).toEqual(["staging", "http://127.0.0.1:1"]);
    conn.close();
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

describe("in-cluster service account", () => {
  it("connects with the pod's token, CA and namespace files over TLS", async () => {
    const env = await kubeSimResource({ tls: true, withoutControllers: true });
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const kubeconfig = parse(env.sim.kubeconfig) as {
      clusters: { cluster: { "certificate-authority-data": string } }[];
    };
    const ca = Buffer.from(kubeconfig.clusters[0]?.cluster["certificate-authority-data"] ?? "", "base64").toString(
      "utf8",
    );
    const prefix = mkdtempSync(join(tmpdir(), "rollout-client-pod-"));
    dirs.push(prefix);
    const accountDir = join(prefix, "var/run/secrets/kubernetes.io/serviceaccount");
    mkdirSync(accountDir, { recursive: true });
    writeFileSync(join(accountDir, "ca.crt"), ca);
    writeFileSync(join(accountDir, "token"), "service-account-token");
    writeFileSync(join(accountDir, "namespace"), "shop");
    const url = new URL(env.sim.url);
    vi.stubEnv("KUBERNETES_SERVICE_HOST", url.hostname);
    vi.stubEnv("KUBERNETES_SERVICE_PORT", url.port);
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });

    const client = await connect({ kubeconfig: { inCluster: true, pathPrefix: prefix } });
    onTestFinished(() => client.close());
    expect(client.namespace).toBe("shop");
    await expect(client.target("api")).resolves.toMatchObject({ kind: "Deployment", namespace: "shop" });
  });

  it("refuses a server whose certificate the CA does not vouch for", async () => {
    const env = await kubeSimResource({ tls: true, withoutControllers: true });
    const yaml = env.sim.kubeconfig.replace(/certificate-authority-data: .*/, "insecure-skip-tls-verify: false");
    const client = await connect({ kubeconfig: { yaml } });
    onTestFinished(() => client.close());
    await expect(client.target("api")).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});
