/** The server's release subscribers end to end: a deploy on kube-sim notifies a webhook and writes Kubernetes Events. */
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createReleaseEngine } from "@rollway/release";
import { connect } from "@rollway/rollout-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { clusterProxyResource } from "../../../packages/release/src/test-helpers/cluster-proxy.js";
import type { ServerConfig } from "./config.js";
import { APPROVE_TOKEN, DEPLOY_TOKEN, readEvents, simServerResource } from "./test-server.js";

const run = promisify(execFile);
const deployHeaders = { Authorization: `Bearer ${DEPLOY_TOKEN}`, "Content-Type": "application/json" };
const SIGNING_KEY = "signing-key-0123456789";

async function receiver() {
  const bodies: { body: string; signature: string | undefined }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push({
        body: Buffer.concat(chunks).toString("utf8"),
        signature: req.headers["x-rollway-signature-256"] as string | undefined,
      });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

/** A webhook receiver (signing key `SIGNING_KEY`), and a server on the demo world notifying it of the events `on`. */
async function notifiedServer(on: string[], config: Partial<ServerConfig> = {}) {
  const hook = await receiver();
  const dir = mkdtempSync(join(tmpdir(), "rollway-notify-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "url"), hook.url);
  writeFileSync(join(dir, "key"), SIGNING_KEY);
  writeFileSync(
    join(dir, "demo.notifications.yaml"),
    `apiVersion: rollway.dev/v1alpha1
kind: Notifications
environment: demo
destinations:
  audit: { type: webhook, url: { file: ${join(dir, "url")} }, signingKey: { file: ${join(dir, "key")} } }
subscriptions:
  - on: [${on.join(", ")}]
    to: [audit]
`,
  );
  const server = await simServerResource({
    config: { notifications: [{ file: join(dir, "demo.notifications.yaml") }], ...config },
  });
  return { hook, server };
}

/** POSTs a deploy payload; the release's id. */
async function deploy(server: { base: string }, payload: unknown): Promise<string> {
  const res = await fetch(`${server.base}/deploy`, {
    method: "POST",
    headers: deployHeaders,
    body: JSON.stringify(payload),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { releaseId: string }).releaseId;
}

describe("release subscribers", () => {
  it("notifies a signed webhook of a deploy waiting for approval and writes its steps as Kubernetes Events", async () => {
    const { hook, server } = await notifiedServer(["release-started", "waiting-for-approval"]);
    const releaseId = await deploy(server, { frontend: { image: "my-registry/image-for-frontend:7.0" } });
    await readEvents(`${server.base}/releases/${releaseId}/events`, deployHeaders, (events) =>
      events.some((e) => e.event === "waiting-for-approval"),
    );
    // Only this release's bodies: the receiver's port is an ephemeral one that another test file's server, running in
    // parallel, may have notified before (a closed receiver's port reused: CI once saw 163 stray bodies here).
    const releaseOf = (body: string) => {
      try {
        return (JSON.parse(body) as { release?: string }).release;
      } catch {
        return undefined;
      }
    };
    const ours = () => hook.bodies.filter((b) => releaseOf(b.body) === releaseId);
    await expect.poll(() => ours().length, { timeout: 10_000 }).toBe(2);
    const sent = ours().map((b) => JSON.parse(b.body) as Record<string, string>);
    expect(sent).toEqual([
      expect.objectContaining({ event: "release-started", release: releaseId }),
      expect.objectContaining({
        event: "waiting-for-approval",
        release: releaseId,
        previewUrl: "https://preview.demo.example.com/",
      }),
    ]);
    for (const b of ours())
      expect(b.signature).toBe(`sha256=${createHmac("sha256", SIGNING_KEY).update(b.body).digest("hex")}`);
    // Counted once the receiver's answer is read, a moment after the receiver got the body.
    const metrics = () => fetch(`${server.url}/metrics`).then((r) => r.text());
    await expect
      .poll(metrics, { timeout: 10_000 })
      .toMatch(/rollway_notifications_total\{destination="audit",type="webhook",outcome="sent"\} 2/);
    expect(server.logs.join("\n")).not.toContain(hook.url);

    // kubectl shows the release on the frontend's Rollout.
    const kubectl = () =>
      run(
        "kubectl",
        [
          "get",
          "events",
          "-n",
          "demo",
          "--field-selector",
          "involvedObject.name=frontend",
          "-o",
          "custom-columns=REASON:.reason,KIND:.involvedObject.kind,MESSAGE:.message",
        ],
        { env: { ...process.env, KUBECONFIG: server.cluster.sim.kubeconfigPath } },
      ).then((r) => r.stdout);
    await expect.poll(kubectl, { timeout: 10_000 }).toMatch(/WaitingForApproval\s+Rollout\s+release demo-/);
    const table = await kubectl();
    expect(table).toMatch(new RegExp(`ReleaseStarted\\s+Rollout\\s+release ${releaseId}: `));
    expect(table).toMatch(new RegExp(`PreviewReady\\s+Rollout\\s+release ${releaseId}: frontend: `));
  });

  it("#16: notifies a component stuck in a crash loop once, with its reason, while the release waits for it", async () => {
    const { hook, server } = await notifiedServer(["component-stuck", "aborted"]);
    server.cluster.sim.faults.crashPods({ image: "image-for-frontend:crash" });
    const releaseId = await deploy(server, { frontend: { image: "my-registry/image-for-frontend:crash-1" } });
    const sent = () => hook.bodies.map((b) => JSON.parse(b.body) as Record<string, string>);
    await expect.poll(() => sent().map((b) => b.event), { timeout: 30_000 }).toContain("component-stuck");
    // Ended by hand: the crash loop goes on, and is still told only once.
    const abort = await fetch(`${server.base}/releases/${releaseId}/abort`, {
      method: "POST",
      headers: { Authorization: `Bearer ${APPROVE_TOKEN}` },
    });
    expect(abort.status).toBe(200);
    await readEvents(`${server.base}/releases/${releaseId}/events`, deployHeaders);
    await expect.poll(() => sent().map((b) => b.event), { timeout: 10_000 }).toContain("aborted");
    const stuck = sent().filter((b) => b.event === "component-stuck");
    expect(stuck).toEqual([
      expect.objectContaining({ release: releaseId, component: "frontend", reason: "CrashLoopBackOff" }),
    ]);
    expect(stuck[0]?.title).toBe(`frontend is stuck in release ${releaseId} (CrashLoopBackOff)`);
  });

  it("#16: a rollback whose engine died, resumed by the server's recovery, is notified as rolled-back, not promoted", async () => {
    const { hook, server } = await notifiedServer(["promoted", "rolled-back"], { leaseDurationSeconds: 1 });
    const releaseId = await deploy(server, {
      frontend: { image: "my-registry/image-for-frontend:8.0" },
      noDowntime: { promotionMode: "auto" },
    });
    await readEvents(`${server.base}/releases/${releaseId}/events`, deployHeaders);

    // A CLI starts the rollback and dies at once: its connections cut (kill -9 as the cluster sees it).
    const dying = await cuttableEngine(server.cluster.sim);
    const started = new Promise<string>((resolve) => {
      void dying.engine
        .rollback(releaseId, {
          namespace: "demo",
          by: "alice",
          onEvent: (e) => {
            if (e.type === "started") {
              void dying.cut();
              resolve(e.release);
            }
          },
        })
        .catch(() => undefined);
    });
    const rollbackId = await started;

    // The server's recovery takes it over once its Lease expired, and finishes it.
    const sent = () => hook.bodies.map((b) => JSON.parse(b.body) as Record<string, string>);
    await expect.poll(() => sent().map((b) => b.release), { timeout: 30_000 }).toContain(rollbackId);
    expect(sent().map((b) => [b.event, b.release, b.rollbackOf])).toEqual([
      ["promoted", releaseId, ""],
      ["rolled-back", rollbackId, releaseId],
    ]);
  });
});

/** An engine whose connections go through a TCP proxy that `cut()` closes: from the cluster's side, a dead process. */
async function cuttableEngine(cluster: { url: string; kubeconfig: string }) {
  const proxy = await clusterProxyResource(cluster);
  const client = await connect({ kubeconfig: { yaml: proxy.kubeconfig }, retry: { attempts: 1 } });
  onTestFinished(() => client.close());
  return { engine: createReleaseEngine({ client, leaseDurationSeconds: 1 }), cut: proxy.cut };
}
