import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { openConnection } from "./connect.js";
import { readKubeconfig } from "./kubeconfig.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rollout-client-kubeconfig-"));
  dirs.push(dir);
  return dir;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** A kubeconfig with one context `x` over the cluster and user fields given (flow style, as kubectl accepts). */
function kubeconfigOf(cluster: string, user: string | undefined, extra = ""): string {
  return `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { ${cluster} } }]
users: [{ name: u, user: { ${user ?? ""} } }]
contexts: [{ name: x, context: { cluster: c, ${user === undefined ? "" : "user: u, "}namespace: shop } }${extra}]
current-context: x
`;
}

/** What client-node's own KubeConfig applies to a request: the reference the reader here is checked against. */
async function clientNodeView(file: string, context?: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  if (context) kc.setCurrentContext(context);
  const opts: https.RequestOptions = {};
  await (kc as unknown as { applyOptions(o: https.RequestOptions): Promise<void> }).applyOptions(opts);
  const user = kc.getCurrentUser();
  return {
    context: kc.getCurrentContext(),
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    server: kc.getCurrentCluster()?.server,
    tls: Object.fromEntries(
      (["ca", "cert", "key", "servername", "rejectUnauthorized"] as const)
        .filter((k) => opts[k] !== undefined)
        .map((k) => [k, opts[k]]),
    ),
    headers: Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k, String(v)])),
    basicAuth: user?.username ? `${user.username}:${user.password ?? ""}` : undefined,
  };
}

describe("reading a kubeconfig without client-node", () => {
  // The files the kubeconfigs name; kept for the whole file (afterEach removes only the tests' own folders).
  const dir = mkdtempSync(join(tmpdir(), "rollout-client-kubeconfig-files-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "certs"));
  writeFileSync(join(dir, "certs", "ca.crt"), "CA FROM FILE");
  writeFileSync(join(dir, "certs", "client.crt"), "CERT FROM FILE");
  writeFileSync(join(dir, "certs", "client.key"), "KEY FROM FILE");
  writeFileSync(join(dir, "token"), "token-from-file");
  const server = 'server: "https://k8s.example:6443/"';
  const cases: [string, string][] = [
    ["a bearer token", kubeconfigOf(server, "token: t0ken")],
    ["a token file", kubeconfigOf(server, `token-file: ${join(dir, "token")}`)],
    ["basic auth", kubeconfigOf(server, "username: admin, password: s3cret")],
    ["basic auth without a password", kubeconfigOf(server, "username: admin")],
    ["impersonation", kubeconfigOf(server, "token: t, as: someone")],
    ["CA data", kubeconfigOf(`${server}, certificate-authority-data: ${b64("CA DATA")}`, "token: t")],
    [
      "a CA file relative to the kubeconfig",
      kubeconfigOf(`${server}, certificate-authority: certs/ca.crt`, "token: t"),
    ],
    [
      "client certificate and key data",
      kubeconfigOf(server, `client-certificate-data: ${b64("CERT")}, client-key-data: ${b64("KEY")}`),
    ],
    [
      "client certificate and key files relative to the kubeconfig",
      kubeconfigOf(server, "client-certificate: certs/client.crt, client-key: certs/client.key"),
    ],
    ["tls-server-name", kubeconfigOf(`${server}, tls-server-name: api.internal`, "token: t")],
    ["insecure-skip-tls-verify", kubeconfigOf(`${server}, insecure-skip-tls-verify: true`, "token: t")],
    ["a context without a user", kubeconfigOf(`${server}, insecure-skip-tls-verify: true`, undefined)],
    ["plain HTTP", kubeconfigOf('server: "http://127.0.0.1:8001"', "token: t")],
  ];
  it.each(cases)("applies %s exactly as client-node's KubeConfig does", async (_name, text) => {
    const file = join(dir, "config");
    writeFileSync(file, text);
    onTestFinished(() => rmSync(file));
    const ours = await readKubeconfig({ kubeconfig: { file } });
    expect(ours.readBy).toBe("rollway");
    expect({
      context: ours.context,
      namespace: ours.namespace,
      server: ours.server,
      tls: ours.tls,
      headers: await ours.headers(),
      basicAuth: ours.basicAuth,
    }).toEqual(await clientNodeView(file));
  });

  it("reads ~/.kube/config itself when $KUBECONFIG is not set, and a single $KUBECONFIG file", async () => {
    const home = tempDir();
    mkdirSync(join(home, ".kube"));
    writeFileSync(join(home, ".kube", "config"), kubeconfigOf('server: "https://home.example"', "token: t"));
    vi.stubEnv("KUBECONFIG", "");
    vi.stubEnv("HOME", home);
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    await expect(readKubeconfig()).resolves.toMatchObject({ server: "https://home.example", readBy: "rollway" });
    const single = join(tempDir(), "one");
    writeFileSync(single, kubeconfigOf('server: "https://one.example"', "token: t"));
    vi.stubEnv("KUBECONFIG", single);
    await expect(readKubeconfig()).resolves.toMatchObject({ server: "https://one.example", readBy: "rollway" });
  });

  it("refuses an entry client-node refuses, with the same words, naming the file", async () => {
    const file = join(tempDir(), "config");
    writeFileSync(file, "clusters: [{ name: c, cluster: { certificate-authority-data: x } }]\n");
    await expect(readKubeconfig({ kubeconfig: { file } })).rejects.toMatchObject({
      code: "INVALID",
      message: expect.stringContaining("clusters[0].cluster.server is missing"),
    });
    await expect(readKubeconfig({ kubeconfig: { file } })).rejects.toThrow(`kubeconfig "${file}"`);
    await expect(readKubeconfig({ kubeconfig: { yaml: "clusters: [\n" } })).rejects.toMatchObject({ code: "INVALID" });
  });
});

describe("what the reader leaves to client-node, loaded only then", () => {
  const server = 'server: "https://k8s.example:6443"';
  it.each([
    [
      "an exec plugin",
      kubeconfigOf(
        server,
        `exec: { apiVersion: client.authentication.k8s.io/v1, command: echo, args: ['{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'] }`,
      ),
    ],
    ["an auth-provider", kubeconfigOf(server, "auth-provider: { name: oidc, config: { id-token: a } }")],
    ["a proxy-url", kubeconfigOf(`${server}, proxy-url: "http://proxy.example:3128"`, "token: t")],
  ])("reads a kubeconfig with %s through client-node", async (_name, yaml) => {
    await expect(readKubeconfig({ kubeconfig: { yaml } })).resolves.toMatchObject({
      readBy: "client-node",
      server: "https://k8s.example:6443",
      namespace: "shop",
    });
  });
  it("merges several $KUBECONFIG files by client-node's rules", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a"), kubeconfigOf('server: "https://a.example"', "token: t"));
    writeFileSync(
      join(dir, "b"),
      "contexts: [{ name: y, context: { cluster: c2 } }]\nclusters: [{ name: c2, cluster: { server: https://b.example } }]\n",
    );
    vi.stubEnv("KUBECONFIG", `${join(dir, "a")}:${join(dir, "b")}`);
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    await expect(readKubeconfig({ context: "y" })).resolves.toMatchObject({
      readBy: "client-node",
      server: "https://b.example",
    });
  });
});

describe("the credentials reach the API server", () => {
  /** A loopback API server that answers every request with the Authorization header it got. */
  async function echoServer(): Promise<string> {
    const server = createServer((req, res) => {
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const version = { method: "GET", path: "/version", resource: { kind: "Version" } } as const;

  it("sends the kubeconfig's bearer token", async () => {
    const url = await echoServer();
    const conn = await openConnection({ kubeconfig: { yaml: kubeconfigOf(`server: "${url}"`, "token: t0ken") } });
    onTestFinished(() => conn.close());
    await expect(conn.request(version)).resolves.toEqual({ authorization: "Bearer t0ken" });
  });

  it("runs an exec credential plugin (through client-node, loaded for it) and sends the token it prints", async () => {
    const url = await echoServer();
    const dir = tempDir();
    const plugin = join(dir, "plugin.mjs");
    writeFileSync(
      plugin,
      `console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "from-the-plugin-" + process.env.PLUGIN_SUFFIX } }));\n`,
    );
    const user = `exec: { apiVersion: client.authentication.k8s.io/v1, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(plugin)}], env: [{ name: PLUGIN_SUFFIX, value: "42" }], interactiveMode: Never }`;
    const conn = await openConnection({ kubeconfig: { yaml: kubeconfigOf(`server: "${url}"`, user) } });
    onTestFinished(() => conn.close());
    await expect(conn.request(version)).resolves.toEqual({ authorization: "Bearer from-the-plugin-42" });
  });
});
