import { describe, expect, it } from "vitest";
import { RolloutClientError } from "../errors.js";
import type { DeploymentObject, PodTemplate, RolloutObject } from "../resources.js";
import { deploymentManifest, kubeSimResource, rolloutManifest } from "../test-helpers/kube-sim.js";
import { applyPodTemplateChange, setImageStrategicPatch } from "./set-images.js";

const resource = { kind: "Rollout", name: "web", namespace: "shop" };
const template = (): PodTemplate => ({
  metadata: { labels: { app: "web" }, annotations: { keep: "1" } },
  spec: {
    containers: [
      {
        name: "web",
        image: "web:1",
        env: [
          { name: "MODE", value: "a" },
          { name: "SECRET", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
        ],
      },
      { name: "sidecar", image: "proxy:1" },
    ],
    volumes: [
      { name: "oconfig", configMap: { name: "web-oconfig-v1" } },
      { name: "creds", secret: { secretName: "web-creds-v1" } },
    ],
  },
});

describe("setImageStrategicPatch", () => {
  it("is the diff `kubectl set image` sends: changed containers by merge key, order kept", () => {
    const t = template();
    expect(
      setImageStrategicPatch({ containers: [{ name: "web", image: "web:2" }] }, { containers: t.spec?.containers }),
    ).toEqual({
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
            containers: [{ image: "web:2", name: "web" }],
          },
        },
      },
    });
  });
});

describe("applyPodTemplateChange", () => {
  it("sets and removes annotations, env and config references, and leaves the rest alone", () => {
    const next = applyPodTemplateChange(
      template(),
      {
        annotations: { "rollway.dev/oconfig": "v2", keep: null },
        env: { web: { MODE: "b", SECRET: "plain", NEW: "x" } },
        configMaps: { oconfig: "web-oconfig-v2" },
        secrets: { creds: "web-creds-v2" },
      },
      resource,
    );
    expect(next.metadata?.annotations).toEqual({ "rollway.dev/oconfig": "v2" });
    expect(next.spec?.containers?.[0]?.env).toEqual([
      { name: "MODE", value: "b" },
      { name: "SECRET", value: "plain" },
      { name: "NEW", value: "x" },
    ]);
    expect(next.spec?.volumes).toEqual([
      { name: "oconfig", configMap: { name: "web-oconfig-v2" } },
      { name: "creds", secret: { secretName: "web-creds-v2" } },
    ]);
    expect(next.spec?.containers?.[1]).toEqual({ name: "sidecar", image: "proxy:1" });
  });
  it.each([
    [{ env: { db: { A: "1" } } }, 'unable to find container named "db" to set env on'],
    [{ configMaps: { creds: "x" } }, 'the pod template has no ConfigMap volume named "creds"'],
    [{ secrets: { missing: "x" } }, 'the pod template has no Secret volume named "missing"'],
  ])("refuses %j: %s", (change, message) => {
    const original = template();
    expect(() => applyPodTemplateChange(original, change, resource)).toThrow(RolloutClientError);
    expect(() => applyPodTemplateChange(original, change, resource)).toThrow(message);
    expect(original).toEqual(template());
  });
});

describe("setImages and setPodTemplate against kube-sim", () => {
  it("sets a Rollout's image with one optimistic merge patch and leaves the other container alone", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "blueGreen"));
    const target = await env.client.target("web");
    const before = env.requests.length;
    await expect(env.client.setImages(target, { web: "web:2" })).resolves.toEqual({ writes: 1 });
    expect(env.requests.slice(before).map((r) => r.method)).toEqual(["GET", "PATCH"]);
    const rollout = await env.get<RolloutObject>("Rollout", "web");
    expect(rollout.spec.template?.spec?.containers?.map((c) => [c.name, c.image])).toEqual([
      ["web", "web:2"],
      ["proxy", "envoy:1.30"],
    ]);
  });

  it("sets a Deployment's image with kubectl's strategic merge patch", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const target = await env.client.target("api");
    await env.client.setImages(target, { api: "api:2" });
    const deployment = await env.get<DeploymentObject>("Deployment", "api");
    expect(deployment.spec.template?.spec?.containers).toEqual([
      expect.objectContaining({ name: "api", image: "api:2" }),
    ]);
  });

  it("writes nothing when the images are already set", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "blueGreen"));
    const target = await env.client.target("web");
    await expect(env.client.setImages(target, { web: "web:1" })).resolves.toEqual({ writes: 0 });
  });

  it("refuses an unknown container, names the ones there are, and changes nothing", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "blueGreen"));
    const target = await env.client.target("web");
    const before = await env.get<RolloutObject>("Rollout", "web");
    await expect(env.client.setImages(target, { wbe: "web:2" })).rejects.toMatchObject({
      code: "INVALID",
      message:
        'Rollout "web" in namespace "shop": unable to find container named "wbe" (the pod template has: web, proxy)',
    });
    const after = await env.get<RolloutObject>("Rollout", "web");
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("sets the image on the Deployment a Rollout's workloadRef names", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("shop-ui", "ui:1"));
    await env.create("Rollout", rolloutManifest("ui", "", "blueGreen", { workloadRef: "shop-ui" }));
    const target = await env.client.target("shop-ui");
    expect(target).toMatchObject({ kind: "Rollout", name: "ui", workload: { kind: "Deployment", name: "shop-ui" } });
    await env.client.setImages(target, { "shop-ui": "ui:2" });
    const deployment = await env.get<DeploymentObject>("Deployment", "shop-ui");
    expect(deployment.spec.template?.spec?.containers?.[0]?.image).toBe("ui:2");
  });

  it("survives a burst of 409s by reading again, and the last write wins on fresh data", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "blueGreen"));
    const target = await env.client.target("web");
    env.sim.faults.failRequests({ verb: "patch", resource: "rollouts", code: 409, times: 4 });
    await expect(env.client.setImages(target, { web: "web:3" })).resolves.toEqual({ writes: 1 });
    expect((await env.get<RolloutObject>("Rollout", "web")).spec.template?.spec?.containers?.[0]?.image).toBe("web:3");
  });

  it("switches a ConfigMap reference and an annotation with one merge patch", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const manifest = rolloutManifest("web", "web:1", "blueGreen");
    const template = (manifest.spec as { template: { spec: Record<string, unknown> } }).template;
    template.spec.volumes = [{ name: "oconfig", configMap: { name: "web-oconfig-v1" } }];
    await env.create("Rollout", manifest);
    const target = await env.client.target("web");
    await env.client.setPodTemplate(target, {
      configMaps: { oconfig: "web-oconfig-v2" },
      annotations: { "rollway.dev/oconfig": "v2" },
    });
    const rollout = await env.get<RolloutObject>("Rollout", "web");
    expect(rollout.spec.template?.spec?.volumes).toEqual([{ name: "oconfig", configMap: { name: "web-oconfig-v2" } }]);
    expect(rollout.spec.template?.metadata?.annotations).toEqual({ "rollway.dev/oconfig": "v2" });
  });
});
