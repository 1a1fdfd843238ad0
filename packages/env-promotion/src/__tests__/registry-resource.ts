/**
 * Debian's real `docker-registry` (distribution 2.x) on a free loopback port, with images pushed to it through its
 * HTTP API (blob uploads, then a manifest), and optionally a Bearer-token front that demands a token the way Docker
 * Hub and ghcr.io do. `stop()` ends both and removes the storage.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REGISTRY_BINARY = "/usr/bin/docker-registry";
const INSTALL_HINT =
  "install it with `apt-get install docker-registry` (CI runs scripts/ci/setup-podman.sh, which does)";

export interface RegistryResource {
  /** `127.0.0.1:PORT`, the host part of image names. */
  host: string;
  /** Uploads a tiny image (one layer, unique content) as `repository:tag`; returns its manifest digest. */
  push(repository: string, tag: string): Promise<string>;
  stop(): Promise<void>;
}

const sha256 = (data: Buffer | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

export async function startRegistry(): Promise<RegistryResource> {
  const dir = await mkdtemp(join(tmpdir(), "rollway-promote-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  await writeFile(
    join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\nhttp:\n  addr: ${host}\n  secret: rollway-test\n`,
  );
  let child: ChildProcess;
  try {
    child = await startReady(REGISTRY_BINARY, ["serve", join(dir, "config.yml")], /listening on/);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const base = `http://${host}`;
  async function uploadBlob(repository: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const start = await fetch(`${base}/v2/${repository}/blobs/uploads/`, { method: "POST" });
    if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get("location") ?? "", base);
    location.searchParams.set("digest", digest);
    const put = await fetch(location, {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream" },
      body: data,
    });
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
    return digest;
  }
  return {
    host,
    async push(repository, tag) {
      const layer = Buffer.from(`layer ${repository}:${tag} ${randomBytes(8).toString("hex")}`);
      const config = Buffer.from(
        JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }),
      );
      const configDigest = await uploadBlob(repository, config);
      const layerDigest = await uploadBlob(repository, layer);
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.length }],
      });
      const put = await fetch(`${base}/v2/${repository}/manifests/${tag}`, {
        method: "PUT",
        headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
        body: manifest,
      });
      if (put.status !== 201) throw new Error(`manifest upload: HTTP ${put.status} ${await put.text()}`);
      return sha256(manifest);
    },
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TokenFront {
  /** `127.0.0.1:PORT` of the front, to use as the registry host in image names. */
  host: string;
  /** Token requests seen: the Authorization header's user, service and scope. */
  tokenRequests: { user: string | undefined; service: string | null; scope: string | null }[];
  stop(): Promise<void>;
}

/**
 * A proxy in front of a registry that answers every /v2/ request without `Bearer <token>` with a 401 challenge
 * (`WWW-Authenticate: Bearer realm=…/token,service=…,scope=…`); its /token hands the token to `user` only.
 */
export async function startTokenFront(
  upstream: string,
  user: { username: string; password: string },
): Promise<TokenFront> {
  const token = randomBytes(16).toString("hex");
  const tokenRequests: TokenFront["tokenRequests"] = [];
  const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
  let host = "";
  const server: Server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${host}`);
    if (url.pathname === "/token") {
      const auth = req.headers.authorization;
      tokenRequests.push({
        user: auth?.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString().split(":")[0] : undefined,
        service: url.searchParams.get("service"),
        scope: url.searchParams.get("scope"),
      });
      if (auth !== expected) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      const repo = url.pathname.match(/^\/v2\/(.+)\/manifests\//)?.[1] ?? "";
      res
        .writeHead(401, {
          "WWW-Authenticate": `Bearer realm="http://${host}/token",service="rollway-test",scope="repository:${repo}:pull"`,
        })
        .end();
      return;
    }
    const headers = { ...req.headers, host: upstream };
    delete headers.authorization;
    const proxied = httpRequest(`http://${upstream}${req.url}`, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    proxied.on("error", () => res.writeHead(502).end());
    req.pipe(proxied);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  host = `127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return {
    host,
    tokenRequests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function startReady(command: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    let output = "";
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const check = (d: Buffer) => {
      output += d.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === "ENOENT" ? `${command} is not installed: ${INSTALL_HINT}` : error.message)),
    );
    child.once("exit", (code) => reject(new Error(`${command} exited (code ${code}) before it was ready:\n${output}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
