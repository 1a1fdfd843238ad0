import { describe, expect, it } from "vitest";
import { canaryManifest, deploymentManifest, kubeSimResource, rolloutManifest } from "../test-helpers/kube-sim.js";
import { findTargets } from "./find-many.js";

describe("findTargets: the targets of a whole environment at once", () => {
  it("finds what findTarget finds for each component, with one list of Rollouts and one of Canaries for all", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    for (let i = 1; i <= 5; i++) await env.create("Rollout", rolloutManifest(`backend-${i}`, "b:1", "blueGreen"));
    await env.create("Deployment", deploymentManifest("ui-deploy", "ui:1"));
    await env.create("Rollout", rolloutManifest("ui", "", "canary", { workloadRef: "ui-deploy" }));
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:1"));
    await env.create(
      "Canary",
      canaryManifest("podinfo", "http://loadtester.test", { interval: "1m", iterations: 3, threshold: 2 }),
    );
    await env.create("Deployment", deploymentManifest("db-migrate", "m:1", { strategy: "Recreate" }));
    const components = ["backend-1", "backend-2", "backend-3", "backend-4", "backend-5", "ui-deploy", "podinfo"];
    const all = [...components, "db-migrate", "ghost"];

    env.requests.length = 0;
    const found = await findTargets(env.client.connection, all);
    const requests = env.requests.map((r) => `${r.method} ${r.path}`);

    for (const component of [...components, "db-migrate"])
      expect(found.targets.get(component)).toEqual(await env.client.target(component));
    // Nothing drives "ghost": left out, and findTarget says why.
    expect(found.targets.has("ghost")).toBe(false);
    await expect(env.client.target("ghost")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(found.rollouts.map((r) => r.metadata.name).sort()).toEqual([
      "backend-1",
      "backend-2",
      "backend-3",
      "backend-4",
      "backend-5",
      "ui",
    ]);
    expect(requests.sort()).toEqual([
      "GET /apis/apps/v1/namespaces/shop/deployments/db-migrate",
      "GET /apis/apps/v1/namespaces/shop/deployments/ghost",
      "GET /apis/apps/v1/namespaces/shop/deployments/podinfo",
      "GET /apis/argoproj.io/v1alpha1/namespaces/shop/rollouts",
      "GET /apis/flagger.app/v1beta1/namespaces/shop/canaries",
    ]);
  });

  it("refuses a name Kubernetes would refuse before sending anything", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    env.requests.length = 0;
    await expect(findTargets(env.client.connection, ["web", "Web App"])).rejects.toMatchObject({ code: "INVALID" });
    expect(env.requests).toEqual([]);
  });
});
