// Which labels and annotations Flagger copies to the primary Deployment: `-include-label-prefix`
// (fluxcd/flagger@15bd6ad5 pkg/canary/deployment_controller.go createPrimaryDeployment and Promote, util.go
// includeLabelsByPrefix; cases of util_test.go and deployment_controller_test.go TestDeploymentController_Promote).
import { describe, expect, it } from "vitest";
import { createFlaggerController, flaggerController } from "./flagger.js";
import { includeLabelsByPrefix } from "./flagger-reconcile.js";
import { builtInControllers } from "./index.js";
import { type Obj, PATHS, podinfoCanary, podTemplate, type SimResource, simResource } from "./rollout-test-kit.js";

const INTERVAL_MS = 15_000;

describe("includeLabelsByPrefix (util_test.go)", () => {
  const labels = { foo: "foo-value", bar: "bar-value", lorem: "ipsum" };
  it.each([
    ["TestIncludeLabelsByPrefix", ["foo", "lor"], { foo: "foo-value", lorem: "ipsum" }],
    ["TestIncludeLabelsByPrefixWithWildcard", ["*"], labels],
    ["TestIncludeLabelsNoIncludes", [""], {}],
  ])("%s", (_name, prefixes, expected) => {
    expect(includeLabelsByPrefix(labels, prefixes)).toEqual(expected);
  });
  it("never copies Flux toolkit labels, even with *", () => {
    expect(includeLabelsByPrefix({ "kustomize.toolkit.fluxcd.io/name": "x", a: "b" }, ["*"])).toEqual({ a: "b" });
  });
});

async function podinfo(k: SimResource): Promise<void> {
  await k.create(PATHS.deployments, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "podinfo",
      labels: { name: "podinfo", team: "checkout", "app.kubernetes.io/test-label-1": "test-label-value-1" },
      annotations: { "app.kubernetes.io/test-annotation-1": "test-annotation-value-1", owner: "checkout" },
    },
    spec: { replicas: 2, selector: { matchLabels: { name: "podinfo" } }, template: template("podinfo:6.0.0") },
  });
  await k.create(PATHS.canaries, podinfoCanary({ iterations: 1 }));
}

function template(image: string): Obj {
  const t = podTemplate("podinfo", image);
  t.metadata.labels = { name: "podinfo" };
  return t;
}

async function primary(k: SimResource): Promise<Obj> {
  return k.until(
    "podinfo-primary",
    async () => {
      const list = await k.list(PATHS.deployments);
      return list.find((d: Obj) => d.metadata.name === "podinfo-primary");
    },
    120_000,
    INTERVAL_MS,
  );
}

async function phase(k: SimResource, wanted: string): Promise<void> {
  await k.until(
    wanted,
    async () => (await k.get(`${PATHS.canaries}/podinfo`)).status?.phase === wanted,
    300_000,
    INTERVAL_MS,
  );
}

describe("primary Deployment metadata and -include-label-prefix", () => {
  it("with Flagger's default (\"\"), the primary gets only its selector label, not the target's other labels", async () => {
    await using k = await simResource();
    await podinfo(k);
    const p = await primary(k);
    expect(p.metadata.labels).toEqual({ name: "podinfo-primary" });
    // createPrimaryDeployment copies annotations with filterMetadata (all but Flux toolkit ones).
    expect(p.metadata.annotations).toMatchObject({
      "app.kubernetes.io/test-annotation-1": "test-annotation-value-1",
      owner: "checkout",
    });
  });

  it("TestDeploymentController_Promote with includeLabelPrefix app.kubernetes.io: only prefixed labels and annotations follow the target", async () => {
    const controllers = [
      ...builtInControllers.filter((c) => c !== flaggerController),
      createFlaggerController({ includeLabelPrefix: "app.kubernetes.io" }),
    ];
    await using k = await simResource({ controllers });
    await podinfo(k);
    const created = await primary(k);
    expect(created.metadata.labels).toEqual({
      name: "podinfo-primary",
      "app.kubernetes.io/test-label-1": "test-label-value-1",
    });
    await phase(k, "Initialized");
    // dep2: a new image, a changed prefixed label and annotation, and unprefixed ones.
    await k.mergePatch(`${PATHS.deployments}/podinfo`, {
      metadata: {
        labels: { "app.kubernetes.io/test-label-1": "test-label-value-2", team: "payments" },
        annotations: { "app.kubernetes.io/test-annotation-1": "test-annotation-value-2", owner: "payments" },
      },
      spec: { template: template("podinfo:6.0.1") },
    });
    await phase(k, "Succeeded");
    const promoted = await k.get(`${PATHS.deployments}/podinfo-primary`);
    expect(promoted.spec.template.spec.containers[0].image).toBe("podinfo:6.0.1");
    expect(promoted.metadata.labels).toEqual({
      name: "podinfo-primary",
      "app.kubernetes.io/test-label-1": "test-label-value-2",
    });
    expect(promoted.metadata.annotations["app.kubernetes.io/test-annotation-1"]).toBe("test-annotation-value-2");
    expect(promoted.metadata.annotations.owner).toBeUndefined();
  });
});
