// The simulated kubelet's readiness, checked over HTTP as a client (or argo-rollouts' e2e MarkPodsReady) sees it.
import { describe, expect, it } from "vitest";
import { type Obj, PATHS, simResource } from "./rollout-test-kit.js";

const GATE = "argoproj.io/e2e-readiness";

function gatedPod(name: string): Obj {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: name } },
    spec: { readinessGates: [{ conditionType: GATE }], containers: [{ name: "c", image: "nginx:1.19-alpine" }] },
  };
}

/** UpdateStatus, as client-go sends it. */
function putStatus(url: string, pod: Obj): Promise<Response> {
  return fetch(`${url}${PATHS.pods}/${pod.metadata.name}/status`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(pod),
  });
}

function cond(pod: Obj, type: string): Obj {
  return (pod.status?.conditions ?? []).find((c: Obj) => c.type === type);
}

describe("pod readinessGates (kubelet semantics)", () => {
  it("a pod with a readinessGate stays not Ready until its condition is set True in pod status", async () => {
    await using k = await simResource({ readyDelayMs: 1_000 });
    await k.create(PATHS.pods, gatedPod("gated"));
    await k.advance(60_000);
    let pod = await k.get(`${PATHS.pods}/gated`);
    expect(cond(pod, "ContainersReady").status).toBe("True");
    expect(cond(pod, "Ready")).toMatchObject({
      status: "False",
      reason: "ReadinessGatesNotReady",
      message: `corresponding condition of pod readiness gate "${GATE}" does not exist.`,
    });

    // MarkPodsReady in argo-rollouts test/fixtures/common.go: append the condition and UpdateStatus.
    pod.status.conditions.push({ type: GATE, status: "False" });
    expect((await putStatus(k.sim.url, pod)).status).toBe(200);
    await k.sim.settle();
    pod = await k.get(`${PATHS.pods}/gated`);
    expect(cond(pod, "Ready")).toMatchObject({
      status: "False",
      reason: "ReadinessGatesNotReady",
      message: `the status of pod readiness gate "${GATE}" is not "True", but False`,
    });
    expect(cond(pod, GATE).status).toBe("False");

    pod.status.conditions = pod.status.conditions.map((c: Obj) => (c.type === GATE ? { ...c, status: "True" } : c));
    expect((await putStatus(k.sim.url, pod)).status).toBe(200);
    await k.sim.settle();
    pod = await k.get(`${PATHS.pods}/gated`);
    expect(cond(pod, "Ready").status).toBe("True");
    expect(cond(pod, "Ready").reason).toBeUndefined();
    expect(cond(pod, GATE).status).toBe("True");
  });

  it("a ReplicaSet counts gated pods ready only once their gate is set", async () => {
    await using k = await simResource({ readyDelayMs: 1_000 });
    const template = gatedPod("rs-gated");
    await k.create(PATHS.replicaSets, {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "rs-gated" },
      spec: { replicas: 2, selector: { matchLabels: { app: "rs-gated" } }, template: { ...template, kind: undefined } },
    });
    await k.advance(30_000);
    expect((await k.get(`${PATHS.replicaSets}/rs-gated`)).status).toMatchObject({ replicas: 2 });
    expect((await k.get(`${PATHS.replicaSets}/rs-gated`)).status.readyReplicas ?? 0).toBe(0);
    const [first] = await k.list(PATHS.pods, "app=rs-gated");
    first.status.conditions.push({ type: GATE, status: "True" });
    expect((await putStatus(k.sim.url, first)).status).toBe(200);
    await k.sim.settle();
    expect((await k.get(`${PATHS.replicaSets}/rs-gated`)).status).toMatchObject({
      replicas: 2,
      readyReplicas: 1,
      availableReplicas: 1,
    });
  });
});
