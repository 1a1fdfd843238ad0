import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { ServerConfigSchema } from "./config.js";
import { startServer } from "./server.js";
import { startDemoCluster } from "./sim.js";
import {
  APPROVE_TOKEN,
  DEPLOY_TOKEN,
  readEvents,
  replicaResource,
  simServerResource,
  startTestServer,
} from "./test-server.js";

const deployHeaders = { Authorization: `Bearer ${DEPLOY_TOKEN}`, "Content-Type": "application/json" };
const payload = JSON.stringify({ frontend: { image: "my-registry/image-for-frontend:7.0" } });
const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** The server as its own process (`node --import tsx src/main.ts`), configured by variables; killed after the test. */
async function serverProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: { ...process.env, ROLLWAY_HOST: "127.0.0.1", ROLLWAY_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    const entry = JSON.parse(line) as { msg: string; url?: string };
    if (entry.msg === "listening" && entry.url) return { child, url: entry.url };
  }
  throw new Error("the server process ended before listening");
}

describe("a server restarted mid-release", () => {
  it("leaves the release in the cluster, and the next server resumes it to promotion", async () => {
    const cluster = await startDemoCluster({ readyDelayMs: 30 });
    onTestFinished(() => cluster.close());
    const dir = join(cluster.environmentFile, "..");
    writeFileSync(
      join(dir, "config.yaml"),
      `environments:\n  - { project: demo, environment: demo, file: ${cluster.environmentFile} }\n`,
    );
    const env = {
      ROLLWAY_CONFIG: join(dir, "config.yaml"),
      ROLLWAY_KUBECONFIG: cluster.sim.kubeconfigPath,
      ROLLWAY_LEASE_DURATION_SECONDS: "2",
      ROLLWAY_TOKENS: JSON.stringify([
        { scope: "deploy", project: "demo", environment: "demo", tokens: [DEPLOY_TOKEN] },
        { scope: "approve", project: "demo", environment: "demo", tokens: [APPROVE_TOKEN] },
      ]),
    };
    const first = await serverProcess(env);
    const base = (url: string) => `${url}/v1/projects/demo/environments/demo`;
    const res = await fetch(`${base(first.url)}/deploy`, { method: "POST", headers: deployHeaders, body: payload });
    expect(res.status).toBe(200);
    const { releaseId } = (await res.json()) as { releaseId: string };
    await readEvents(`${base(first.url)}/releases/${releaseId}/events`, deployHeaders, (events) =>
      events.some((e) => e.event === "waiting-for-approval"),
    );
    first.child.kill("SIGKILL");
    await once(first.child, "exit");

    const second = await serverProcess(env);
    const promote = await fetch(`${base(second.url)}/releases/${releaseId}/promote`, {
      method: "POST",
      headers: { Authorization: `Bearer ${APPROVE_TOKEN}` },
    });
    expect(promote.status).toBe(200);
    // Its engine resumes the release once the dead one's Lease expires, and finishes it.
    const events = await readEvents(`${base(second.url)}/releases/${releaseId}/events`, deployHeaders);
    const types = events.map((e) => e.event);
    expect(types).toContain("resumed");
    expect(types.indexOf("upgrade-done")).toBeGreaterThan(types.indexOf("resumed"));
    const status = (await (
      await fetch(`${base(second.url)}/releases/${releaseId}`, { headers: deployHeaders })
    ).json()) as { release: { state: string } };
    expect(status.release.state).toBe("promoted");
    second.child.kill("SIGTERM");
    const [code] = (await once(second.child, "exit")) as [number];
    expect(code).toBe(0);
  }, 60_000);
});

describe("a server started with recovery off (rollway dashboard)", () => {
  it("never takes over a release whose engine died: the release stays orphaned for the next engine", async () => {
    const cluster = await startDemoCluster({ readyDelayMs: 30 });
    onTestFinished(() => cluster.close());
    const config = {
      environments: [{ project: "demo", environment: "demo", file: cluster.environmentFile }],
      leaseDurationSeconds: 1,
      logLevel: "warn",
      tokens: [
        { scope: "deploy", project: "demo", environment: "demo", tokens: [DEPLOY_TOKEN] },
        { scope: "approve", project: "demo", environment: "demo", tokens: [APPROVE_TOKEN] },
      ],
    };
    const dir = join(cluster.environmentFile, "..");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ environments: config.environments }));
    const first = await serverProcess({
      ROLLWAY_CONFIG: join(dir, "config.json"),
      ROLLWAY_KUBECONFIG: cluster.sim.kubeconfigPath,
      ROLLWAY_LEASE_DURATION_SECONDS: "1",
      ROLLWAY_TOKENS: JSON.stringify(config.tokens),
    });
    const res = await fetch(`${first.url}/v1/projects/demo/environments/demo/deploy`, {
      method: "POST",
      headers: deployHeaders,
      body: payload,
    });
    const { releaseId } = (await res.json()) as { releaseId: string };
    const events = `${first.url}/v1/projects/demo/environments/demo/releases/${releaseId}/events`;
    await readEvents(events, deployHeaders, (e) => e.some((x) => x.event === "waiting-for-approval"));
    first.child.kill("SIGKILL");
    await once(first.child, "exit");

    const viewer = await startServer(ServerConfigSchema.parse({ ...config, host: "127.0.0.1", port: 0 }), {
      kubeconfig: { yaml: cluster.sim.kubeconfig },
      recovery: false,
      logDestination: new Writable({ write: (_c, _e, done) => done() }),
    });
    onTestFinished(() => viewer.shutdown());
    // Five Lease durations: a replica with recovery on resumes it within one or two.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const base = `${viewer.url}/v1/projects/demo/environments/demo/releases/${releaseId}`;
    const status = (await (await fetch(`${base}?fresh=1`, { headers: deployHeaders })).json()) as {
      release: { state: string };
    };
    expect(status.release.state).toBe("waiting-for-approval");
    const promote = await fetch(`${base}/promote`, {
      method: "POST",
      headers: { Authorization: `Bearer ${APPROVE_TOKEN}` },
    });
    const answer = (await promote.json()) as { code?: string };
    expect(answer.code).toBe("NOT_RUNNING");
  }, 60_000);
});

describe("graceful shutdown under load", () => {
  it("finishes every request in flight, refuses new connections, and returns", async () => {
    const server = await startTestServer({ rateLimitPerMinute: 100_000 });
    const { port } = new URL(server.url);
    // 40 requests whose bodies are still arriving when shutdown begins.
    const inFlight = Array.from({ length: 40 }, () => {
      let finish!: () => void;
      const done = new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/v1/projects/shop/environments/prod/validate",
            headers: { Authorization: `Bearer ${DEPLOY_TOKEN}`, "Content-Type": "application/json" },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.write(payload.slice(0, 10));
        finish = () => req.end(payload.slice(10));
      });
      return { done, finish: () => finish() };
    });
    // Every request has reached the handler (its headers are parsed) before shutdown begins.
    while (server.inFlight < inFlight.length) await new Promise((r) => setTimeout(r, 10));
    const stopped = server.shutdown();
    expect((await fetch(`${server.url}/readyz`).catch(() => undefined))?.status ?? 503).toBe(503);
    for (const r of inFlight) r.finish();
    expect(await Promise.all(inFlight.map((r) => r.done))).toEqual(inFlight.map(() => 200));
    await stopped;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("ends open event streams at shutdown so their clients resume on another replica", async () => {
    const server = await simServerResource();
    const replica = await replicaResource(server);
    const res = await fetch(`${server.base}/deploy`, { method: "POST", headers: deployHeaders, body: payload });
    const { releaseId } = (await res.json()) as { releaseId: string };
    const stream = readEvents(`${replica.base}/releases/${releaseId}/events`, deployHeaders);
    await readEvents(`${server.base}/releases/${releaseId}/events`, deployHeaders, (events) =>
      events.some((e) => e.event === "waiting-for-approval"),
    );
    const started = Date.now();
    await replica.shutdown();
    const seen = await stream;
    expect(Date.now() - started).toBeLessThan(server.config.shutdownGraceMs);
    expect(seen.map((e) => e.event)).toContain("waiting-for-approval");
    await fetch(`${server.base}/releases/${releaseId}/promote`, {
      method: "POST",
      headers: { Authorization: `Bearer ${APPROVE_TOKEN}` },
    });
    const last = Number(seen.at(-1)?.id);
    const rest = await readEvents(`${server.base}/releases/${releaseId}/events`, {
      ...deployHeaders,
      "Last-Event-ID": String(last),
    });
    expect(rest.map((e) => Number(e.id))).toEqual(rest.map((_e, i) => last + 1 + i));
    expect(rest.map((e) => e.event)).toContain("upgrade-done");
  });
});
