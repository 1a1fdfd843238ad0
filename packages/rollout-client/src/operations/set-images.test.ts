import { describe, expect, it } from "vitest";
import { RolloutClientError } from "../errors.js";
import type { DeploymentObject, PodTemplate, RolloutObject } from "../resources.js";
import { deploymentManifest, drive, kubeSimResource, rolloutManifest } from "../test-helpers/kube-sim.js";
import { applyPodTemplateChange, setImageStrategicPatch, setTemplatePatch } from "./set-images.js";

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

describe("setTemplate: the whole pod template in one optimistic write", () => {
  const withConfig = (t: PodTemplate): PodTemplate => {
    const next = structuredClone(t);
    const web = next.spec?.containers?.find((c) => c.name === "web");
    if (web) {
      web.image = "web:2";
      web.volumeMounts = [{ name: "oconfig", mountPath: "/etc/oconfig", readOnly: true }];
    }
    next.spec = { ...next.spec, volumes: [{ name: "oconfig", configMap: { name: "web-oconfig-v2" } }] };
    next.metadata = { ...next.metadata, annotations: { "rollway.dev/oconfig": "v2" } };
    return next;
  };

  it("writes image, oConfig volume and mount at once, and going back removes them (not merged in)", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "blueGreen"));
    const target = await env.client.target("web");
    const original = (await env.get<RolloutObject>("Rollout", "web")).spec.template as PodTemplate;
    env.requests.length = 0;
    const forward = await env.client.setTemplate(target, withConfig);
    expect(forward).toMatchObject({ writes: 1, before: original, after: withConfig(original) });
    expect(env.requests.map((r) => r.method)).toEqual(["GET", "PATCH"]);
    expect((await env.get<RolloutObject>("Rollout", "web")).spec.template).toEqual(withConfig(original));
    // Abort/rollback: the old template exactly, oConfig volume, mount and annotation gone.
    const back = await env.client.setTemplate(target, original);
    expect(back.writes).toBe(1);
    expect((await env.get<RolloutObject>("Rollout", "web")).spec.template).toEqual(original);
    await expect(env.client.setTemplate(target, original)).resolves.toMatchObject({ writes: 0 });
  });

  it("sends the merge-patch diff with the resourceVersion it read (the body is a named constructor)", () => {
    const t = template();
    const next = structuredClone(t);
    next.spec = { ...next.spec, volumes: [] };
    delete next.metadata?.annotations;
    expect(setTemplatePatch("42", t, next, 0)).toEqual({
      metadata: { resourceVersion: "42" },
      spec: { template: { metadata: { annotations: null }, spec: { volumes: [] } }, replicas: 0 },
    });
  });

  it("with the resourceVersion the caller read at, refuses a workload changed since (CONFLICT, nothing written)", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const target = await env.client.target("api");
    const read = await env.get<DeploymentObject>("Deployment", "api");
    await env.client.setImages(target, { api: "api:someone-else" });
    const error = await env.client
      .setTemplate(target, read.spec.template as PodTemplate, { resourceVersion: read.metadata.resourceVersion })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutClientError);
    expect(error).toMatchObject({ code: "CONFLICT", httpStatus: 409 });
    expect((await env.get<DeploymentObject>("Deployment", "api")).spec.template?.spec?.containers?.[0]?.image).toBe(
      "api:someone-else",
    );
  });

  it("sets replicas in the same write, on the Deployment a workloadRef names, and survives 409s and a 503", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("shop-ui", "ui:1"));
    await env.create("Rollout", rolloutManifest("ui", "", "blueGreen", { workloadRef: "shop-ui" }));
    const target = await env.client.target("shop-ui");
    env.sim.faults.failRequests({ verb: "patch", resource: "deployments", code: 409, times: 2 });
    env.sim.faults.failRequests({ verb: "patch", resource: "deployments", code: 503, times: 1 });
    const writing = env.client.setTemplate(
      target,
      (current) => {
        const next = structuredClone(current);
        if (next.spec?.containers?.[0]) next.spec.containers[0].image = "ui:2";
        return next;
      },
      { replicas: 0 },
    );
    // The 503 is retried after a back-off on the client's clock (kube-sim's): moved on, no real waiting.
    const result = await drive(env, writing, { stepMs: 100 });
    expect(result.writes).toBe(1);
    const deployment = await env.get<DeploymentObject & { spec: { replicas: number } }>("Deployment", "shop-ui");
    expect(deployment.spec.replicas).toBe(0);
    expect(deployment.spec.template?.spec?.containers?.[0]?.image).toBe("ui:2");
  });
});
