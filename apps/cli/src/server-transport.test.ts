/**
 * How `--server` reaches the server (`server-client.ts`, over `node:http`/`node:https` rather than `fetch`), through
 * the built binary: over TLS, through redirects as `fetch` followed them, an unreachable server's message and exit
 * code, and what `status --server` loads of Node (no undici).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimServer } from "@rollway/webhook-server";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { rollwayAsync } from "./test-helpers/run-cli.js";
import { startQuietSimServer } from "./test-helpers/sim-server.js";

let server: SimServer;
let dir: string;
beforeAll(async () => {
  server = await startQuietSimServer();
  dir = mkdtempSync(join(tmpdir(), "rollway-server-transport-"));
});
afterAll(async () => {
  await server?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const status = (url: string, env: Record<string, string> = {}, json = true) =>
  rollwayAsync(
    [
      "status",
      ...(json ? ["--json"] : []),
      ...["--server", url, "--token", server.tokens.deploy, "--project", "demo", "--env", "demo"],
    ],
    env,
  ).done;

async function listening(front: Server): Promise<number> {
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => front.close(() => resolve())));
  return (front.address() as AddressInfo).port;
}

/** Passes each request on to the sim server; `seen` gets the headers it came with. */
function forwarding(seen: IncomingHttpHeaders[] = []) {
  return (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
    seen.push(req.headers);
    const target = new URL(req.url ?? "/", server.url);
    const { host: _host, ...headers } = req.headers;
    const out = request(target, { method: req.method ?? "GET", headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(out);
  };
}

describe("--server, over node:http and node:https", () => {
  it("answers the same over https (the CA from NODE_EXTRA_CA_CERTS) as over http", async () => {
    const cert = join(dir, "front.crt");
    const key = join(dir, "front.key");
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
        ...["-subj", "/CN=rollway-front", "-keyout", key, "-out", cert],
        ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        ...["-addext", "basicConstraints=critical,CA:TRUE"],
      ],
      { stdio: "ignore" },
    );
    const front = createHttpsServer({ cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") }, forwarding());
    const port = await listening(front);
    const plain = await status(server.url);
    expect(plain.code, plain.stderr).toBe(0);
    const secure = await status(`https://127.0.0.1:${port}`, { NODE_EXTRA_CA_CERTS: cert });
    expect(secure.code, secure.stderr).toBe(0);
    expect(JSON.parse(secure.stdout)).toEqual(JSON.parse(plain.stdout));
    // Without the CA the certificate is refused: the server cannot be reached, exit code 1.
    const refused = await status(`https://127.0.0.1:${port}`, {}, false);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`cannot reach the rollway server at https://127.0.0.1:${port}`);
  });

  it("follows a redirect, and sends the token on only to the same origin", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const target = await listening(createServer(forwarding(seen)));
    // To another origin (another port): it gets no Authorization header, and the server refuses the request.
    const elsewhere = createServer((req, res) => {
      res.writeHead(308, { Location: `http://127.0.0.1:${target}${req.url}` }).end();
    });
    const moved = await status(`http://127.0.0.1:${await listening(elsewhere)}`, {}, false);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/^rollway: the server answered HTTP 401: .*; check --token and its scope/);
    expect(seen.at(-1)?.authorization).toBeUndefined();
    expect(moved.stdout + moved.stderr).not.toContain(server.tokens.deploy);

    // On the same origin the token goes on.
    const inPlace = createServer((req, res) => {
      if (req.url?.startsWith("/moved/")) {
        forwarding(seen)(Object.assign(req, { url: req.url.slice("/moved".length) }), res);
        return;
      }
      res.writeHead(307, { Location: `/moved${req.url}` }).end();
    });
    const inPlacePort = await listening(inPlace);
    const followed = await status(`http://127.0.0.1:${inPlacePort}`);
    expect(followed.code, followed.stderr).toBe(0);
    expect(JSON.parse(followed.stdout)).toMatchObject({ ok: true, environment: "demo" });
    expect(seen.at(-1)?.authorization).toBe(`Bearer ${server.tokens.deploy}`);
  });

  it("names the server it cannot reach, exit code 1, without the token", async () => {
    const closed = createServer();
    const port = await listening(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const message = `cannot reach the rollway server at http://127.0.0.1:${port}; check --server and the network`;
    const text = await status(`http://127.0.0.1:${port}`, {}, false);
    expect(text.code).toBe(1);
    expect(text.stderr).toBe(`rollway: ${message}\n`);
    const json = await status(`http://127.0.0.1:${port}`);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ type: "done", ok: false, exitCode: 1, error: { message } });
  });

  it("loads neither Node's undici (fetch) nor, for an http:// server, https and tls", async () => {
    const preload = join(dir, "module-list.cjs");
    writeFileSync(
      preload,
      `process.on("exit", () => process.stderr.write("NODE-MODULES " + JSON.stringify(process.moduleLoadList) + "\\n"));\n`,
    );
    const r = await status(server.url, { NODE_OPTIONS: `--require=${preload}` });
    expect(r.code, r.stderr).toBe(0);
    const loaded = JSON.parse(/^NODE-MODULES (.*)$/m.exec(r.stderr)?.[1] ?? "[]") as string[];
    expect(loaded).toContain("NativeModule http");
    for (const unused of ["NativeModule internal/deps/undici/undici", "NativeModule https", "NativeModule tls"])
      expect(loaded).not.toContain(unused);
  });

  it("deploy --wait --timeout stops following the release's events in time: exit code 3, the release goes on", async () => {
    const at = ["--server", server.url, "--project", "demo", "--env", "demo"];
    const r = await rollwayAsync(
      ["deploy", "-", "--wait", "--timeout", "1", ...at, "--token", server.tokens.deploy],
      {},
      '{"frontend": {"image": "my-registry/image-for-frontend:2.0"}}',
    ).done;
    expect(r.code, r.stderr).toBe(3);
    const id = /Release (\S+) started on the server/.exec(r.stdout)?.[1] as string;
    expect(r.stdout).toContain("waiting-for-approval");
    expect(r.stderr).toContain(`release ${id} did not end within --timeout 1 s (it goes on on the server)`);
    const abort = await rollwayAsync(["abort", id, ...at, "--token", server.tokens.approve]).done;
    expect(abort.code, abort.stderr).toBe(0);
  });
});
