// Scenarios of argo-rollouts test/e2e/canary_test.go and functional_test.go (argoproj/argo-rollouts@9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d)
// replayed over HTTP on kube-sim's manual clock, with upstream's manifests from test-fixtures/argo-rollouts-e2e/ loaded
// unchanged. Upstream's `MarkPodsReady` (test/fixtures/common.go) sets the `argoproj.io/e2e-readiness` readiness gate
// condition in pod status, which kube-sim's kubelet honours as a real one does. Upstream's `Sleep(n)` becomes n seconds
// of clock time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAll } from "js-yaml";
import { describe, expect, it } from "vitest";
import { type Obj, PATHS, type SimResource, simResource, waitForRolloutStatus } from "./rollout-test-kit.js";

const FIXTURES = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "test-fixtures", "argo-rollouts-e2e");
const REVISION = "rollout.argoproj.io/revision";
const HASH = "rollouts-pod-template-hash";
const DEADLINE = "scale-down-deadline";
const GATE = "argoproj.io/e2e-readiness";
const INGRESSES = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
// kubectl-argo-rollouts abort (cmd/abort/abort.go).
const ABORT_PATCH = { status: { abort: true } };

function fixture(name: string, replace: Record<string, string> = {}): Obj[] {
  let text = readFileSync(join(FIXTURES, name), "utf8");
  for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
  return loadAll(text) as Obj[];
}

const COLLECTIONS: Record<string, string> = {
  Service: PATHS.services,
  Ingress: INGRESSES,
  Rollout: PATHS.rollouts,
  AnalysisTemplate: PATHS.analysisTemplates,
};

async function applyAll(k: SimResource, objects: Obj[]): Promise<void> {
  for (const obj of objects) {
    const path = COLLECTIONS[obj.kind];
    if (!path) throw new Error(`no collection for ${obj.kind}`);
    await k.create(path, obj);
  }
}

function rolloutOf(objects: Obj[]): Obj {
  return objects.find((o) => o.kind === "Rollout");
}

async function rollout(k: SimResource, name: string): Promise<Obj> {
  return k.get(`${PATHS.rollouts}/${name}`);
}

async function waitForStepIndex(k: SimResource, name: string, index: number): Promise<Obj> {
  return k.until(
    `${name} at step ${index}`,
    async () => {
      const ro = await rollout(k, name);
      return ro.status?.currentStepIndex === index ? ro : undefined;
    },
    180_000,
    1_000,
  );
}

let updates = 0;
/** UpdateSpec() without text: a new pod-template annotation, so a new revision. */
async function updateSpec(k: SimResource, name: string, patch?: Obj): Promise<void> {
  updates++;
  await k.mergePatch(
    `${PATHS.rollouts}/${name}`,
    patch ?? { spec: { template: { metadata: { annotations: { update: String(updates) } } } } },
  );
}

/** PromoteRollout: kubectl-argo-rollouts promote's status patch (clear the pause, else skip the current step). */
async function promote(k: SimResource, name: string): Promise<void> {
  const ro = await rollout(k, name);
  const steps = ro.spec.strategy.canary?.steps?.length ?? 0;
  const index = ro.status.currentStepIndex ?? 0;
  const body =
    (ro.status.pauseConditions ?? []).length > 0
      ? { status: { pauseConditions: null } }
      : { status: { pauseConditions: null, currentStepIndex: Math.min(index + 1, steps) } };
  await k.mergePatch(`${PATHS.rollouts}/${name}/status`, body);
}

async function replicaSets(k: SimResource, name: string): Promise<Obj[]> {
  return (await k.list(PATHS.replicaSets)).filter((rs: Obj) =>
    rs.metadata.ownerReferences?.some((o: Obj) => o.kind === "Rollout" && o.name === name),
  );
}

async function rsByRevision(k: SimResource, name: string, revision: string): Promise<Obj> {
  const rs = (await replicaSets(k, name)).find((x) => x.metadata.annotations?.[REVISION] === revision);
  if (!rs) throw new Error(`no ReplicaSet of revision ${revision}`);
  return rs;
}

/** Pods (not terminating) of the ReplicaSet with that revision. */
async function podsOfRevision(k: SimResource, name: string, revision: string): Promise<Obj[]> {
  const rs = await rsByRevision(k, name, revision);
  return (await k.list(PATHS.pods)).filter(
    (p: Obj) =>
      !p.metadata.deletionTimestamp && p.metadata.ownerReferences?.some((o: Obj) => o.uid === rs.metadata.uid),
  );
}

async function revisionPodCount(k: SimResource, name: string, revision: string): Promise<number> {
  return (await podsOfRevision(k, name, revision)).length;
}

async function waitForRevisionPodCount(k: SimResource, name: string, revision: string, count: number): Promise<void> {
  await k.until(
    `revision ${revision} with ${count} pods`,
    async () => (await revisionPodCount(k, name, revision)) === count,
    180_000,
    1_000,
  );
}

/** ExpectCanaryStablePodCount: pods of the ReplicaSets status.currentPodHash and status.stableRS name. */
async function canaryStablePodCount(k: SimResource, name: string): Promise<[number, number]> {
  const ro = await rollout(k, name);
  const pods = (await k.list(PATHS.pods)).filter((p: Obj) => !p.metadata.deletionTimestamp);
  const count = (hash: string) => pods.filter((p: Obj) => p.metadata.labels?.[HASH] === hash).length;
  return [count(ro.status.currentPodHash), count(ro.status.stableRS)];
}

/** MarkPodsReady (test/fixtures/common.go): sets the e2e readiness gate on up to `quantity` pods of a revision. */
async function markPodsReady(k: SimResource, name: string, revision: string, quantity: number): Promise<void> {
  let left = quantity;
  await k.until(
    `${quantity} pods of revision ${revision} marked ready`,
    async () => {
      for (const pod of await podsOfRevision(k, name, revision)) {
        if (left === 0) break;
        if ((pod.status?.conditions ?? []).some((c: Obj) => c.type === GATE)) continue;
        pod.status.conditions = [...(pod.status.conditions ?? []), { type: GATE, status: "True" }];
        const res = await fetch(`${k.sim.url}${PATHS.pods}/${pod.metadata.name}/status`, {
          method: "PUT",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(pod),
        });
        if (res.ok) left--;
      }
      return left === 0;
    },
    180_000,
    1_000,
  );
}

async function services(k: SimResource, canary: string, stable: string): Promise<[Obj, Obj]> {
  return [await k.get(`${PATHS.services}/${canary}`), await k.get(`${PATHS.services}/${stable}`)];
}

describe("argo-rollouts e2e canary_test.go", () => {
  it("TestCanaryScaleDownDelay: scaleDownDelayRevisionLimit 1 keeps one old ReplicaSet up and scales the rest down", async () => {
    await using k = await simResource();
    const objects = fixture("canary-scaledowndelay.yaml");
    await applyAll(k, objects);
    const name = rolloutOf(objects).metadata.name;
    await waitForRolloutStatus(k, name, "Healthy");

    /** A new revision (the template's `rev` annotation), Healthy, then `ms` of clock. */
    const revise = async (rev: string, ms: number) => {
      await updateSpec(k, name, { spec: { template: { metadata: { annotations: { rev } } } } });
      await waitForRolloutStatus(k, name, "Healthy");
      await k.advance(ms);
    };
    /** A revision's ReplicaSet: its replicas and its scale-down deadline (annotation), if any. */
    const scaled = async (revision: string) => {
      const rs = await rsByRevision(k, name, revision);
      return { replicas: rs.spec.replicas, deadline: rs.metadata.annotations[DEADLINE] };
    };
    const up = { replicas: 1, deadline: undefined };
    const delayed = { replicas: 1, deadline: expect.stringMatching(/./) };
    const down = { replicas: 0, deadline: undefined };

    await revise("two", 2_000);
    expect(await scaled("1")).toEqual(delayed);

    await revise("three", 1_000);
    // rs1 is scaled down now because of scaleDownDelayRevisionLimit
    expect([await scaled("1"), await scaled("2")]).toEqual([down, delayed]);

    // go back to revision 2 (it becomes revision 4)
    await revise("two", 1_000);
    expect([await scaled("1"), await scaled("4"), await scaled("3")]).toEqual([down, up, delayed]);
  });

  it("TestCanarySetCanaryScale: setCanaryScale weight, replicas and matchTrafficWeight size the canary", async () => {
    await using k = await simResource();
    const objects = fixture("nginx-template.yaml", { REPLACEME: "set-canary-scale" });
    const ro = rolloutOf(objects);
    // SetSteps, as upstream's test sets them on the template.
    ro.spec.strategy.canary.steps = [
      { pause: {} },
      { setCanaryScale: { weight: 25 } },
      { pause: { duration: "100s" } },
      { setWeight: 50 },
      { pause: { duration: "10s" } },
      { setCanaryScale: { replicas: 3 } },
      { pause: {} },
      { setCanaryScale: { matchTrafficWeight: true } },
      { pause: { duration: "5s" } },
    ];
    await applyAll(k, objects);
    const name = ro.metadata.name;
    await waitForRolloutStatus(k, name, "Healthy");
    await updateSpec(k, name);
    // at step 0
    await waitForRolloutStatus(k, name, "Paused");
    expect(await canaryStablePodCount(k, name)).toEqual([0, 4]);
    await promote(k, name);
    await waitForStepIndex(k, name, 2);
    await k.sim.settle();
    // at step 2
    expect(await canaryStablePodCount(k, name)).toEqual([1, 4]);
    await promote(k, name);
    await waitForStepIndex(k, name, 4);
    await k.sim.settle();
    // at step 4: setWeight 50 moved traffic, but the canary keeps the scale setCanaryScale set
    expect(await canaryStablePodCount(k, name)).toEqual([1, 4]);
    expect((await rollout(k, name)).status.canary.weights.canary.weight).toBe(50);
    await promote(k, name);
    await waitForStepIndex(k, name, 6);
    await k.sim.settle();
    // at step 6
    expect(await canaryStablePodCount(k, name)).toEqual([3, 4]);
    await promote(k, name);
    await waitForStepIndex(k, name, 8);
    await k.sim.settle();
    // at step 8: matchTrafficWeight, so 50% of 4
    expect(await canaryStablePodCount(k, name)).toEqual([2, 4]);
    await promote(k, name);
    await waitForRolloutStatus(k, name, "Healthy");
    expect(await canaryStablePodCount(k, name)).toEqual([4, 4]);
  });

  it("TestCanaryDynamicStableScale: stable scales down as traffic leaves it, and back up on abort before the canary goes", async () => {
    await using k = await simResource();
    const objects = fixture("canary-dynamic-stable-scale.yaml");
    await applyAll(k, objects);
    const name = rolloutOf(objects).metadata.name;
    await markPodsReady(k, name, "1", 4);
    await waitForRolloutStatus(k, name, "Healthy");
    await updateSpec(k, name);
    await markPodsReady(k, name, "2", 1);
    await waitForRolloutStatus(k, name, "Paused");
    await k.advance(2_000);
    expect(await revisionPodCount(k, name, "1")).toBe(3);
    expect(await revisionPodCount(k, name, "2")).toBe(1);

    await promote(k, name);
    await markPodsReady(k, name, "2", 2);
    await waitForStepIndex(k, name, 3);
    await k.advance(2_000);
    expect(await revisionPodCount(k, name, "1")).toBe(1);
    expect(await revisionPodCount(k, name, "2")).toBe(3);

    // Abort and ensure the canary scales down as the stable scales up.
    await k.mergePatch(`${PATHS.rollouts}/${name}/status`, ABORT_PATCH);
    await markPodsReady(k, name, "1", 2);
    await waitForRevisionPodCount(k, name, "2", 1);
    await waitForRevisionPodCount(k, name, "1", 4);
    // The canary Service is not yet on stable: dynamic stable scale is still in progress.
    let [canarySvc, stableSvc] = await services(k, "dynamic-stable-scale-canary", "dynamic-stable-scale-stable");
    expect(canarySvc.spec.selector[HASH]).not.toBe(stableSvc.spec.selector[HASH]);

    await markPodsReady(k, name, "1", 1);
    await waitForRevisionPodCount(k, name, "2", 0);
    await k.advance(2_000);
    [canarySvc, stableSvc] = await services(k, "dynamic-stable-scale-canary", "dynamic-stable-scale-stable");
    const rs1 = await rsByRevision(k, name, "1");
    expect(canarySvc.spec.selector).toEqual({ app: "dynamic-stable-scale", [HASH]: rs1.metadata.labels[HASH] });
    expect(stableSvc.spec.selector[HASH]).toBe(rs1.metadata.labels[HASH]);
    expect(await revisionPodCount(k, name, "1")).toBe(4);
  });

  it("TestCanaryDynamicStableScaleAbortScaleDownDelay: the abort deadline is set only once traffic is back on stable", async () => {
    await using k = await simResource();
    const objects = fixture("canary-dynamic-stable-scale-abort-delay.yaml");
    await applyAll(k, objects);
    const name = rolloutOf(objects).metadata.name;
    await markPodsReady(k, name, "1", 4);
    await waitForRolloutStatus(k, name, "Healthy");
    await updateSpec(k, name);
    await markPodsReady(k, name, "2", 1);
    await waitForRolloutStatus(k, name, "Paused");
    await promote(k, name);
    await markPodsReady(k, name, "2", 2);
    await waitForStepIndex(k, name, 3);
    await k.advance(2_000);
    expect(await revisionPodCount(k, name, "1")).toBe(1);
    expect(await revisionPodCount(k, name, "2")).toBe(3);

    await k.mergePatch(`${PATHS.rollouts}/${name}/status`, ABORT_PATCH);
    await k.advance(2_000);
    // Stable's new pods are not ready yet: the canary keeps its pods, its weight, and no deadline.
    expect(await revisionPodCount(k, name, "2")).toBe(3);
    expect((await rsByRevision(k, name, "2")).metadata.annotations).not.toHaveProperty(DEADLINE);
    expect((await rollout(k, name)).status.canary.weights.canary.weight).toBe(75);

    await markPodsReady(k, name, "1", 2);
    await waitForRevisionPodCount(k, name, "1", 4);
    await markPodsReady(k, name, "1", 1);
    await k.advance(2_000);
    // All traffic is back on stable; only now the canary gets its deadline, and keeps its pods until it passes.
    expect(await revisionPodCount(k, name, "2")).toBe(3);
    const weights = (await rollout(k, name)).status.canary.weights;
    expect([weights.canary.weight, weights.stable.weight]).toEqual([0, 100]);
    expect((await rsByRevision(k, name, "2")).metadata.annotations).toHaveProperty(DEADLINE);

    await waitForRevisionPodCount(k, name, "2", 0);
    expect(await revisionPodCount(k, name, "1")).toBe(4);
    const [canarySvc, stableSvc] = await services(k, `${name}-canary`, `${name}-stable`);
    expect(canarySvc.spec.selector[HASH]).toBe(stableSvc.spec.selector[HASH]);
  });
});

describe("argo-rollouts e2e functional_test.go (progressDeadlineAbort)", () => {
  const bluegreen = (name: string): Obj[] => [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `${name}-active` },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080, protocol: "TCP", name: "http" }] },
    },
    {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name },
      spec: {
        replicas: 1,
        strategy: { blueGreen: { activeService: `${name}-active`, abortScaleDownDelaySeconds: 2 } },
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [{ name, image: "nginx:1.19-alpine", resources: { requests: { memory: "16Mi", cpu: "1m" } } }],
          },
        },
      },
    },
  ];

  it("TestBlueGreenExceedProgressDeadlineAbort: past the deadline, only progressDeadlineAbort: true aborts and scales the new pods down", async () => {
    await using k = await simResource();
    // Upstream's image `nginx:1.19-alpine-argo-error` never pulls; faults.failImagePull does the same here.
    k.sim.faults.failImagePull({ image: /argo-error/ });
    const name = "bluegreen-scaledowndelay";
    await applyAll(k, bluegreen(name));
    await waitForRolloutStatus(k, name, "Healthy");
    const badTemplate = {
      template: { spec: { containers: [{ name: "bad2good", image: "nginx:1.19-alpine-argo-error", command: null }] } },
    };
    await updateSpec(k, name, {
      spec: { progressDeadlineAbort: false, progressDeadlineSeconds: 1, ...badTemplate },
    });
    await waitForRolloutStatus(k, name, "Degraded");
    await k.advance(3_000);
    expect(await revisionPodCount(k, name, "2")).toBe(1);
    expect((await rollout(k, name)).status.abort).toBeUndefined();

    await updateSpec(k, name, { spec: { progressDeadlineAbort: true, progressDeadlineSeconds: 1, ...badTemplate } });
    await waitForRolloutStatus(k, name, "Degraded");
    await k.advance(3_000);
    expect(await revisionPodCount(k, name, "2")).toBe(0);
    const ro = await rollout(k, name);
    expect(ro.status.abort).toBe(true);
    expect(ro.status.conditions).toHaveLength(4);
  });

  it("TestCompleteRolloutRestart: a healthy Rollout with progressDeadlineAbort past its deadline restarts to Healthy", async () => {
    await using k = await simResource();
    const name = "rollout-restart";
    await k.create(PATHS.rollouts, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name },
      spec: {
        progressDeadlineAbort: true,
        progressDeadlineSeconds: 15,
        replicas: 2,
        selector: { matchLabels: { app: "ollout-restart" } },
        template: {
          metadata: { labels: { app: "ollout-restart" } },
          spec: { containers: [{ name: "ollout-restart", image: "nginx:1.19-alpine", imagePullPolicy: "Always" }] },
        },
        strategy: { canary: { steps: [{ setWeight: 20 }] } },
      },
    });
    await waitForRolloutStatus(k, name, "Healthy");
    await k.advance(16_000);
    await k.mergePatch(`${PATHS.rollouts}/${name}`, { spec: { restartAt: new Date(k.sim.clock.now()).toISOString() } });
    await waitForRolloutStatus(k, name, "Healthy");
    expect((await rollout(k, name)).status.abort).toBeUndefined();
  });

  it("a canary update stuck past its deadline with progressDeadlineAbort aborts back to stable", async () => {
    await using k = await simResource();
    k.sim.faults.crashPods({ image: /bad/ });
    const name = "canary-deadline-abort";
    await k.create(PATHS.rollouts, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name },
      spec: {
        progressDeadlineAbort: true,
        progressDeadlineSeconds: 10,
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: "nginx:1" }] } },
        strategy: { canary: { maxSurge: 1, maxUnavailable: 0, steps: [{ setWeight: 50 }, { pause: {} }] } },
      },
    });
    await waitForRolloutStatus(k, name, "Healthy");
    await updateSpec(k, name, { spec: { template: { spec: { containers: [{ name, image: "nginx:bad" }] } } } });
    const ro = await waitForRolloutStatus(k, name, "Degraded");
    expect(ro.status.abort).toBe(true);
    expect(ro.status.message).toBe(
      `RolloutAborted: Rollout aborted update to revision 2: ReplicaSet "${name}-${ro.status.currentPodHash}" has timed out progressing.`,
    );
    await k.advance(5_000);
    expect(await revisionPodCount(k, name, "2")).toBe(0);
    expect(await revisionPodCount(k, name, "1")).toBe(2);
  });
});
