// Scenarios of argo-rollouts test/e2e/functional_test.go (argoproj/argo-rollouts@9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d),
// replayed over HTTP on kube-sim's manual clock. Upstream breaks a revision with `command: [/bad-command]`; kube-sim
// runs no containers, so a revision is broken by giving it an image that `faults.crashPods` matches (the pods then
// crash-loop and are never available, as upstream's do).
import { describe, expect, it } from "vitest";
import { type Obj, PATHS, type SimResource, simResource, waitForRolloutStatus } from "./rollout-test-kit.js";

const REVISION = "rollout.argoproj.io/revision";

function rolloutManifest(name: string, image: string, spec: Obj): Obj {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    metadata: { name },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image, resources: { requests: { memory: "16Mi", cpu: "1m" } } }] },
      },
      ...spec,
    },
  };
}

async function status(k: SimResource, name: string): Promise<Obj> {
  return (await k.get(`${PATHS.rollouts}/${name}`)).status ?? {};
}

/** ExpectRevisionPodCount: pods (not terminating) of the ReplicaSet with that revision annotation. */
async function revisionPodCounts(k: SimResource, name: string): Promise<Record<string, number>> {
  const rss = (await k.list(PATHS.replicaSets)).filter((rs: Obj) =>
    rs.metadata.ownerReferences?.some((o: Obj) => o.kind === "Rollout" && o.name === name),
  );
  const pods = (await k.list(PATHS.pods)).filter((p: Obj) => !p.metadata.deletionTimestamp);
  const counts: Record<string, number> = {};
  for (const rs of rss) {
    counts[rs.metadata.annotations[REVISION]] = pods.filter((p: Obj) =>
      p.metadata.ownerReferences?.some((o: Obj) => o.uid === rs.metadata.uid),
    ).length;
  }
  return counts;
}

async function setImage(k: SimResource, name: string, image: string, extra: Obj = {}): Promise<void> {
  await k.mergePatch(`${PATHS.rollouts}/${name}`, {
    spec: { ...extra, template: { spec: { containers: [{ name, image }] } } },
  });
}

const SURGE_ONE = { canary: { maxSurge: 1, maxUnavailable: 0 } };

describe("argo-rollouts e2e functional_test.go (canary with bad revisions)", () => {
  it("TestRolloutGoodToBadUpdate: 1 canary + 4 stable, then a second bad image leaves revisions 4/0/1", async () => {
    await using k = await simResource();
    k.sim.faults.crashPods({ image: /bad/ });
    await k.create(PATHS.rollouts, rolloutManifest("good2bad", "nginx:1.19-alpine", { strategy: SURGE_ONE }));
    await waitForRolloutStatus(k, "good2bad", "Healthy");
    await setImage(k, "good2bad", "nginx:bad-command", { progressDeadlineSeconds: 10 });
    await waitForRolloutStatus(k, "good2bad", "Degraded");
    expect(await revisionPodCounts(k, "good2bad")).toEqual({ "1": 4, "2": 1 });

    await setImage(k, "good2bad", "nginx:bad-command2");
    await waitForRolloutStatus(k, "good2bad", "Progressing");
    await waitForRolloutStatus(k, "good2bad", "Degraded");
    expect(await revisionPodCounts(k, "good2bad")).toEqual({ "1": 4, "2": 0, "3": 1 });
  });

  it("TestRolloutBadToGoodUpdate: a good fix-forward after a crashing first revision goes Healthy with 4/0", async () => {
    await using k = await simResource();
    k.sim.faults.crashPods({ image: /bad/ });
    await k.create(
      PATHS.rollouts,
      rolloutManifest("bad2good", "nginx:bad-command", { progressDeadlineSeconds: 10, strategy: SURGE_ONE }),
    );
    await waitForRolloutStatus(k, "bad2good", "Degraded");
    await setImage(k, "bad2good", "nginx:1.19-alpine", { progressDeadlineSeconds: 60 });
    await waitForRolloutStatus(k, "bad2good", "Healthy");
    expect(await revisionPodCounts(k, "bad2good")).toEqual({ "1": 0, "2": 4 });
  });

  it("TestRolloutBadToBadUpdate: a second crashing revision still honours maxSurge/maxUnavailable (4 and 1)", async () => {
    await using k = await simResource();
    k.sim.faults.crashPods({ image: /bad/ });
    await k.create(
      PATHS.rollouts,
      rolloutManifest("bad2bad", "nginx:bad-command", { progressDeadlineSeconds: 10, strategy: SURGE_ONE }),
    );
    await waitForRolloutStatus(k, "bad2bad", "Degraded");
    await setImage(k, "bad2bad", "nginx:bad-command2");
    await waitForRolloutStatus(k, "bad2bad", "Progressing");
    await waitForRolloutStatus(k, "bad2bad", "Degraded");
    expect(await revisionPodCounts(k, "bad2bad")).toEqual({ "1": 4, "2": 1 });
  });

  it("TestRolloutBadToGoodSetWeightUpdate: a good fix-forward with setWeight 50 + pause 5s goes Healthy with 4/0", async () => {
    await using k = await simResource();
    k.sim.faults.crashPods({ image: /bad/ });
    await k.create(
      PATHS.rollouts,
      rolloutManifest("bad2good-setweight", "nginx:bad-command", {
        progressDeadlineSeconds: 10,
        strategy: {
          canary: { maxSurge: 1, maxUnavailable: 0, steps: [{ setWeight: 50 }, { pause: { duration: "5s" } }] },
        },
      }),
    );
    await waitForRolloutStatus(k, "bad2good-setweight", "Degraded");
    await setImage(k, "bad2good-setweight", "nginx:1.19-alpine");
    await waitForRolloutStatus(k, "bad2good-setweight", "Healthy");
    expect(await revisionPodCounts(k, "bad2good-setweight")).toEqual({ "1": 0, "2": 4 });
  });

  it("a fix-forward after a failed canary with setWeight 25 + pause is Paused only once a canary pod runs", async () => {
    await using k = await simResource();
    k.sim.faults.crashPods({ image: /bad/ });
    const strategy = {
      canary: { maxSurge: 1, maxUnavailable: 0, steps: [{ setWeight: 25 }, { pause: {} }] },
    };
    await k.create(PATHS.rollouts, rolloutManifest("fix", "nginx:1", { strategy }));
    await waitForRolloutStatus(k, "fix", "Healthy");
    await setImage(k, "fix", "nginx:bad", { progressDeadlineSeconds: 10 });
    await waitForRolloutStatus(k, "fix", "Degraded");
    await setImage(k, "fix", "nginx:2");
    const paused = await waitForRolloutStatus(k, "fix", "Paused");
    expect(paused.status.message).toBe("CanaryPauseStep");
    // 25% of 4: one canary pod, three stable (maxUnavailable 0, so stable went down only once the canary was up).
    expect(await revisionPodCounts(k, "fix")).toEqual({ "1": 3, "2": 0, "3": 1 });
    expect((await status(k, "fix")).updatedReplicas).toBe(1);
  });

  it("a good fix-forward without steps after a failed canary goes Healthy on the new revision", async () => {
    await using k = await simResource();
    k.sim.faults.crashPods({ image: /bad/ });
    await k.create(PATHS.rollouts, rolloutManifest("fix", "nginx:1", { strategy: SURGE_ONE }));
    await waitForRolloutStatus(k, "fix", "Healthy");
    await setImage(k, "fix", "nginx:bad", { progressDeadlineSeconds: 10 });
    await waitForRolloutStatus(k, "fix", "Degraded");
    await setImage(k, "fix", "nginx:2");
    await waitForRolloutStatus(k, "fix", "Healthy");
    expect(await revisionPodCounts(k, "fix")).toEqual({ "1": 0, "2": 0, "3": 4 });
  });

  it("TestBlueGreenToCanary: the active Service no longer referenced loses its hash selector", async () => {
    await using k = await simResource();
    const name = "bluegreen-to-canary";
    await k.create(PATHS.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await k.create(
      PATHS.rollouts,
      rolloutManifest(name, "nginx:1.19-alpine", {
        replicas: 2,
        strategy: { blueGreen: { activeService: name, scaleDownDelaySeconds: 5 } },
      }),
    );
    await waitForRolloutStatus(k, name, "Healthy");
    expect(Object.keys((await k.get(`${PATHS.services}/${name}`)).spec.selector)).toContain(
      "rollouts-pod-template-hash",
    );
    await k.mergePatch(`${PATHS.rollouts}/${name}`, {
      spec: {
        template: { metadata: { annotations: { foo: "bar" } } },
        strategy: { blueGreen: null, canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
      },
    });
    const paused = await waitForRolloutStatus(k, name, "Paused");
    expect(paused.status).toMatchObject({ replicas: 2, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 });
    const svc = await k.get(`${PATHS.services}/${name}`);
    expect(svc.spec.selector).toEqual({ app: name });
    expect(svc.metadata.annotations?.["argo-rollouts.argoproj.io/managed-by-rollouts"]).toBeUndefined();
  });
});

describe("argo-rollouts e2e functional_test.go (events)", () => {
  it("TestBlueGreenUpdate: the Rollout's events in upstream's order", async () => {
    await using k = await simResource();
    const watch = await k.watch(PATHS.events);
    await k.create(PATHS.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "bluegreen" },
      spec: {
        ports: [{ port: 80, targetPort: "http", protocol: "TCP", name: "http" }],
        selector: { app: "bluegreen" },
      },
    });
    await k.create(
      PATHS.rollouts,
      rolloutManifest("bluegreen", "nginx:1.19-alpine", {
        replicas: 3,
        strategy: { blueGreen: { activeService: "bluegreen", scaleDownDelaySeconds: 10 } },
      }),
    );
    await waitForRolloutStatus(k, "bluegreen", "Healthy");
    await k.mergePatch(`${PATHS.rollouts}/bluegreen`, {
      spec: { template: { metadata: { annotations: { "rollout-updated": "1" } } } },
    });
    await waitForRolloutStatus(k, "bluegreen", "Progressing");
    await k.until("healthy on revision 2", async () => {
      const ro = await k.get(`${PATHS.rollouts}/bluegreen`);
      return ro.status.phase === "Healthy" &&
        ro.status.stableRS === ro.status.currentPodHash &&
        ro.metadata.annotations["rollout.argoproj.io/revision"] === "2"
        ? ro
        : undefined;
    });
    await k.sim.settle();
    const reasons = watch.events
      .filter((e) => e.object.involvedObject?.kind === "Rollout" && (e.type === "ADDED" || e.type === "MODIFIED"))
      .map((e) => e.object.reason);
    expect(reasons).toEqual([
      "RolloutAddedToInformer",
      "RolloutUpdated",
      "NewReplicaSetCreated",
      "ScalingReplicaSet",
      "RolloutCompleted",
      "SwitchService",
      "RolloutUpdated",
      "NewReplicaSetCreated",
      "RolloutNotCompleted",
      "ScalingReplicaSet",
      "SwitchService",
      "RolloutCompleted",
    ]);
  });

  it("canary steps record RolloutStepCompleted with upstream's message", async () => {
    await using k = await simResource();
    await k.create(
      PATHS.rollouts,
      rolloutManifest("steps", "nginx:1", {
        replicas: 1,
        strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: "3s" } }] } },
      }),
    );
    await waitForRolloutStatus(k, "steps", "Healthy");
    await setImage(k, "steps", "nginx:2");
    await k.until("revision 2 healthy", async () => {
      const ro = await k.get(`${PATHS.rollouts}/steps`);
      return ro.status.phase === "Healthy" && ro.status.stableRS === ro.status.currentPodHash ? ro : undefined;
    });
    const messages = (await k.list(PATHS.events))
      .filter((e: Obj) => e.reason === "RolloutStepCompleted")
      .map((e: Obj) => e.message);
    expect(messages).toEqual(["Rollout step 1/2 completed (setWeight: 50)", "Rollout step 2/2 completed (pause: 3s)"]);
  });
});
