// Scenarios of argo-rollouts test/e2e/experiment_test.go (argoproj/argo-rollouts@9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d)
// replayed over HTTP on kube-sim's manual clock, with upstream's manifests from test-fixtures/argo-rollouts-e2e/ loaded
// unchanged. kube-sim runs no commands, so a Job an analysis runs succeeds unless `faults.failJobPods` fails it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAll } from "js-yaml";
import { describe, expect, it } from "vitest";
import { type Obj, PATHS, type SimResource, simResource, waitForRolloutStatus } from "./rollout-test-kit.js";

const FIXTURES = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "test-fixtures", "argo-rollouts-e2e");
const EXPERIMENTS = "/apis/argoproj.io/v1alpha1/namespaces/default/experiments";
const REVISION = "rollout.argoproj.io/revision";
const HASH = "rollouts-pod-template-hash";
const TEMPLATE_NAME = "experiment.argoproj.io/template-name";

function fixture(name: string): Obj[] {
  return (loadAll(readFileSync(join(FIXTURES, name), "utf8")) as Obj[]).filter(Boolean);
}

const COLLECTIONS: Record<string, string> = {
  Rollout: PATHS.rollouts,
  AnalysisTemplate: PATHS.analysisTemplates,
  Experiment: EXPERIMENTS,
};

async function applyAll(k: SimResource, objects: Obj[]): Promise<Obj[]> {
  const out: Obj[] = [];
  for (const obj of objects) out.push(await k.create(COLLECTIONS[obj.kind] as string, obj));
  return out;
}

async function waitForExperimentPhase(k: SimResource, name: string, phase: string): Promise<Obj> {
  return k.until(
    `experiment ${name} ${phase}`,
    async () => {
      const ex = await k.get(`${EXPERIMENTS}/${name}`);
      return ex.status?.phase === phase ? ex : undefined;
    },
    300_000,
    1_000,
  );
}

function ownedBy(obj: Obj, owner: Obj): boolean {
  return (obj.metadata.ownerReferences ?? []).some((o: Obj) => o.controller && o.uid === owner.metadata.uid);
}

async function replicaSetByRevision(k: SimResource, rollout: string, revision: string): Promise<Obj> {
  return (await k.list(PATHS.replicaSets)).find(
    (rs: Obj) =>
      rs.metadata.annotations?.[REVISION] === revision &&
      rs.metadata.ownerReferences?.some((o: Obj) => o.kind === "Rollout" && o.name === rollout),
  );
}

async function replicaSetFromExperiment(k: SimResource, ex: Obj, template: string): Promise<Obj> {
  const found = (await k.list(PATHS.replicaSets)).filter(
    (rs: Obj) => ownedBy(rs, ex) && rs.metadata.annotations?.[TEMPLATE_NAME] === template,
  );
  expect(found).toHaveLength(1);
  return found[0];
}

describe("argo-rollouts e2e experiment_test.go", () => {
  it("TestRolloutWithExperimentAndAnalysis: the experiment step runs baseline and canary, its analysis gets the hashes", async () => {
    await using k = await simResource();
    await applyAll(k, fixture("rollout-experiment-analysis.yaml"));
    const name = "rollout-experiment";
    await waitForRolloutStatus(k, name, "Healthy");
    expect(await k.list(EXPERIMENTS)).toHaveLength(0);
    await k.mergePatch(`${PATHS.rollouts}/${name}`, {
      spec: { template: { metadata: { annotations: { update: "1" } } } },
    });
    await waitForRolloutStatus(k, name, "Paused");
    const experiments = await k.list(EXPERIMENTS);
    expect(experiments).toHaveLength(1);
    const exp = experiments[0];
    expect(exp.metadata.annotations[REVISION]).toBe("2");
    expect(exp.status.phase).toBe("Successful");

    const rs1 = await replicaSetByRevision(k, name, "1");
    const rs2 = await replicaSetByRevision(k, name, "2");
    const rs1Hash = rs1.metadata.labels[HASH];
    const rs2Hash = rs2.metadata.labels[HASH];
    expect(rs1Hash).toBeTruthy();
    expect(rs2Hash).toBeTruthy();
    expect(rs1Hash).not.toBe(rs2Hash);
    const canary = await replicaSetFromExperiment(k, exp, "canary");
    const baseline = await replicaSetFromExperiment(k, exp, "baseline");
    // `specRef: stable` and `specRef: canary` copy the pod specs
    expect(baseline.spec.template.spec).toEqual(rs1.spec.template.spec);
    expect(canary.spec.template.spec).toEqual(rs2.spec.template.spec);

    // podTemplateHashValue Stable/Latest and `{{templates.<name>.podTemplateHash}}` reach the Job
    const runs = (await k.list(PATHS.analysisRuns)).filter((ar: Obj) => ownedBy(ar, exp));
    expect(runs).toHaveLength(1);
    const jobs = (await k.list(PATHS.jobs)).filter((job: Obj) => ownedBy(job, runs[0]));
    expect(jobs).toHaveLength(1);
    const job = jobs[0];
    const env = job.spec.template.spec.containers[0].env;
    expect(env[1].value).toBe(rs1Hash);
    expect(env[0].value).toBe(rs2Hash);
    expect(job.metadata.labels.foo).toBe("bar");
    expect(job.metadata.annotations.foo2).toBe("bar2");
    const baselineHash = baseline.spec.template.metadata.labels[HASH];
    const canaryHash = canary.spec.template.metadata.labels[HASH];
    expect(env[2].value).toBe(baselineHash);
    expect(env[3].value).toBe(canaryHash);
    expect(baselineHash).not.toBe(canaryHash);
    // experiment ReplicaSets get other pod hashes than the Rollout's (upstream issue #380)
    expect(baselineHash).not.toBe(rs1Hash);
    expect(canaryHash).not.toBe(rs2Hash);

    await k.mergePatch(`${PATHS.rollouts}/${name}/status`, { status: { pauseConditions: null } });
    await waitForRolloutStatus(k, name, "Healthy");
  });

  it("experiment-basic.yaml: Pending, Running with availableAt, Successful after its 30s duration, then scaled down", async () => {
    await using k = await simResource();
    const [created] = await applyAll(k, fixture("experiment-basic.yaml"));
    const name = created.metadata.name;
    expect(name).toMatch(/^experiment-basic-/);
    const running = await waitForExperimentPhase(k, name, "Running");
    expect(running.status.availableAt).toBeTruthy();
    expect(running.status.templateStatuses.map((t: Obj) => [t.name, t.status, t.availableReplicas])).toEqual([
      ["baseline", "Running", 1],
      ["canary", "Running", 1],
    ]);
    const successful = await waitForExperimentPhase(k, name, "Successful");
    expect(Date.parse(successful.status.templateStatuses[0].lastTransitionTime)).toBeGreaterThanOrEqual(
      Date.parse(running.status.availableAt) + 30_000,
    );
    expect(successful.status.templateStatuses.map((t: Obj) => t.status)).toEqual(["Successful", "Successful"]);
    // scaleDownDelaySeconds (30 by default), then the template ReplicaSets go to 0
    await k.until(
      "template ReplicaSets at 0",
      async () => (await k.list(PATHS.replicaSets)).every((rs: Obj) => rs.spec.replicas === 0),
      120_000,
      1_000,
    );
  });

  it("a failed analysis fails the Experiment and the Rollout's experiment step aborts the update", async () => {
    await using k = await simResource();
    const objects = fixture("rollout-experiment-analysis.yaml");
    await applyAll(k, objects);
    const name = "rollout-experiment";
    await waitForRolloutStatus(k, name, "Healthy");
    k.sim.faults.failJobPods({ image: "nginx:1.19-alpine" });
    await k.mergePatch(`${PATHS.rollouts}/${name}`, {
      spec: { template: { metadata: { annotations: { update: "1" } } } },
    });
    const ro = await waitForRolloutStatus(k, name, "Degraded");
    const [exp] = await k.list(EXPERIMENTS);
    expect(exp.status.phase).toBe("Failed");
    expect(exp.status.analysisRuns).toEqual([
      expect.objectContaining({
        name: "echo-pod-hash",
        phase: "Failed",
        analysisRun: `${exp.metadata.name}-echo-pod-hash`,
      }),
    ]);
    expect(ro.status.abort).toBe(true);
    expect(ro.status.message).toMatch(
      /^RolloutAborted: Rollout aborted update to revision 2: Experiment analysis phase is error\/failed/,
    );
    // the experiment's templates scale down (after their scale-down delay), the Rollout is back on revision 1
    await k.until(
      "experiment ReplicaSets at 0",
      async () =>
        (await k.list(PATHS.replicaSets))
          .filter((rs: Obj) => ownedBy(rs, exp))
          .every((rs: Obj) => rs.spec.replicas === 0),
      120_000,
      1_000,
    );
    expect((await replicaSetByRevision(k, name, "1")).spec.replicas).toBe(1);
  });
});
