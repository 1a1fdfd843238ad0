import { describe, expect, it, onTestFinished } from "vitest";
import { connect } from "./client.js";
import type { DeploymentObject } from "./resources.js";
import type { WorkloadStatus } from "./status.js";
import { deploymentManifest, drive, kubeSimResource } from "./test-helpers/kube-sim.js";
import { watchListRefusingProxy } from "./test-helpers/watch-list-refusing-proxy.js";

// These tests play the Deployment controller themselves (status writes over HTTP) so that they control exactly
// when the status changes; the watch machinery is what is under test.
const progressing = { observedGeneration: 1, replicas: 2, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
const healthy = { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };

/** A kube-sim without controllers holding the Deployment `web` (with this status, when given), and its target. */
async function webDeployment(status?: typeof progressing) {
  const env = await kubeSimResource({ withoutControllers: true });
  await env.create("Deployment", deploymentManifest("web", "web:1"));
  if (status) await env.patchStatus("Deployment", "web", status);
  return { env, target: await env.client.target("web") };
}

describe("watch", () => {
  it("yields the current status, then each change, with no GET after the watch started", async () => {
    const { env, target } = await webDeployment(progressing);
    const before = env.requests.length;
    const iterator = env.client.watch(target);
    const first = await iterator.next();
    expect(first.value).toMatchObject({ kind: "Deployment", name: "web", phase: "Progressing", readyReplicas: 1 });
    await env.patchStatus("Deployment", "web", healthy);
    const second = await iterator.next();
    expect(second.value).toMatchObject({ phase: "Healthy", readyReplicas: 2, message: "" });
    await iterator.return(undefined);
    const sent = env.requests.slice(before);
    expect(sent.every((r) => r.method === "GET" && r.path.includes("watch=true"))).toBe(true);
  });

  it("resumes from the last resourceVersion when the server drops the watch, missing nothing", async () => {
    const { env, target } = await webDeployment(progressing);
    const iterator = env.client.watch(target);
    expect((await iterator.next()).value?.phase).toBe("Progressing");
    env.sim.faults.dropWatches();
    await env.patchStatus("Deployment", "web", healthy);
    expect((await iterator.next()).value?.phase).toBe("Healthy");
    await iterator.return(undefined);
    const resumed = env.requests.filter((r) => r.path.includes("/deployments?") && /resourceVersion=\d+/.test(r.path));
    expect(resumed.length).toBeGreaterThan(0);
  });

  it("backs off on the clock while the server refuses watches, then relists once on 410 Gone and carries on", async () => {
    const { env, target } = await webDeployment(progressing);
    const iterator = env.client.watch(target);
    expect((await iterator.next()).value?.phase).toBe("Progressing");
    const watches = () => env.requests.filter((r) => r.path.includes("/deployments?") && r.path.includes("watch=true"));
    const before = watches().length;
    const refuse = env.sim.faults.failRequests({ verb: "watch", resource: "deployments", code: 503 });
    env.sim.faults.dropWatches();
    await expect.poll(() => watches().length).toBe(before + 1);
    // While the client waits to retry, the change happens and the history it would resume from is compacted.
    await env.patchStatus("Deployment", "web", healthy);
    env.sim.faults.expireWatchHistory();
    refuse.clear();
    // The refused watch start is retried by the connection with back-off on the clock, then 410 makes one LIST.
    expect((await drive(env, iterator.next(), { stepMs: 100 })).value?.phase).toBe("Healthy");
    const lists = env.requests.filter((r) => r.path.includes("/deployments?") && !r.path.includes("watch=true"));
    expect(lists).toHaveLength(1);
    await env.patchStatus("Deployment", "web", progressing);
    expect((await iterator.next()).value?.phase).toBe("Progressing");
    await iterator.return(undefined);
  });

  it("fails with NOT_FOUND when the watched object is deleted", async () => {
    const { env, target } = await webDeployment();
    const iterator = env.client.watch(target);
    await iterator.next();
    await env.conn.request({
      method: "DELETE",
      path: "/apis/apps/v1/namespaces/shop/deployments/web",
      resource: { kind: "Deployment" },
    });
    await expect(iterator.next()).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining('Deployment "web" in namespace "shop"'),
    });
  });

  it("fails with NOT_FOUND at once when the object is gone before the watch starts", async () => {
    const { env, target } = await webDeployment();
    await env.conn.request({
      method: "DELETE",
      path: "/apis/apps/v1/namespaces/shop/deployments/web",
      resource: { kind: "Deployment" },
    });
    await expect(env.client.waitFor(target, () => true)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(env.client.status(target)).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: 'Deployment "web" in namespace "shop": does not exist (any more)',
    });
  });

  it("falls back to one LIST per watched collection when the server refuses watch lists", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("web", "web:1"));
    await env.patchStatus("Deployment", "web", progressing);
    const proxy = await watchListRefusingProxy(env.sim.url);
    const requests: { method: string; path: string }[] = [];
    const client = await connect({
      kubeconfig: { yaml: env.sim.kubeconfig.replace(env.sim.url, proxy) },
      onRequest: (r) => requests.push(r),
    });
    onTestFinished(() => client.close());
    const target = await client.target("web");
    const iterator = client.watch(target);
    expect((await iterator.next()).value).toMatchObject({ phase: "Progressing", readyReplicas: 1 });
    await env.patchStatus("Deployment", "web", healthy);
    expect((await iterator.next()).value).toMatchObject({ phase: "Healthy" });
    await iterator.return(undefined);
    const lists = requests.filter(
      (r) => !r.path.includes("watch=true") && /\/(deployments|replicasets)\?/.test(r.path),
    );
    expect(lists).toHaveLength(2);
  });
});

describe("watch with partial RBAC", () => {
  it("follows the workload alone when ReplicaSets may not be watched, and says FORBIDDEN when the workload may not", async () => {
    const { env, target } = await webDeployment(progressing);
    env.sim.faults.failRequests({ verb: "watch", resource: "replicasets", code: 403 });
    const iterator = env.client.watch(target);
    expect((await iterator.next()).value).toMatchObject({ phase: "Progressing", readyReplicas: 1 });
    await env.patchStatus("Deployment", "web", healthy);
    expect((await iterator.next()).value).toMatchObject({ phase: "Healthy" });
    await iterator.return(undefined);

    env.sim.faults.failRequests({ verb: "watch", resource: "deployments", code: 403 });
    await expect(env.client.waitFor(target, () => true)).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining('Deployment "web" in namespace "shop"'),
    });
  });
});

describe("waitFor", () => {
  it("resolves with the first status the predicate accepts", async () => {
    const { env, target } = await webDeployment(progressing);
    const waiting = env.client.waitFor(target, (s) => s.phase === "Healthy", { timeout: 60_000 });
    await env.patchStatus("Deployment", "web", healthy);
    await expect(waiting).resolves.toMatchObject({ phase: "Healthy", readyReplicas: 2 });
  });

  it("throws a TIMEOUT error carrying the last status when the clock passes the timeout", async () => {
    const { env, target } = await webDeployment(progressing);
    let seen: WorkloadStatus | undefined;
    const waiting = env.client.waitFor(
      target,
      (s) => {
        seen = s;
        return s.phase === "Healthy";
      },
      { timeout: 30_000 },
    );
    await expect.poll(() => seen?.phase).toBe("Progressing");
    await env.sim.advance(30_000);
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "TIMEOUT",
      lastStatus: { phase: "Progressing" },
      message: expect.stringContaining(
        'Deployment "web" in namespace "shop": the condition was not met within 30000 ms; it is Progressing',
      ),
    });
  });

  it("stops when the caller's signal aborts", async () => {
    const { env, target } = await webDeployment();
    const controller = new AbortController();
    const waiting = env.client.waitFor(target, () => false, { signal: controller.signal });
    controller.abort(new Error("user cancelled"));
    await expect(waiting).rejects.toThrow("user cancelled");
    const deployment = await env.get<DeploymentObject>("Deployment", "web");
    expect(deployment.metadata.name).toBe("web");
  });
});
