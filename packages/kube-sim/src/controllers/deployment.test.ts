// Behaviour of the Deployment, ReplicaSet and Pod controllers, checked against the documented Deployment
// semantics (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/) on a manual clock.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { KubeObject } from "../crds.js";
import { startKubeSim } from "../sim.js";
import { deploymentController, podTemplateHash, REVISION_ANNOTATION } from "./deployment.js";
import { podController } from "./pod.js";
import { replicaSetController } from "./replicaset.js";
import type { Obj } from "./workload.js";

const controllers = [podController, replicaSetController, deploymentController];

function deployment(name: string, image: string, extra: Obj = {}): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
      ...extra,
    },
  };
}

async function simWith(readyDelayMs = 2_000) {
  const sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs, controllers });
  const t = (g: string, r: string) => sim.store.types.get(g, r) as NonNullable<ReturnType<typeof sim.store.types.get>>;
  const types = {
    d: t("apps", "deployments"),
    rs: t("apps", "replicasets"),
    pod: t("", "pods"),
    events: t("", "events"),
  };
  return {
    sim,
    types,
    apply: (o: Obj) => sim.store.create(types.d, "default", o).object,
    patch: (name: string, body: Obj) => sim.store.patch(types.d, "default", name, "strategic", body).object,
    get: (name: string): Obj => sim.store.get(types.d, "default", name),
    replicaSets: (): Obj[] => sim.store.list(types.rs, "default").items,
    pods: (): Obj[] => sim.store.list(types.pod, "default").items,
    [Symbol.asyncDispose]: () => sim.close(),
  };
}

const condition = (d: Obj, type: string) => (d.status?.conditions ?? []).find((c: Obj) => c.type === type);

describe("Deployment controller", () => {
  it("creates a ReplicaSet named <deployment>-<pod-template-hash>, then pods, then reports them available once ready", async () => {
    await using k = await simWith();
    k.apply(deployment("web", "nginx:1.25"));
    await k.sim.settle();
    const [rs] = k.replicaSets();
    const hash = rs.metadata.labels["pod-template-hash"];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: "web", "pod-template-hash": hash });
    expect(rs.metadata.annotations[REVISION_ANNOTATION]).toBe("1");
    expect(k.pods()).toHaveLength(3);
    expect(k.pods().every((p) => p.metadata.name.startsWith(`web-${hash}-`) && p.status.phase === "Running")).toBe(
      true,
    );
    let d = k.get("web");
    expect(d.status.availableReplicas).toBeUndefined();
    expect(condition(d, "Available").status).toBe("False");
    await k.sim.advance(2_000);
    d = k.get("web");
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(condition(d, "Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
    expect(condition(d, "Progressing")).toMatchObject({
      status: "True",
      reason: "NewReplicaSetAvailable",
      message: `ReplicaSet "web-${hash}" has successfully progressed.`,
    });
  });

  it("rolls out within maxSurge and maxUnavailable: never more than replicas+surge pods, never fewer available than replicas-unavailable", async () => {
    await using k = await simWith();
    k.apply(
      deployment("web", "web:1", {
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      }),
    );
    await k.sim.advance(2_000);
    let maxPods = 0;
    let minAvailable = Number.POSITIVE_INFINITY;
    const off = k.sim.store.subscribe(() => {
      const pods = k.sim.store.listRaw(k.types.pod, "default").items;
      maxPods = Math.max(maxPods, pods.length);
      const ready = pods.filter((p) =>
        (p.status as Obj)?.conditions?.some((c: Obj) => c.type === "Ready" && c.status === "True"),
      ).length;
      minAvailable = Math.min(minAvailable, ready);
    });
    k.patch("web", { spec: { template: { spec: { containers: [{ name: "app", image: "web:2" }] } } } });
    await k.sim.advance(20_000);
    off();
    expect(maxPods).toBe(4);
    expect(minAvailable).toBe(3);
    const d = k.get("web");
    expect(d.metadata.generation).toBe(2);
    expect(d.metadata.annotations[REVISION_ANNOTATION]).toBe("2");
    expect(d.status).toMatchObject({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(k.pods().map((p) => p.spec.containers[0].image)).toEqual(["web:2", "web:2", "web:2"]);
    const old = k.replicaSets().find((rs) => rs.metadata.annotations[REVISION_ANNOTATION] === "1");
    expect(old.spec.replicas).toBe(0);
  });

  it("Recreate removes every old pod before the first new one is created", async () => {
    await using k = await simWith();
    k.apply(deployment("db", "db:1", { strategy: { type: "Recreate" } }));
    await k.sim.advance(2_000);
    let overlap = false;
    const off = k.sim.store.subscribe(() => {
      const images = new Set(
        k.sim.store.listRaw(k.types.pod, "default").items.map((p) => (p.spec as Obj).containers[0].image),
      );
      if (images.size > 1) overlap = true;
    });
    k.patch("db", { spec: { template: { spec: { containers: [{ name: "app", image: "db:2" }] } } } });
    await k.sim.advance(2_000);
    off();
    expect(overlap).toBe(false);
    expect(k.get("db").status).toMatchObject({ updatedReplicas: 3, availableReplicas: 3 });
  });

  it("stops at ProgressDeadlineExceeded when new pods crash, keeping the old pods serving", async () => {
    await using k = await simWith();
    k.apply(deployment("web", "web:1", { progressDeadlineSeconds: 60 }));
    await k.sim.advance(2_000);
    k.sim.faults.crashPods({ image: "web:2" });
    k.patch("web", { spec: { template: { spec: { containers: [{ name: "app", image: "web:2" }] } } } });
    await k.sim.advance(30_000);
    expect(condition(k.get("web"), "Progressing").reason).toBe("ReplicaSetUpdated");
    await k.sim.advance(40_000);
    const d = k.get("web");
    expect(condition(d, "Progressing")).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded" });
    expect(d.status.availableReplicas).toBe(3);
    const crashing = k.pods().filter((p) => p.spec.containers[0].image === "web:2");
    expect(crashing.length).toBeGreaterThan(0);
    expect(crashing[0].status.containerStatuses[0].state.waiting.reason).toBe("CrashLoopBackOff");
    expect(crashing[0].status.containerStatuses[0].restartCount).toBeGreaterThan(1);
  });

  it("reuses the old ReplicaSet on rollback and gives it the next revision", async () => {
    await using k = await simWith(0);
    k.apply(deployment("web", "web:1"));
    await k.sim.settle();
    const first = k.replicaSets()[0].metadata.name;
    k.patch("web", { spec: { template: { spec: { containers: [{ name: "app", image: "web:2" }] } } } });
    await k.sim.settle();
    k.patch("web", { spec: { template: { spec: { containers: [{ name: "app", image: "web:1" }] } } } });
    await k.sim.settle();
    const rs = k.replicaSets().find((r) => r.metadata.name === first);
    expect(rs.metadata.annotations[REVISION_ANNOTATION]).toBe("3");
    expect(rs.spec.replicas).toBe(3);
    expect(k.replicaSets()).toHaveLength(2);
    expect(k.get("web").metadata.annotations[REVISION_ANNOTATION]).toBe("3");
  });

  it("keeps only revisionHistoryLimit old ReplicaSets", async () => {
    await using k = await simWith(0);
    k.apply(deployment("web", "web:0", { revisionHistoryLimit: 1 }));
    await k.sim.settle();
    for (const v of [1, 2, 3]) {
      k.patch("web", { spec: { template: { spec: { containers: [{ name: "app", image: `web:${v}` }] } } } });
      await k.sim.settle();
    }
    expect(
      k
        .replicaSets()
        .map((rs) => rs.metadata.annotations[REVISION_ANNOTATION])
        .sort(),
    ).toEqual(["3", "4"]);
  });

  it("scales with spec.replicas and removes not-ready pods before ready ones", async () => {
    await using k = await simWith();
    k.apply(deployment("web", "web:1"));
    await k.sim.advance(2_000);
    k.sim.store.patch(k.types.d, "default", "web", "merge", { spec: { replicas: 5 } });
    await k.sim.settle();
    expect(k.pods()).toHaveLength(5);
    k.sim.store.patch(k.types.d, "default", "web", "merge", { spec: { replicas: 3 } });
    await k.sim.settle();
    const left = k.pods();
    expect(left).toHaveLength(3);
    expect(
      left.every(
        (p: KubeObject) => (p.status as Obj).conditions.find((c: Obj) => c.type === "Ready").status === "True",
      ),
    ).toBe(true);
  });

  it("pauses: a template change while paused creates no ReplicaSet until resumed", async () => {
    await using k = await simWith(0);
    k.apply(deployment("web", "web:1"));
    await k.sim.settle();
    k.sim.store.patch(k.types.d, "default", "web", "merge", { spec: { paused: true } });
    k.patch("web", { spec: { template: { spec: { containers: [{ name: "app", image: "web:2" }] } } } });
    await k.sim.settle();
    expect(k.replicaSets()).toHaveLength(1);
    expect(condition(k.get("web"), "Progressing")).toMatchObject({ status: "Unknown", reason: "DeploymentPaused" });
    k.sim.store.patch(k.types.d, "default", "web", "merge", { spec: { paused: false } });
    await k.sim.settle();
    expect(k.replicaSets()).toHaveLength(2);
    expect(k.get("web").status.updatedReplicas).toBe(3);
  });

  it("deletes ReplicaSets and pods with their Deployment (ownerReferences, background propagation)", async () => {
    await using k = await simWith(0);
    k.apply(deployment("web", "web:1"));
    await k.sim.settle();
    k.sim.store.delete(k.types.d, "default", "web");
    await k.sim.settle();
    expect(k.replicaSets()).toEqual([]);
    expect(k.pods()).toEqual([]);
  });

  it("records ScalingReplicaSet events as kubectl describe shows them", async () => {
    await using k = await simWith(0);
    k.apply(deployment("web", "web:1"));
    await k.sim.settle();
    const events = k.sim.store.list(k.types.events, "default").items as Obj[];
    const hash = k.replicaSets()[0].metadata.labels["pod-template-hash"];
    expect(
      events.some(
        (e) => e.reason === "ScalingReplicaSet" && e.message === `Scaled up replica set web-${hash} from 0 to 3`,
      ),
    ).toBe(true);
  });
});

describe("podTemplateHash", () => {
  it("is stable across key order and changes with the template or the collision count", () => {
    const a = { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "c", image: "i:1" }] } };
    const b = { spec: { containers: [{ image: "i:1", name: "c" }] }, metadata: { labels: { app: "x" } } };
    expect(podTemplateHash(a)).toBe(podTemplateHash(b));
    expect(podTemplateHash(a)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    expect(podTemplateHash(a, 1)).not.toBe(podTemplateHash(a));
  });
});
