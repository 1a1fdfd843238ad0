import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { parse } from "yaml";
import { connect } from "./client.js";
import { openConnection } from "./connect.js";
import { RolloutClientError } from "./errors.js";
import { deploymentManifest, kubeSimResource } from "./test-helpers/kube-sim.js";
import { forwardProxy } from "./test-helpers/resetting-proxy.js";

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

  it("refuses an unknown context and lists the known ones", async () => {
    await expect(openConnection({ kubeconfig: { yaml: KUBECONFIG }, context: "qa" })).rejects.toThrow(
      'kubeconfig: the kubeconfig has no context "qa" (it has: prod, staging)',
    );
  });
  it("says which kubeconfig file cannot be read", async () => {
    const error = await openConnection({ kubeconfig: { file: "/nonexistent/kubeconfig" } }).catch((e: unknown) => e);
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

/** A self-signed certificate for 127.0.0.1 and `localhost`, usable by a server and as a client certificate. */
function selfSignedPair(dir: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
      ...["-subj", `/CN=${cn}`, "-keyout", key, "-out", cert],
      ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      ...["-addext", "extendedKeyUsage=serverAuth,clientAuth"],
      ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ],
    { stdio: "ignore" },
  );
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("every TLS and connection setting of the kubeconfig reaches every request", () => {
  it("uses tls-server-name to check the certificate (a name it does not cover is refused)", async () => {
    const env = await kubeSimResource({ tls: true, withoutControllers: true });
    await env.conn.objects.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: {} });
    const withName = (name: string) =>
      env.sim.kubeconfig.replace(/(certificate-authority-data: .*)/, `$1\n      tls-server-name: ${name}`);
    const good = await openConnection({ kubeconfig: { yaml: withName("localhost") }, retry: { attempts: 1 } });
    onTestFinished(() => good.close());
    await expect(good.objects.get({ apiVersion: "v1", kind: "ConfigMap", name: "x" })).resolves.toMatchObject({
      metadata: { name: "x" },
    });
    const wrong = await openConnection({ kubeconfig: { yaml: withName("elsewhere.example") }, retry: { attempts: 1 } });
    onTestFinished(() => wrong.close());
    const error = await wrong.objects.get({ apiVersion: "v1", kind: "ConfigMap", name: "x" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "UNAVAILABLE" });
    expect((error as Error).message).toContain("elsewhere.example");
  });

  it("reads the CA from a file, and insecure-skip-tls-verify needs none", async () => {
    const env = await kubeSimResource({ tls: true, withoutControllers: true });
    const ca = Buffer.from(/certificate-authority-data: (.*)/.exec(env.sim.kubeconfig)?.[1] ?? "", "base64");
    const caFile = kubeconfigFile(ca.toString("utf8"));
    const fromFile = await openConnection({
      kubeconfig: {
        yaml: env.sim.kubeconfig.replace(/certificate-authority-data: .*/, `certificate-authority: ${caFile}`),
      },
    });
    onTestFinished(() => fromFile.close());
    await expect(fromFile.objects.list({ apiVersion: "v1", kind: "ConfigMap" })).resolves.toHaveProperty("items");
    const insecure = await openConnection({
      kubeconfig: {
        yaml: env.sim.kubeconfig.replace(/certificate-authority-data: .*/, "insecure-skip-tls-verify: true"),
      },
    });
    onTestFinished(() => insecure.close());
    await expect(insecure.objects.list({ apiVersion: "v1", kind: "ConfigMap" })).resolves.toHaveProperty("items");
  });

  it("presents the client certificate and key of the kubeconfig's user", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rollout-client-tls-"));
    dirs.push(dir);
    const server = selfSignedPair(dir, "api-server");
    const client = selfSignedPair(dir, "rollway-ci");
    const https = createHttpsServer(
      { cert: server.cert, key: server.key, ca: client.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ user: peer.subject?.CN }));
      },
    );
    await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => https.close(() => resolve())));
    const port = (https.address() as AddressInfo).port;
    const yaml = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", certificate-authority-data: ${b64(server.cert)} } }]
users: [{ name: u, user: { client-certificate-data: ${b64(client.cert)}, client-key-data: ${b64(client.key)} } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`;
    const conn = await openConnection({ kubeconfig: { yaml } });
    onTestFinished(() => conn.close());
    await expect(conn.request({ method: "GET", path: "/version", resource: { kind: "Version" } })).resolves.toEqual({
      user: "rollway-ci",
    });
  });

  it("sends every request, watches included, through the kubeconfig's proxy-url", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const proxy = await forwardProxy();
    const yaml = env.sim.kubeconfig.replace(/(server: .*)/, `$1\n      proxy-url: ${proxy.url}`);
    const conn = await openConnection({ kubeconfig: { yaml } });
    onTestFinished(() => conn.close());
    await conn.objects.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "via-proxy" }, data: {} });
    const stop = new AbortController();
    onTestFinished(() => stop.abort());
    const events = conn.objects.listWatch({ apiVersion: "v1", kind: "ConfigMap" }, { signal: stop.signal });
    expect((await events.next()).value).toMatchObject({ type: "LISTED" });
    // hpagent (client-node's proxy agent) tunnels with CONNECT; the keep-alive agent reuses the tunnel.
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(proxy.seen.every((line) => line === `CONNECT ${new URL(env.sim.url).host}`)).toBe(true);
  });
});
