import { describe, expect, it } from "vitest";
import { canaryManifest, deploymentManifest, kubeSimResource, rolloutManifest } from "../test-helpers/kube-sim.js";

describe("target", () => {
  it.each([
    ["a blue-green Rollout", "blueGreen"],
    ["a canary Rollout", "canary"],
  ] as const)("finds %s by name and reports its strategy", async (_, strategy) => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", strategy));
    await expect(env.client.target("web")).resolves.toEqual({
      kind: "Rollout",
      name: "web",
      namespace: "shop",
      strategy,
      workload: { kind: "Rollout", name: "web" },
      selector: { matchLabels: { app: "web" } },
    });
  });

  it("prefers the Rollout or Canary that drives a Deployment over the Deployment itself", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("ui-deploy", "ui:1"));
    await env.create("Rollout", rolloutManifest("ui", "", "blueGreen", { workloadRef: "ui-deploy" }));
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:1"));
    await env.create(
      "Canary",
      canaryManifest("podinfo", "http://loadtester.test", {
        interval: "1m",
        stepWeight: 10,
        maxWeight: 50,
        threshold: 2,
      }),
    );
    await expect(env.client.target("ui-deploy")).resolves.toMatchObject({
      kind: "Rollout",
      name: "ui",
      workload: { kind: "Deployment", name: "ui-deploy" },
    });
    await expect(env.client.target("podinfo")).resolves.toMatchObject({ kind: "Canary", strategy: "flaggerCanary" });
  });

  it("reports a plain Deployment's strategy", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("db-migrate", "m:1", { strategy: "Recreate" }));
    await expect(env.client.target("db-migrate")).resolves.toMatchObject({ kind: "Deployment", strategy: "recreate" });
  });

  it("says NOT_FOUND naming the component and namespace, and INVALID for a name Kubernetes would refuse", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await expect(env.client.target("ghost")).rejects.toMatchObject({
      code: "NOT_FOUND",
      message:
        'component "ghost" in namespace "shop": no Rollout, Flagger Canary or Deployment drives this component (looked for the name and for workloadRef/targetRef)',
    });
    await expect(env.client.target("Web App")).rejects.toMatchObject({ code: "INVALID" });
  });

  it.each([
    [
      { key: "app", operator: "Equals", values: ["web"] },
      '"Equals" is not a label selector operator (In, NotIn, Exists or DoesNotExist)',
    ],
    [{ key: "app", operator: "In", values: [] }, "operator In needs at least one value"],
    [{ key: "app", operator: "Exists", values: ["web"] }, "operator Exists takes no values"],
  ])("refuses a Rollout whose selector the API server could not use (%j), naming the expression", async (expr, why) => {
    const env = await kubeSimResource({ withoutControllers: true });
    const rollout = rolloutManifest("web", "web:1", "blueGreen");
    await env.create("Rollout", {
      ...rollout,
      spec: { ...rollout.spec, selector: { matchLabels: { app: "web" }, matchExpressions: [expr] } },
    });
    await expect(env.client.target("web")).rejects.toMatchObject({
      code: "INVALID",
      message: `Rollout "web" in namespace "shop": spec.selector.matchExpressions[0] (key "app"): ${why}`,
    });
  });
});
