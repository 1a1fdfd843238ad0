import { describe, expect, it } from "vitest";
import type { DeploymentObject, RolloutObject } from "../resources.js";
import { deploymentManifest, kubeSimResource, rolloutManifest } from "../test-helpers/kube-sim.js";

describe("pause, resume and restart against kube-sim", () => {
  it("pauses and resumes a Rollout through spec.paused", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "canary"));
    const target = await env.client.target("web");
    await env.client.pause(target);
    expect((await env.get<RolloutObject>("Rollout", "web")).spec.paused).toBe(true);
    await env.client.resume(target);
    expect((await env.get<RolloutObject>("Rollout", "web")).spec.paused).toBe(false);
  });

  it("pauses a Deployment and resumes it by removing spec.paused, as kubectl's diff does", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const target = await env.client.target("api");
    await env.client.pause(target);
    expect((await env.get<DeploymentObject>("Deployment", "api")).spec.paused).toBe(true);
    await env.client.resume(target);
    expect((await env.get<DeploymentObject>("Deployment", "api")).spec.paused).toBeUndefined();
  });

  it("restarts a Rollout with spec.restartAt and a Deployment with the restartedAt annotation, at the clock's time", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "blueGreen"));
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const at = new Date(env.sim.clock.now()).toISOString().replace(/\.\d+Z$/, "Z");
    await env.client.restart(await env.client.target("web"));
    await env.client.restart(await env.client.target("api"));
    expect((await env.get<RolloutObject>("Rollout", "web")).spec.restartAt).toBe(at);
    expect((await env.get<DeploymentObject>("Deployment", "api")).spec.template?.metadata?.annotations).toEqual({
      "kubectl.kubernetes.io/restartedAt": at,
    });
  });
});
