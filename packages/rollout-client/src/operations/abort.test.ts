import { describe, expect, it } from "vitest";
import type { RolloutObject } from "../resources.js";
import { deploymentManifest, kubeSimResource, rolloutManifest } from "../test-helpers/kube-sim.js";

describe("abort and retry against kube-sim", () => {
  it("abort sets status.abort and retry clears it, each with one status write", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:2", "blueGreen"));
    const target = await env.client.target("web");
    const before = env.requests.length;
    await expect(env.client.abort(target)).resolves.toEqual({ writes: 1 });
    expect((await env.get<RolloutObject>("Rollout", "web")).status?.abort).toBe(true);
    await expect(env.client.retry(target)).resolves.toEqual({ writes: 1 });
    expect((await env.get<RolloutObject>("Rollout", "web")).status?.abort).toBe(false);
    expect(env.requests.slice(before)).toEqual([
      { method: "PATCH", path: "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/status" },
      { method: "PATCH", path: "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/status" },
    ]);
  });

  it("says NOT_FOUND, naming the Rollout, when it was deleted", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:2", "blueGreen"));
    const target = await env.client.target("web");
    await env.conn.request({
      method: "DELETE",
      path: "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web",
      resource: { kind: "Rollout" },
    });
    await expect(env.client.abort(target)).rejects.toMatchObject({
      code: "NOT_FOUND",
      resource: { kind: "Rollout", name: "web", namespace: "shop" },
    });
  });

  it("refuses abort and retry on a Deployment", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const target = await env.client.target("api");
    await expect(env.client.abort(target)).rejects.toMatchObject({ code: "INVALID" });
    await expect(env.client.retry(target)).rejects.toMatchObject({ code: "INVALID" });
  });
});
