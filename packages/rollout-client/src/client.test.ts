/**
 * The scenarios of the issue, end to end: rollout-client drives kube-sim's Argo Rollouts, Flagger and Deployment
 * controllers exactly as a user would, and the assertions are on what the cluster shows.
 */
import { fileURLToPath } from "node:url";
import { defaultCrdSources } from "@rollway/kube-sim";
import { describe, expect, it } from "vitest";
import type { DeploymentObject, KubeObject, ReplicaSetObject, RolloutObject } from "./resources.js";
import {
  canaryManifest,
  deploymentManifest,
  drive,
  type KubeSimEnv,
  kubeSimResource,
  recordWatch,
  rolloutManifest,
  serviceManifest,
} from "./test-helpers/kube-sim.js";
import { loadtesterResource } from "./test-helpers/loadtester.js";
import { isHealthy, isPaused, WaitTimeoutError } from "./watch.js";

const MESH_CRDS = fileURLToPath(new URL("../../kube-sim/test-fixtures/mesh/mesh-crds.yaml", import.meta.url));

async function blueGreen(env: KubeSimEnv, options: { autoPromotionEnabled?: boolean } = {}) {
  await env.create("Service", serviceManifest("web-active", "web"));
  await env.create("Service", serviceManifest("web-preview", "web"));
  await env.create(
    "Rollout",
    rolloutManifest("web", "web:1", "blueGreen", { replicas: 2, scaleDownDelaySeconds: 30, ...options }),
  );
  const target = await env.client.target("web");
  const first = await drive(env, env.client.waitFor(target, isHealthy));
  return { target, first };
}

const selectorHash = (service: KubeObject) =>
  (service as unknown as { spec: { selector?: Record<string, string> } }).spec.selector?.["rollouts-pod-template-hash"];

describe("blue-green", () => {
  it("manual promotion: preview ready → Paused → promote → active switched → old ReplicaSet scaled down after the delay", async () => {
    const env = await kubeSimResource();
    const { target, first } = await blueGreen(env);
    expect(first).toMatchObject({ phase: "Healthy", desiredRevision: 1, stableRevision: 1, readyReplicas: 2 });
    const stableHash = first.endpoints.active?.podTemplateHash;

    await env.client.setImages(target, { web: "web:2" });
    const paused = await drive(env, env.client.waitFor(target, isPaused));
    expect(paused).toMatchObject({
      phase: "Paused",
      message: "BlueGreenPause",
      desiredRevision: 2,
      stableRevision: 1,
      images: [
        { container: "web", image: "web:2" },
        { container: "proxy", image: "envoy:1.30" },
      ],
      stableImages: [
        { container: "web", image: "web:1" },
        { container: "proxy", image: "envoy:1.30" },
      ],
    });
    expect(paused.endpoints.active?.podTemplateHash).toBe(stableHash);
    const newHash = paused.endpoints.preview?.podTemplateHash;
    expect(newHash).not.toBe(stableHash);

    await env.client.promote(target);
    const healthy = await drive(env, env.client.waitFor(target, isHealthy));
    expect(healthy).toMatchObject({ phase: "Healthy", stableRevision: 2, desiredRevision: 2 });
    expect(healthy.endpoints.active?.podTemplateHash).toBe(newHash);
    expect(selectorHash(await env.get("Service", "web-active"))).toBe(newHash);

    const oldReplicaSet = () => env.get<ReplicaSetObject>("ReplicaSet", `web-${stableHash}`);
    expect((await oldReplicaSet()).spec.replicas).toBe(2);
    await env.sim.advance(31_000);
    expect((await oldReplicaSet()).spec.replicas).toBe(0);
  });

  it("auto promotion: the new version goes live on its own once the preview is ready", async () => {
    const env = await kubeSimResource();
    const { target, first } = await blueGreen(env, { autoPromotionEnabled: true });
    await env.client.setImages(target, { web: "web:2" });
    const seen: string[] = [];
    const healthy = await drive(
      env,
      env.client.waitFor(target, (s) => {
        seen.push(s.phase);
        return s.phase === "Healthy" && s.desiredRevision === 2;
      }),
    );
    expect(seen).not.toContain("Paused");
    expect(healthy.endpoints.active?.podTemplateHash).not.toBe(first.endpoints.active?.podTemplateHash);
    expect(healthy.stableImages?.[0]?.image).toBe("web:2");
  });

  it("abort: the active Service stays on the stable pods the whole time; retry resumes the update", async () => {
    const env = await kubeSimResource();
    const { target, first } = await blueGreen(env);
    const stableHash = first.endpoints.active?.podTemplateHash;
    const services = recordWatch(env, "Service", { fieldSelector: "metadata.name=web-active" });
    await env.client.setImages(target, { web: "web:2" });
    await drive(env, env.client.waitFor(target, isPaused));
    await env.client.abort(target);
    const aborted = await drive(
      env,
      env.client.waitFor(target, (s) => s.phase === "Aborted"),
    );
    expect(aborted).toMatchObject({
      phase: "Aborted",
      stableRevision: 1,
      message: expect.stringMatching(/^RolloutAborted/),
    });
    expect(aborted.endpoints.active?.podTemplateHash).toBe(stableHash);

    await env.client.retry(target);
    const pausedAgain = await drive(env, env.client.waitFor(target, isPaused));
    expect(pausedAgain).toMatchObject({ desiredRevision: 2, stableRevision: 1 });
    await services.stop();
    expect(services.events.length).toBeGreaterThan(0);
    expect(services.events.map((e) => selectorHash(e.object))).toEqual(services.events.map(() => stableHash));
  });

  it("undo to an older revision rolls the template back and the old version goes live again", async () => {
    const env = await kubeSimResource();
    const { target } = await blueGreen(env, { autoPromotionEnabled: true });
    for (const image of ["web:2", "web:3"]) {
      await env.client.setImages(target, { web: image });
      await drive(
        env,
        env.client.waitFor(target, (s) => isHealthy(s) && s.images[0]?.image === image),
      );
    }
    const history = await env.client.history(target);
    expect(history.map((r) => [r.revision, r.images[0]?.image])).toEqual([
      [1, "web:1"],
      [2, "web:2"],
      [3, "web:3"],
    ]);
    await expect(env.client.undo(target, { toRevision: 1 })).resolves.toMatchObject({ revision: 1, skipped: false });
    const back = await drive(
      env,
      env.client.waitFor(target, (s) => isHealthy(s) && s.images[0]?.image === "web:1"),
    );
    expect(back.stableImages?.[0]?.image).toBe("web:1");
    expect((await env.get<RolloutObject>("Rollout", "web")).spec.template?.spec?.containers?.[0]?.image).toBe("web:1");
  });

  it("workloadRef: a new image on the Deployment is not mistaken for the old Healthy state", async () => {
    const env = await kubeSimResource();
    const deployment = deploymentManifest("ui-deploy", "ui:1");
    deployment.spec.selector.matchLabels.app = "web";
    deployment.spec.template.metadata.labels.app = "web";
    deployment.spec.template.spec.containers[0] = { name: "ui", image: "ui:1" };
    await env.create("Deployment", { ...deployment, spec: { ...deployment.spec, replicas: 0 } });
    await env.create("Service", serviceManifest("web-active", "web"));
    await env.create("Service", serviceManifest("web-preview", "web"));
    await env.create("Rollout", rolloutManifest("web", "", "blueGreen", { workloadRef: "ui-deploy" }));
    const target = await env.client.target("ui-deploy");
    const first = await drive(env, env.client.waitFor(target, isHealthy));
    expect(first.images).toEqual([{ container: "ui", image: "ui:1" }]);

    await env.client.setImages(target, { ui: "ui:2" });
    const next = await drive(
      env,
      env.client.waitFor(target, (s) => s.phase === "Healthy" || s.phase === "Paused"),
    );
    expect(next).toMatchObject({ phase: "Paused", images: [{ container: "ui", image: "ui:2" }], stableRevision: 1 });
    await env.client.promote(target);
    const done = await drive(env, env.client.waitFor(target, isHealthy));
    expect(done).toMatchObject({ stableRevision: 2, stableImages: [{ container: "ui", image: "ui:2" }] });
  });

  it("never lets the active Service select a pod that is not Ready, in manual, auto and aborted runs", async () => {
    const env = await kubeSimResource();
    const { target } = await blueGreen(env);
    const services = recordWatch(env, "Service", { fieldSelector: "metadata.name=web-active" });
    const pods = recordWatch(env, "Pod", { labelSelector: "app=web" });

    await env.client.setImages(target, { web: "web:2" });
    await drive(env, env.client.waitFor(target, isPaused));
    await env.client.promote(target);
    await drive(
      env,
      env.client.waitFor(target, (s) => isHealthy(s) && s.stableRevision === 2),
    );
    await env.client.setImages(target, { web: "web:3" });
    await drive(env, env.client.waitFor(target, isPaused));
    await env.client.abort(target);
    await drive(
      env,
      env.client.waitFor(target, (s) => s.phase === "Aborted"),
    );
    await env.client.retry(target);
    await drive(env, env.client.waitFor(target, isPaused));
    await env.client.promote(target, { full: true });
    await drive(
      env,
      env.client.waitFor(target, (s) => isHealthy(s) && s.stableRevision === 3),
    );
    await env.sim.advance(31_000);
    await services.stop();
    await pods.stop();

    // Replay both streams in resourceVersion order and check, after every event, every pod the selector picks.
    const timeline = [
      ...services.events.map((e) => ({ ...e, stream: "service" })),
      ...pods.events.map((e) => ({ ...e, stream: "pod" })),
    ].sort((a, b) => a.rv - b.rv);
    let selected: string | undefined;
    const current = new Map<string, KubeObject>();
    const violations: string[] = [];
    let checks = 0;
    for (const event of timeline) {
      if (event.stream === "service") selected = selectorHash(event.object);
      else if (event.type === "DELETED") current.delete(event.object.metadata.name);
      else current.set(event.object.metadata.name, event.object);
      if (!selected) continue;
      for (const pod of current.values()) {
        if (pod.metadata.labels?.["rollouts-pod-template-hash"] !== selected) continue;
        checks++;
        if (!isPodReady(pod))
          violations.push(`${pod.metadata.name} selected while not Ready at resourceVersion ${event.rv}`);
      }
    }
    expect(violations).toEqual([]);
    expect(checks).toBeGreaterThan(10);
    expect(new Set(services.events.map((e) => selectorHash(e.object))).size).toBeGreaterThanOrEqual(3);
  });
});

describe("canary", () => {
  it("steps 10% → pause → 50% → pause → 100%, one promote per pause", async () => {
    const env = await kubeSimResource();
    await env.create(
      "Rollout",
      rolloutManifest("web", "web:1", "canary", {
        replicas: 10,
        steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} }],
      }),
    );
    const target = await env.client.target("web");
    await drive(env, env.client.waitFor(target, isHealthy));
    await env.client.setImages(target, { web: "web:2" });

    const at10 = await drive(
      env,
      env.client.waitFor(target, (s) => isPaused(s) && s.canary?.stepIndex === 1),
    );
    expect(at10).toMatchObject({
      message: "CanaryPauseStep",
      canary: { weight: 10, steps: 4 },
      updatedReplicas: 1,
      stableRevision: 1,
    });
    await env.client.promote(target);
    const at50 = await drive(
      env,
      env.client.waitFor(target, (s) => isPaused(s) && s.canary?.stepIndex === 3),
    );
    expect(at50).toMatchObject({ canary: { weight: 50 }, updatedReplicas: 5, stableRevision: 1 });
    await env.client.promote(target);
    const done = await drive(
      env,
      env.client.waitFor(target, (s) => isHealthy(s) && s.stableRevision === 2),
    );
    expect(done).toMatchObject({ canary: { weight: 100, stepIndex: 4 }, updatedReplicas: 10, readyReplicas: 10 });
    expect(done.stableImages?.[0]?.image).toBe("web:2");
  });
});

/** Flagger acts once per analysis interval (1 minute in these Canaries): move time in bigger steps. */
const FLAGGER_STEPS = { stepMs: 10_000 };

describe("Flagger", () => {
  it("holds the new version at the confirm-promotion gate until rollway opens it", async () => {
    const env = await kubeSimResource();
    const loadtester = await loadtesterResource();
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0.0"));
    const canary = canaryManifest("podinfo", loadtester.url);
    canary.spec.analysis.webhooks = [
      { name: "promote", type: "confirm-promotion", url: `${loadtester.url}/gate/check` },
    ];
    await env.create("Canary", canary);
    const target = await env.client.target("podinfo");
    const initialised = await drive(env, env.client.waitFor(target, isHealthy), FLAGGER_STEPS);
    expect(initialised.stableImages?.[0]?.image).toBe("podinfo:6.0.0");

    await env.client.setImages(target, { podinfo: "podinfo:6.1.0" });
    const waiting = await drive(env, env.client.waitFor(target, isPaused), FLAGGER_STEPS);
    expect(waiting.message).toContain("waiting for the confirm-promotion gate");
    expect(waiting.images[0]?.image).toBe("podinfo:6.1.0");
    expect(waiting.stableImages?.[0]?.image).toBe("podinfo:6.0.0");
    // While closed, Flagger keeps asking and keeps the primary on the old version.
    await env.sim.advance(5 * 60_000);
    expect((await env.client.status(target)).phase).toBe("Paused");
    expect(loadtester.calls.filter((c) => c.path === "/gate/check").length).toBeGreaterThanOrEqual(2);

    await env.client.promote(target);
    const promoted = await drive(
      env,
      env.client.waitFor(target, (s) => isHealthy(s) && s.stableImages?.[0]?.image === "podinfo:6.1.0"),
      {
        stepMs: 10_000,
      },
    );
    expect(promoted.phase).toBe("Healthy");
    expect(
      (await env.get<DeploymentObject>("Deployment", "podinfo-primary")).spec.template?.spec?.containers?.[0]?.image,
    ).toBe("podinfo:6.1.0");
  });

  it("progressive traffic shifting: watch reports Flagger's canary weight at each step", async () => {
    // Flagger's istio router needs Istio's CRDs, as on a real cluster: without them the Canary stays Initializing.
    const env = await kubeSimResource({ crds: [...defaultCrdSources(), MESH_CRDS] });
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0.0"));
    const canary = canaryManifest("podinfo", "http://unused.test", {
      interval: "15s",
      threshold: 2,
      stepWeight: 20,
      maxWeight: 60,
    });
    await env.create("Canary", {
      ...canary,
      spec: { ...canary.spec, provider: "istio", analysis: { ...canary.spec.analysis, webhooks: [] } },
    });
    const target = await env.client.target("podinfo");
    expect(target.strategy).toBe("flaggerCanary");
    await drive(env, env.client.waitFor(target, isHealthy), FLAGGER_STEPS);
    await env.client.setImages(target, { podinfo: "podinfo:6.1.0" });
    const weights: number[] = [];
    const done = await drive(
      env,
      env.client.waitFor(target, (s) => {
        if (s.phase === "Progressing" && weights.at(-1) !== s.canary?.weight) weights.push(s.canary?.weight ?? -1);
        return isHealthy(s) && s.stableImages?.[0]?.image === "podinfo:6.1.0";
      }),
      { stepMs: 5_000 },
    );
    expect(weights).toEqual(expect.arrayContaining([20, 40, 60]));
    expect(done.canary?.weight).toBe(0);
  });

  it("abort opens the rollback gate and Flagger rolls the Canary back; the primary never changes", async () => {
    const env = await kubeSimResource();
    const loadtester = await loadtesterResource();
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0.0"));
    const canary = canaryManifest("podinfo", loadtester.url);
    canary.spec.analysis.webhooks = [
      { name: "promote", type: "confirm-promotion", url: `${loadtester.url}/gate/check` },
      { name: "rollback", type: "rollback", url: `${loadtester.url}/rollback/check` },
    ];
    await env.create("Canary", canary);
    const target = await env.client.target("podinfo");
    await drive(env, env.client.waitFor(target, isHealthy), FLAGGER_STEPS);
    await env.client.setImages(target, { podinfo: "podinfo:6.1.0" });
    await drive(env, env.client.waitFor(target, isPaused), FLAGGER_STEPS);
    await env.client.abort(target);
    const aborted = await drive(
      env,
      env.client.waitFor(target, (s) => s.phase === "Aborted"),
      { stepMs: 10_000 },
    );
    expect(aborted.stableImages?.[0]?.image).toBe("podinfo:6.0.0");
    expect(
      (await env.get<DeploymentObject>("Deployment", "podinfo-primary")).spec.template?.spec?.containers?.[0]?.image,
    ).toBe("podinfo:6.0.0");
  });
});

describe("Deployment", () => {
  it.each(["RollingUpdate", "Recreate"] as const)(
    "%s: update, history, then undo back to revision 1",
    async (strategy) => {
      const env = await kubeSimResource();
      await env.create("Deployment", deploymentManifest("api", "api:1", { replicas: 3, strategy }));
      const target = await env.client.target("api");
      expect(target.strategy).toBe(strategy === "Recreate" ? "recreate" : "rollingUpdate");
      await drive(env, env.client.waitFor(target, isHealthy));
      const pods = recordWatch(env, "Pod", { labelSelector: "app=api" });

      await env.client.setImages(target, { api: "api:2" });
      const updated = await drive(
        env,
        env.client.waitFor(target, (s) => isHealthy(s) && s.desiredRevision === 2),
      );
      expect(updated).toMatchObject({
        stableRevision: 2,
        readyReplicas: 3,
        images: [{ container: "api", image: "api:2" }],
      });
      expect((await env.client.history(target)).map((r) => [r.revision, r.images[0]?.image])).toEqual([
        [1, "api:1"],
        [2, "api:2"],
      ]);

      await expect(env.client.undo(target, { toRevision: 1 })).resolves.toMatchObject({ revision: 1, skipped: false });
      const back = await drive(
        env,
        env.client.waitFor(target, (s) => isHealthy(s) && s.images[0]?.image === "api:1"),
      );
      // kubectl's rollback moves the old ReplicaSet to a new revision number.
      expect(back).toMatchObject({ desiredRevision: 3, stableRevision: 3, readyReplicas: 3 });
      await pods.stop();

      // Recreate never runs two versions at once; RollingUpdate does, briefly.
      const images = new Map<string, string>();
      let overlap = false;
      for (const event of pods.events) {
        const image =
          (event.object as unknown as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image ?? "";
        if (event.type === "DELETED") images.delete(event.object.metadata.name);
        else images.set(event.object.metadata.name, image);
        if (new Set(images.values()).size > 1) overlap = true;
      }
      expect(overlap).toBe(strategy === "RollingUpdate");
    },
  );
});

describe("faults", () => {
  it("pods that never become Ready: Degraded, a TIMEOUT error, and nothing promoted", async () => {
    const env = await kubeSimResource();
    const { target, first } = await blueGreen(env);
    env.sim.faults.neverReady({ image: "web:broken" });
    await env.client.setImages(target, { web: "web:broken" });
    const error = await drive(
      env,
      env.client.waitFor(target, isPaused, { timeout: 15 * 60_000 }).catch((e: unknown) => e),
      { stepMs: 10_000, maxMs: 20 * 60_000 },
    );
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).toMatchObject({ code: "TIMEOUT", lastStatus: { phase: "Degraded", stableRevision: 1 } });
    expect((error as WaitTimeoutError).lastStatus?.message).toMatch(/^ProgressDeadlineExceeded/);
    expect(selectorHash(await env.get("Service", "web-active"))).toBe(first.endpoints.active?.podTemplateHash);
    expect((await env.get<RolloutObject>("Rollout", "web")).status?.stableRS).toBe(
      first.endpoints.active?.podTemplateHash,
    );
  });

  it("a watch dropped mid-rollout and a burst of 409s do not stop a promotion", async () => {
    const env = await kubeSimResource();
    const { target } = await blueGreen(env);
    await env.client.setImages(target, { web: "web:2" });
    const paused = drive(env, env.client.waitFor(target, isPaused));
    await env.sim.advance(500);
    env.sim.faults.dropWatches();
    await paused;
    env.sim.faults.failRequests({ verb: "patch", resource: "rollouts", code: 409, times: 3 });
    const healthy = env.client.waitFor(target, (s) => isHealthy(s) && s.stableRevision === 2);
    await env.client.promote(target);
    env.sim.faults.dropWatches();
    await expect(drive(env, healthy)).resolves.toMatchObject({ phase: "Healthy", stableRevision: 2 });
  });
});

function isPodReady(pod: KubeObject): boolean {
  const status = (pod as unknown as { status?: { conditions?: { type: string; status: string }[] } }).status;
  return status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
