// End-to-end tests of the Argo Rollouts controller over HTTP, written from the Argo Rollouts docs
// (features/bluegreen, features/canary, features/specification, generated/kubectl-argo-rollouts) and the plugin's
// patches. Time only moves through the simulator's manual clock.
import { describe, expect, it } from "vitest";
import { isReady, NS, type Obj, PATHS, podTemplate, type SimResource, simResource } from "./rollout-test-kit.js";

// What the kubectl-argo-rollouts plugin sends (pkg/kubectl-argo-rollouts/cmd/<verb>/<verb>.go).
const PROMOTE_STATUS_PATCH = { status: { pauseConditions: null } };
const PROMOTE_FULL_PATCH = { status: { promoteFull: true } };
const ABORT_PATCH = { status: { abort: true } };
const RETRY_PATCH = { status: { abort: false } };
const restartPatch = (at: string) => ({ spec: { restartAt: at } });
const undoOps = (template: Obj) => [{ op: "replace", path: "/spec/template", value: template }];

const HASH = "rollouts-pod-template-hash";

async function services(k: SimResource, names: string[]): Promise<void> {
  for (const name of names) {
    await k.create(PATHS.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name },
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
    });
  }
}

/** The Rollout `web`, selecting the pods labelled `app: web`, with the rest of `spec`. */
function webRollout(spec: Obj): Obj {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    metadata: { name: "web" },
    spec: { selector: { matchLabels: { app: "web" } }, ...spec },
  };
}

function blueGreenRollout(blueGreen: Obj, replicas = 2, image = "web:1"): Obj {
  return webRollout({
    replicas,
    revisionHistoryLimit: 2,
    template: podTemplate("web", image),
    strategy: { blueGreen: { activeService: "web", previewService: "web-preview", ...blueGreen } },
  });
}

const rolloutPath = `${PATHS.rollouts}/web`;

async function rollout(k: SimResource): Promise<Obj> {
  return k.get(rolloutPath);
}

async function phaseIs(k: SimResource, phase: string, message?: string): Promise<Obj | undefined> {
  const ro = await rollout(k);
  const ok = ro.status?.phase === phase && (message === undefined || ro.status?.message === message);
  return ok && ro.status.observedGeneration === String(ro.metadata.generation) ? ro : undefined;
}

async function selectorOf(k: SimResource, service: string): Promise<string | undefined> {
  return (await k.get(`${PATHS.services}/${service}`)).spec.selector[HASH];
}

/** The Rollout's ReplicaSets, oldest revision first. */
async function replicaSets(k: SimResource): Promise<Obj[]> {
  const items = (await k.list(PATHS.replicaSets)).filter((rs: Obj) =>
    rs.metadata.ownerReferences?.some((o: Obj) => o.kind === "Rollout"),
  );
  return items.sort(
    (a: Obj, b: Obj) =>
      Number(a.metadata.annotations["rollout.argoproj.io/revision"]) -
      Number(b.metadata.annotations["rollout.argoproj.io/revision"]),
  );
}

function condition(ro: Obj, type: string): Obj {
  return ro.status.conditions.find((c: Obj) => c.type === type);
}

/** A blue-green Rollout at revision 1, Healthy, then updated to web:2 and left to reach its pause. */
async function updatedBlueGreen(k: SimResource, blueGreen: Obj, replicas = 2): Promise<{ v1: string; v2: string }> {
  await services(k, ["web", "web-preview"]);
  await k.create(PATHS.rollouts, blueGreenRollout(blueGreen, replicas));
  const v1 = (await k.until("revision 1 healthy", () => phaseIs(k, "Healthy"))).status.stableRS as string;
  await k.mergePatch(rolloutPath, { spec: { template: podTemplate("web", "web:2") } });
  await k.sim.settle();
  const v2 = (await rollout(k)).status.currentPodHash as string;
  return { v1, v2 };
}

describe("blue-green", () => {
  it("pauses with the preview ready, switches the active Service on promote, scales the old ReplicaSet down after scaleDownDelaySeconds", async () => {
    await using k = await simResource();
    const { v1, v2 } = await updatedBlueGreen(k, { autoPromotionEnabled: false });
    expect(v2).not.toBe(v1);

    const paused = await k.until("paused for promotion", () => phaseIs(k, "Paused", "BlueGreenPause"));
    expect(paused.status).toMatchObject({
      controllerPause: true,
      pauseConditions: [{ reason: "BlueGreenPause" }],
      stableRS: v1,
      currentPodHash: v2,
      blueGreen: { activeSelector: v1, previewSelector: v2 },
      observedGeneration: "2",
    });
    expect(condition(paused, "Paused")).toMatchObject({ status: "True", reason: "RolloutPaused" });
    expect(condition(paused, "Progressing")).toMatchObject({ status: "Unknown", reason: "RolloutPaused" });
    expect(await selectorOf(k, "web")).toBe(v1);
    expect(await selectorOf(k, "web-preview")).toBe(v2);

    const [old, next] = await replicaSets(k);
    expect(next.metadata.name).toBe(`web-${v2}`);
    expect(next.metadata.labels[HASH]).toBe(v2);
    expect(next.metadata.annotations).toMatchObject({
      "rollout.argoproj.io/revision": "2",
      "rollout.argoproj.io/desired-replicas": "2",
    });
    expect(next.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Rollout", name: "web", controller: true }),
    ]);
    expect(next.status.availableReplicas).toBe(2);
    expect(old.spec.replicas).toBe(2);
    expect((await rollout(k)).metadata.annotations["rollout.argoproj.io/revision"]).toBe("2");

    // `kubectl argo rollouts promote web`
    await k.mergePatch(`${rolloutPath}/status`, PROMOTE_STATUS_PATCH);
    const healthy = await k.until("promoted", () => phaseIs(k, "Healthy"));
    expect(healthy.status).toMatchObject({ stableRS: v2, blueGreen: { activeSelector: v2, previewSelector: v2 } });
    expect(healthy.status.pauseConditions).toBeUndefined();
    expect(condition(healthy, "Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
    expect(condition(healthy, "Completed")).toMatchObject({ status: "True", reason: "RolloutCompleted" });
    expect(await selectorOf(k, "web")).toBe(v2);
    const web = await k.get(`${PATHS.services}/web`);
    expect(web.metadata.annotations["argo-rollouts.argoproj.io/managed-by-rollouts"]).toBe("web");

    // The old stack stays up for scaleDownDelaySeconds (default 30s), then goes.
    const afterSwitch = (await replicaSets(k))[0];
    expect(afterSwitch.spec.replicas).toBe(2);
    expect(afterSwitch.metadata.annotations["scale-down-deadline"]).toBeDefined();
    await k.advance(25_000);
    expect((await replicaSets(k))[0].spec.replicas).toBe(2);
    await k.advance(6_000);
    expect((await replicaSets(k))[0].spec.replicas).toBe(0);

    const events = (await k.list(PATHS.events)).filter((e: Obj) => e.involvedObject.kind === "Rollout");
    expect(events.map((e: Obj) => e.reason)).toEqual(
      expect.arrayContaining(["RolloutPaused", "SwitchService", "RolloutCompleted"]),
    );
  });

  it("promotes on its own when the preview is ready (autoPromotionEnabled unset)", async () => {
    await using k = await simResource();
    const { v2 } = await updatedBlueGreen(k, {});
    const phases = new Set<string>();
    const healthy = await k.until("auto-promoted", async () => {
      const ro = await rollout(k);
      phases.add(ro.status.phase);
      return ro.status.stableRS === v2 ? phaseIs(k, "Healthy") : undefined;
    });
    expect(healthy.status.blueGreen.activeSelector).toBe(v2);
    expect(phases.has("Paused")).toBe(false);
  });

  it("waits autoPromotionSeconds in BlueGreenPause, then promotes", async () => {
    await using k = await simResource();
    const { v1, v2 } = await updatedBlueGreen(k, { autoPromotionSeconds: 60 });
    const paused = await k.until("paused", () => phaseIs(k, "Paused", "BlueGreenPause"));
    const started = Date.parse(paused.status.pauseConditions[0].startTime);
    await k.advance(started + 50_000 - k.sim.clock.now());
    expect(await selectorOf(k, "web")).toBe(v1);
    await k.advance(15_000);
    expect(await selectorOf(k, "web")).toBe(v2);
    expect((await phaseIs(k, "Healthy"))?.status.stableRS).toBe(v2);
  });

  it("abort keeps the active Service on the stable version and reports Degraded; retry pauses again", async () => {
    await using k = await simResource();
    const { v1, v2 } = await updatedBlueGreen(k, { autoPromotionEnabled: false, abortScaleDownDelaySeconds: 10 });
    await k.until("paused", () => phaseIs(k, "Paused", "BlueGreenPause"));

    await k.mergePatch(`${rolloutPath}/status`, ABORT_PATCH);
    const degraded = await k.until("aborted", () =>
      phaseIs(k, "Degraded", "RolloutAborted: Rollout aborted update to revision 2"),
    );
    expect(degraded.status.abort).toBe(true);
    expect(degraded.status.abortedAt).toEqual(expect.any(String));
    expect(degraded.status.pauseConditions).toBeUndefined();
    expect(condition(degraded, "Progressing")).toMatchObject({
      status: "False",
      reason: "RolloutAborted",
      message: "Rollout aborted update to revision 2",
    });
    expect(await selectorOf(k, "web")).toBe(v1);
    // The preview stack goes after abortScaleDownDelaySeconds; the active one never moved.
    await k.advance(12_000);
    const [stable, preview] = await replicaSets(k);
    expect(stable.spec.replicas).toBe(2);
    expect(preview.spec.replicas).toBe(0);
    expect(await selectorOf(k, "web")).toBe(v1);

    // `kubectl argo rollouts retry rollout web`
    await k.mergePatch(`${rolloutPath}/status`, RETRY_PATCH);
    const again = await k.until("paused again", () => phaseIs(k, "Paused", "BlueGreenPause"));
    expect(again.status.abort).toBeUndefined();
    expect((await replicaSets(k))[1].spec.replicas).toBe(2);
    expect(await selectorOf(k, "web")).toBe(v1);
    await k.mergePatch(`${rolloutPath}/status`, PROMOTE_STATUS_PATCH);
    await k.until("promoted", () => phaseIs(k, "Healthy"));
    expect(await selectorOf(k, "web")).toBe(v2);
  });

  it("runs previewReplicaCount pods while paused and scales to full size before switching", async () => {
    await using k = await simResource();
    const { v1, v2 } = await updatedBlueGreen(k, { autoPromotionEnabled: false, previewReplicaCount: 1 }, 3);
    await k.until("paused", () => phaseIs(k, "Paused", "BlueGreenPause"));
    const [, preview] = await replicaSets(k);
    expect(preview.spec.replicas).toBe(1);
    expect(preview.status.availableReplicas).toBe(1);

    await k.mergePatch(`${rolloutPath}/status`, PROMOTE_STATUS_PATCH);
    await k.sim.settle();
    // Scaling up to 3 comes first; the active Service waits for all 3 to be available.
    expect((await replicaSets(k))[1].spec.replicas).toBe(3);
    expect(await selectorOf(k, "web")).toBe(v1);
    await k.until("promoted", () => phaseIs(k, "Healthy"));
    expect(await selectorOf(k, "web")).toBe(v2);
  });

  it("takes the plugin's patches from the real kubectl (status subresource, merge patch)", async () => {
    await using k = await simResource();
    const { v2 } = await updatedBlueGreen(k, { autoPromotionEnabled: false });
    await k.until("paused", () => phaseIs(k, "Paused", "BlueGreenPause"));
    const phase = await k.kubectl("get", "rollout", "web", "-o", "jsonpath={.status.phase} {.status.message}");
    expect(phase).toMatchObject({ code: 0, stdout: "Paused BlueGreenPause" });

    const promote = await k.kubectl(
      "patch",
      "rollout",
      "web",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(PROMOTE_STATUS_PATCH),
    );
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout.trim()).toBe("rollout.argoproj.io/web patched");
    await k.until("promoted", () => phaseIs(k, "Healthy"));
    const active = await k.kubectl("get", "service", "web", "-o", `jsonpath={.spec.selector.${HASH}}`);
    expect(active.stdout).toBe(v2);
  });

  it("promoteFull skips the pause, and undo to revision 1 within the scale-down delay is a fast rollback", async () => {
    await using k = await simResource();
    const { v1, v2 } = await updatedBlueGreen(k, { autoPromotionEnabled: false });
    await k.until("paused", () => phaseIs(k, "Paused", "BlueGreenPause"));
    await k.mergePatch(`${rolloutPath}/status`, PROMOTE_FULL_PATCH);
    const promoted = await k.until("fully promoted", () => phaseIs(k, "Healthy"));
    expect(promoted.status.stableRS).toBe(v2);
    expect(promoted.status.promoteFull).toBeUndefined();

    // `kubectl argo rollouts undo web`: the template of revision 1, hash label removed.
    const rev1 = (await replicaSets(k)).find((rs: Obj) => rs.metadata.labels[HASH] === v1);
    const template = structuredClone(rev1.spec.template);
    delete template.metadata.labels[HASH];
    await k.jsonPatch(rolloutPath, undoOps(template));
    const back = await k.until("rolled back", async () => {
      const ro = await phaseIs(k, "Healthy");
      return ro?.status.stableRS === v1 ? ro : undefined;
    });
    expect(back.status.currentPodHash).toBe(v1);
    expect(await selectorOf(k, "web")).toBe(v1);
    expect(back.metadata.annotations["rollout.argoproj.io/revision"]).toBe("3");
    expect((await replicaSets(k)).map((rs: Obj) => rs.metadata.labels[HASH])).toEqual([v2, v1]);
  });

  it("never lets the active Service select a Pod that is not Ready", async () => {
    await using k = await simResource();
    await services(k, ["web", "web-preview"]);
    await k.create(PATHS.rollouts, blueGreenRollout({ autoPromotionEnabled: false }, 3));
    await k.until("revision 1 healthy", () => phaseIs(k, "Healthy"));

    const svcWatch = await k.watch(PATHS.services);
    const podWatch = await k.watch(PATHS.pods);
    await k.mergePatch(rolloutPath, { spec: { template: podTemplate("web", "web:2") } });
    await k.until("paused", () => phaseIs(k, "Paused", "BlueGreenPause"));
    await k.mergePatch(`${rolloutPath}/status`, PROMOTE_STATUS_PATCH);
    await k.until("promoted", () => phaseIs(k, "Healthy"));
    await k.advance(40_000);
    await k.until("watch delivered", async () => svcWatch.events.length > 0 && podWatch.events.length > 0);

    // Replay both streams in resourceVersion order (one counter for the whole store, as etcd's revision).
    const all = [...svcWatch.events, ...podWatch.events].sort(
      (a, b) => Number(a.object.metadata.resourceVersion) - Number(b.object.metadata.resourceVersion),
    );
    let active: Obj | undefined;
    const pods = new Map<string, Obj>();
    let checks = 0;
    let switches = 0;
    for (const e of all) {
      if (e.object.kind === "Service") {
        if (e.object.metadata.name !== "web") continue;
        if (active && active.spec.selector[HASH] !== e.object.spec.selector[HASH]) switches++;
        active = e.object;
      } else if (e.type === "DELETED") pods.delete(e.object.metadata.name);
      else pods.set(e.object.metadata.name, e.object);
      if (!active) continue;
      for (const pod of pods.values()) {
        const selected = Object.entries(active.spec.selector).every(([key, v]) => pod.metadata.labels?.[key] === v);
        if (!selected || pod.metadata.deletionTimestamp) continue;
        checks++;
        expect(
          isReady(pod),
          `pod ${pod.metadata.name} selected by the active Service at rv ${e.object.metadata.resourceVersion}`,
        ).toBe(true);
      }
    }
    expect(switches).toBe(1);
    expect(checks).toBeGreaterThan(0);
  });

  it("runs a workloadRef Deployment's template and follows its changes", async () => {
    await using k = await simResource();
    await services(k, ["web"]);
    await k.create(PATHS.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { replicas: 0, selector: { matchLabels: { app: "web" } }, template: podTemplate("web", "web:1") },
    });
    await k.create(
      PATHS.rollouts,
      webRollout({
        replicas: 2,
        workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        strategy: { blueGreen: { activeService: "web", autoPromotionEnabled: false } },
      }),
    );
    const healthy = await k.until("healthy", () => phaseIs(k, "Healthy"));
    expect(healthy.status.workloadObservedGeneration).toBe("1");
    expect(healthy.metadata.annotations["rollout.argoproj.io/workload-generation"]).toBe("1");
    const [rs] = await replicaSets(k);
    expect(rs.metadata.name).toBe(`web-${healthy.status.stableRS}`);
    expect(rs.spec.template.spec.containers[0].image).toBe("web:1");

    await k.mergePatch(`${PATHS.deployments}/web`, { spec: { template: podTemplate("web", "web:2") } });
    const paused = await k.until("paused on the new template", () => phaseIs(k, "Paused", "BlueGreenPause"));
    expect(paused.status.workloadObservedGeneration).toBe("2");
    const images = (await replicaSets(k)).map((r: Obj) => r.spec.template.spec.containers[0].image);
    expect(images).toEqual(["web:1", "web:2"]);
  });

  it("refuses workloadRef with a template first, with upstream's InvalidWorkloadRef text (before looking the Deployment up)", async () => {
    await using k = await simResource();
    await services(k, ["web"]);
    await k.create(
      PATHS.rollouts,
      webRollout({
        replicas: 2,
        template: podTemplate("web", "web:1"),
        workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "missing" },
        strategy: { blueGreen: { activeService: "web" } },
      }),
    );
    const degraded = await k.until("invalid", () => phaseIs(k, "Degraded"));
    expect(degraded.status.message).toBe(
      'InvalidSpec: The Rollout "web" is invalid: spec.workloadRef: Invalid value: v1alpha1.ObjectRef{APIVersion:"apps/v1", Kind:"Deployment", Name:"missing", ScaleDown:""}: template must be empty for workload reference rollout',
    );
  });

  for (const scaleDown of ["onsuccess", "progressively"]) {
    it(`scales the workloadRef Deployment to zero with scaleDown: ${scaleDown}`, async () => {
      await using k = await simResource();
      await services(k, ["web"]);
      await k.create(PATHS.deployments, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web-app" },
        spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: podTemplate("web", "web:1") },
      });
      await k.until(
        "deployment available",
        async () => (await k.get(`${PATHS.deployments}/web-app`)).status?.availableReplicas === 2,
      );
      await k.create(
        PATHS.rollouts,
        webRollout({
          replicas: 2,
          workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web-app", scaleDown },
          strategy: { blueGreen: { activeService: "web" } },
        }),
      );
      await k.until(
        "deployment scaled to zero",
        async () => (await k.get(`${PATHS.deployments}/web-app`)).spec.replicas === 0,
      );
      expect((await rollout(k)).status.phase).toBe("Healthy");
      const pods = (await k.list(PATHS.pods)).filter((p: Obj) => !p.metadata.deletionTimestamp);
      expect(pods.every((p: Obj) => p.metadata.labels[HASH] !== undefined)).toBe(true);
      expect(pods).toHaveLength(2);
    });
  }

  it("reports a missing active Service as InvalidSpec and recovers once it exists", async () => {
    await using k = await simResource();
    await k.create(PATHS.rollouts, blueGreenRollout({}));
    const invalid = await k.until("invalid", () => phaseIs(k, "Degraded"));
    expect(invalid.status.message).toBe(
      'InvalidSpec: The Rollout "web" is invalid: spec.strategy.blueGreen.activeService: Invalid value: "web": service "web" not found',
    );
    await services(k, ["web", "web-preview"]);
    await k.until("healthy", () => phaseIs(k, "Healthy"));
  });
});

describe("failures a release tool must see", () => {
  it("reports ProgressDeadlineExceeded when the new pods never become ready, and never switches the active Service", async () => {
    await using k = await simResource();
    await services(k, ["web", "web-preview"]);
    await k.create(PATHS.rollouts, {
      ...blueGreenRollout({ autoPromotionEnabled: false }),
      spec: { ...blueGreenRollout({ autoPromotionEnabled: false }).spec, progressDeadlineSeconds: 60 },
    });
    const first = await k.until("revision 1 healthy", () => phaseIs(k, "Healthy"));
    k.sim.faults.neverReady({ image: "web:2" });
    await k.mergePatch(rolloutPath, { spec: { template: podTemplate("web", "web:2") } });
    await k.advance(30_000);
    expect((await rollout(k)).status.phase).toBe("Progressing");
    const degraded = await k.until("timed out", () => phaseIs(k, "Degraded"), 120_000, 5_000);
    const rs = `web-${degraded.status.currentPodHash}`;
    expect(degraded.status.message).toBe(`ProgressDeadlineExceeded: ReplicaSet "${rs}" has timed out progressing.`);
    expect(condition(degraded, "Progressing")).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded" });
    expect(await selectorOf(k, "web")).toBe(first.status.stableRS);
  });

  it("pauses on spec.paused (kubectl argo rollouts pause) and resumes when it is cleared", async () => {
    await using k = await simResource();
    await k.create(
      PATHS.rollouts,
      webRollout({
        replicas: 4,
        template: podTemplate("web", "web:1"),
        strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: 10 } }] } },
      }),
    );
    await k.until("revision 1", () => phaseIs(k, "Healthy"));
    await k.mergePatch(rolloutPath, { spec: { paused: true, template: podTemplate("web", "web:2") } });
    const paused = await k.until("manually paused", () => phaseIs(k, "Paused", "manually paused"));
    expect(condition(paused, "Paused")).toMatchObject({ status: "True", reason: "RolloutPaused" });
    await k.advance(60_000);
    expect((await replicaSets(k)).map((rs: Obj) => rs.spec.replicas)).toEqual([4, 0]);
    await k.mergePatch(rolloutPath, { spec: { paused: false } });
    const done = await k.until("completed", () => phaseIs(k, "Healthy"));
    expect(done.status.stableRS).toBe(done.status.currentPodHash);
  });
});

describe("canary", () => {
  function canaryRollout(canary: Obj, replicas = 10): Obj {
    return webRollout({ replicas, template: podTemplate("web", "web:1"), strategy: { canary } });
  }

  async function sizes(k: SimResource): Promise<number[]> {
    return (await replicaSets(k)).map((rs: Obj) => rs.spec.replicas);
  }

  it("steps 10% → timed pause → 50% → untimed pause → 100% on promote", async () => {
    await using k = await simResource();
    const steps = [{ setWeight: 10 }, { pause: { duration: "30s" } }, { setWeight: 50 }, { pause: {} }];
    await k.create(PATHS.rollouts, canaryRollout({ steps }));
    const first = await k.until("revision 1", () => phaseIs(k, "Healthy"));
    expect(first.status.currentStepIndex).toBe(4);
    expect(first.status.currentStepHash).toEqual(expect.any(String));

    await k.mergePatch(rolloutPath, { spec: { template: podTemplate("web", "web:2") } });
    const timed = await k.until("timed pause", async () => {
      const ro = await phaseIs(k, "Paused", "CanaryPauseStep");
      return ro?.status.currentStepIndex === 1 ? ro : undefined;
    });
    expect(await sizes(k)).toEqual([9, 1]);
    expect(timed.status.pauseConditions).toEqual([{ reason: "CanaryPauseStep", startTime: expect.any(String) }]);
    const started = Date.parse(timed.status.pauseConditions[0].startTime);

    await k.advance(started + 20_000 - k.sim.clock.now());
    expect((await rollout(k)).status.currentStepIndex).toBe(1);
    const untimed = await k.until("untimed pause", async () => {
      const ro = await phaseIs(k, "Paused", "CanaryPauseStep");
      return ro?.status.currentStepIndex === 3 ? ro : undefined;
    });
    expect(k.sim.clock.now()).toBeGreaterThan(started + 30_000);
    expect(await sizes(k)).toEqual([5, 5]);
    expect(untimed.status.stableRS).not.toBe(untimed.status.currentPodHash);

    await k.advance(600_000);
    expect((await rollout(k)).status.currentStepIndex).toBe(3);

    await k.mergePatch(`${rolloutPath}/status`, PROMOTE_STATUS_PATCH);
    const done = await k.until("completed", () => phaseIs(k, "Healthy"));
    expect(done.status.currentStepIndex).toBe(4);
    expect(done.status.stableRS).toBe(done.status.currentPodHash);
    expect(await sizes(k)).toEqual([0, 10]);
  });

  it("reports traffic weights in status.canary.weights when traffic routing is configured", async () => {
    await using k = await simResource();
    await k.create(PATHS.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web-stable" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
    });
    await k.create(PATHS.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web-canary" },
      spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
    });
    await k.create(
      PATHS.rollouts,
      canaryRollout(
        {
          stableService: "web-stable",
          canaryService: "web-canary",
          trafficRouting: { smi: {} },
          steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} }],
        },
        4,
      ),
    );
    const first = await k.until("revision 1", () => phaseIs(k, "Healthy"));
    await k.mergePatch(rolloutPath, { spec: { template: podTemplate("web", "web:2") } });
    const at10 = await k.until("10%", async () => {
      const ro = await phaseIs(k, "Paused", "CanaryPauseStep");
      return ro?.status.currentStepIndex === 1 ? ro : undefined;
    });
    expect(at10.status.canary.weights).toEqual({
      canary: { weight: 10, serviceName: "web-canary", podTemplateHash: at10.status.currentPodHash },
      stable: { weight: 90, serviceName: "web-stable", podTemplateHash: first.status.stableRS },
    });
    expect(await selectorOf(k, "web-canary")).toBe(at10.status.currentPodHash);
    expect(await selectorOf(k, "web-stable")).toBe(first.status.stableRS);
    expect(await sizes(k)).toEqual([4, 1]);
    await k.mergePatch(`${rolloutPath}/status`, PROMOTE_STATUS_PATCH);
    const at50 = await k.until("50%", async () => {
      const ro = await phaseIs(k, "Paused", "CanaryPauseStep");
      return ro?.status.currentStepIndex === 3 ? ro : undefined;
    });
    expect(at50.status.canary.weights.canary.weight).toBe(50);
    expect(at50.status.canary.weights.stable.weight).toBe(50);

    // Abort with traffic routing: upstream's reconcileTrafficRouting points the canary Service back to stable
    // (TestCanarySVCSelectors / trafficrouting.go "IsAborted").
    await k.mergePatch(`${rolloutPath}/status`, ABORT_PATCH);
    const aborted = await k.until("aborted", () => phaseIs(k, "Degraded"));
    expect(aborted.status.canary.weights.canary.weight).toBe(0);
    expect(await selectorOf(k, "web-canary")).toBe(first.status.stableRS);
    expect(await selectorOf(k, "web-stable")).toBe(first.status.stableRS);
  });

  it("abort scales the canary away and reports Degraded; restart replaces Pods older than restartAt", async () => {
    await using k = await simResource();
    await k.create(PATHS.rollouts, canaryRollout({ steps: [{ setWeight: 50 }, { pause: {} }] }, 4));
    await k.until("revision 1", () => phaseIs(k, "Healthy"));
    await k.mergePatch(rolloutPath, { spec: { template: podTemplate("web", "web:2") } });
    await k.until("paused", () => phaseIs(k, "Paused", "CanaryPauseStep"));
    expect(await sizes(k)).toEqual([2, 2]);

    await k.mergePatch(`${rolloutPath}/status`, ABORT_PATCH);
    const aborted = await k.until("aborted", () =>
      phaseIs(k, "Degraded", "RolloutAborted: Rollout aborted update to revision 2"),
    );
    expect(aborted.status.currentStepIndex).toBe(0);
    await k.until("canary gone", async () => {
      const s = await sizes(k);
      return s[0] === 4 && s[1] === 0;
    });

    // Back to the stable template: nothing left to roll, and `kubectl argo rollouts restart web`.
    await k.mergePatch(rolloutPath, { spec: { template: podTemplate("web", "web:1") } });
    await k.until("healthy on stable", () => phaseIs(k, "Healthy"));
    const before = new Set((await k.list(PATHS.pods)).map((p: Obj) => p.metadata.name));
    expect(before.size).toBe(4);
    const at = new Date(k.sim.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    await k.mergePatch(rolloutPath, restartPatch(at));
    const restarted = await k.until("restarted", async () => {
      const ro = await phaseIs(k, "Healthy");
      return ro?.status.restartedAt === at ? ro : undefined;
    });
    expect(restarted.status.restartedAt).toBe(at);
    const after = (await k.list(PATHS.pods)).map((p: Obj) => p.metadata.name);
    expect(after).toHaveLength(4);
    expect(after.filter((name: string) => before.has(name))).toEqual([]);
  });
});

describe("the status a client sees", () => {
  it("keeps observedGeneration as a string and reports progress before the generation is observed", async () => {
    await using k = await simResource();
    await services(k, ["web", "web-preview"]);
    const created = await k.create(PATHS.rollouts, blueGreenRollout({}));
    expect(created.metadata.namespace).toBe(NS);
    const ro = await k.until("healthy", () => phaseIs(k, "Healthy"));
    expect(typeof ro.status.observedGeneration).toBe("string");
    expect(ro.status).toMatchObject({
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      HPAReplicas: 2,
    });
    expect(ro.status.selector).toBe(`app=web,${HASH}=${ro.status.stableRS}`);
    expect(condition(ro, "Available")).toMatchObject({
      status: "True",
      reason: "AvailableReason",
      message: "Rollout has minimum availability",
    });
    expect(condition(ro, "Healthy")).toMatchObject({
      status: "True",
      reason: "RolloutHealthy",
      message: "Rollout is healthy",
    });
  });
});
