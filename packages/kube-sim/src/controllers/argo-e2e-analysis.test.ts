// Scenarios of argo-rollouts test/e2e/analysis_test.go (argoproj/argo-rollouts@9f8d111d), with upstream's manifests
// from test-fixtures/argo-rollouts-e2e/ loaded unchanged except where kube-sim cannot run what they ask for:
// a web template's URL on the internet becomes a loopback server answering the same JSON, and a job that runs
// `exit 1` gets an image that `faults.failJobPods` fails (kube-sim runs no commands).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import {
  metricsServer,
  type Obj,
  PATHS,
  type SimResource,
  simResource,
  waitForRolloutStatus,
} from "./rollout-test-kit.js";

const FIXTURES = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "test-fixtures", "argo-rollouts-e2e");
const PROMOTE_STATUS_PATCH = { status: { pauseConditions: null } };

function fixture(name: string): Obj {
  return load(readFileSync(join(FIXTURES, name), "utf8")) as Obj;
}

async function apply(k: SimResource, obj: Obj): Promise<void> {
  const path = obj.kind === "Rollout" ? PATHS.rollouts : PATHS.analysisTemplates;
  await k.create(path, obj);
}

async function runs(k: SimResource): Promise<Obj[]> {
  return k.list(PATHS.analysisRuns);
}

/** UpdateSpec: upstream's helper bumps a pod-template annotation to start a new revision. */
async function updateSpec(k: SimResource, name: string): Promise<void> {
  await k.mergePatch(`${PATHS.rollouts}/${name}`, {
    spec: { template: { metadata: { annotations: { "rollout-updated": "1" } } } },
  });
}

async function runPhase(k: SimResource, name: string, which: string, phase: string): Promise<Obj> {
  return k.until(
    `${which} AnalysisRun ${phase}`,
    async () => {
      const st = (await k.get(`${PATHS.rollouts}/${name}`)).status?.canary?.[which];
      if (!st) return undefined;
      const run = await k.get(`${PATHS.analysisRuns}/${st.name}`);
      return run.status?.phase === phase ? run : undefined;
    },
    300_000,
    1_000,
  );
}

describe("argo-rollouts e2e analysis_test.go", () => {
  it("TestCanaryInlineAnalysis: a Job-backed analysis step completes the step; three runs by the end", async () => {
    await using k = await simResource();
    await apply(k, fixture("analysistemplate-sleep-job.yaml"));
    await apply(k, fixture("rollout-inline-analysis.yaml"));
    const name = "rollout-inline-analysis";
    await waitForRolloutStatus(k, name, "Healthy");
    expect(await runs(k)).toHaveLength(0);
    await updateSpec(k, name);
    await waitForRolloutStatus(k, name, "Paused");
    expect(await runs(k)).toHaveLength(1);
    const [run] = await runs(k);
    expect(run.metadata.labels).toMatchObject({ "rollout-type": "Step", "step-index": "1" });
    expect(run.metadata.name).toMatch(/^rollout-inline-analysis-[a-z0-9]+-2-1$/);
    expect(run.status.phase).toBe("Successful");
    expect(run.spec.metrics[0].count).toBe("1");
    await k.mergePatch(`${PATHS.rollouts}/${name}/status`, PROMOTE_STATUS_PATCH);
    await waitForRolloutStatus(k, name, "Healthy");
    expect(await runs(k)).toHaveLength(3);
  });

  it("TestCanaryBackgroundAnalysis: a web background run starts with the update and ends Successful", async () => {
    await using k = await simResource();
    await using web = await metricsServer();
    web.json("/version", { major: "1", minor: "32" });
    const template = fixture("analysistemplate-web-background.yaml");
    template.spec.args[0].value = `${web.url}/version`;
    await apply(k, template);
    await apply(k, fixture("rollout-background-analysis.yaml"));
    const name = "rollout-background-analysis";
    await waitForRolloutStatus(k, name, "Healthy");
    expect(await runs(k)).toHaveLength(0);
    await updateSpec(k, name);
    await waitForRolloutStatus(k, name, "Paused");
    expect(await runs(k)).toHaveLength(1);
    await runPhase(k, name, "currentBackgroundAnalysisRunStatus", "Running");
    const background = (await k.get(`${PATHS.rollouts}/${name}`)).status.canary.currentBackgroundAnalysisRunStatus;
    await k.mergePatch(`${PATHS.rollouts}/${name}/status`, PROMOTE_STATUS_PATCH);
    await waitForRolloutStatus(k, name, "Healthy");
    // Once fully promoted the run is terminated, which ends a run of an indefinite metric Successful.
    const done = await k.until("background run Successful", async () => {
      const run = await k.get(`${PATHS.analysisRuns}/${background.name}`);
      return run.status.phase === "Successful" ? run : undefined;
    });
    expect(done.spec.terminate).toBe(true);
    expect(done.status.metricResults[0].measurements[0].value).toBe('{"major":"1","minor":"32"}');
  });

  it("TestCanaryInconclusiveBackgroundAnalysis: past inconclusiveLimit the Rollout pauses with InconclusiveAnalysisRun", async () => {
    await using k = await simResource();
    await using web = await metricsServer();
    web.json("/resolve", { Status: 0 });
    const template = fixture("analysistemplate-web-background-inconclusive.yaml");
    template.spec.args[0].value = `${web.url}/resolve`;
    await apply(k, template);
    await apply(k, fixture("rollout-background-analysis-inconclusive.yaml"));
    const name = "rollout-background-analysis-inconclusive";
    await waitForRolloutStatus(k, name, "Healthy");
    await updateSpec(k, name);
    await waitForRolloutStatus(k, name, "Paused");
    await runPhase(k, name, "currentBackgroundAnalysisRunStatus", "Running");
    expect(await runs(k)).toHaveLength(1);
    await runPhase(k, name, "currentBackgroundAnalysisRunStatus", "Inconclusive");
    const paused = await k.until("InconclusiveAnalysisRun", async () => {
      const ro = await k.get(`${PATHS.rollouts}/${name}`);
      return ro.status.message === "InconclusiveAnalysisRun" ? ro : undefined;
    });
    expect(paused.status.phase).toBe("Paused");
    expect(paused.status.pauseConditions.map((c: Obj) => c.reason)).toContain("InconclusiveAnalysisRun");
  });

  it("TestCanaryFailInlineMultipleAnalysis: a failed step analysis aborts the Rollout (Degraded)", async () => {
    await using k = await simResource();
    k.sim.faults.failJobPods({ image: "exit-1" });
    const template = fixture("analysistemplate-fail-multiple-job.yaml");
    template.spec.metrics[1].provider.job.spec.template.spec.containers[0].image = "exit-1";
    await apply(k, template);
    await apply(k, fixture("rollout-degraded-inline-multiple-analysis.yaml"));
    const name = "rollout-inline-analysis";
    await waitForRolloutStatus(k, name, "Healthy");
    await updateSpec(k, name);
    await waitForRolloutStatus(k, name, "Paused");
    await k.mergePatch(`${PATHS.rollouts}/${name}/status`, PROMOTE_STATUS_PATCH);
    await k.sim.settle();
    expect((await k.get(`${PATHS.rollouts}/${name}`)).status.phase).toBe("Progressing");
    // The abort drops the run from status.canary (as upstream's cancel does): find it by its labels.
    const failed = await k.until("the step run Failed", async () => {
      const [run] = await k.list(PATHS.analysisRuns, "rollout-type=Step");
      return run?.status?.phase === "Failed" ? run : undefined;
    });
    expect(failed.status.message).toBe('Metric "sleep-job-rep" assessed Failed due to failed (2) > failureLimit (1)');
    const degraded = await waitForRolloutStatus(k, name, "Degraded");
    expect(degraded.status.message).toBe(
      'RolloutAborted: Rollout aborted update to revision 2: Step-based analysis phase error/failed: Metric "sleep-job-rep" assessed Failed due to failed (2) > failureLimit (1)',
    );
  });

  it("a Rollout naming a missing AnalysisTemplate is Degraded with upstream's InvalidSpec message, and recovers", async () => {
    await using k = await simResource();
    const rollout = fixture("rollout-inline-analysis.yaml");
    await apply(k, rollout);
    const degraded = await waitForRolloutStatus(k, "rollout-inline-analysis", "Degraded");
    expect(degraded.status.message).toBe(
      'InvalidSpec: The Rollout "rollout-inline-analysis" is invalid: spec.strategy.canary.steps[1].analysis.templates: Invalid value: "sleep-job": AnalysisTemplate \'sleep-job\' not found',
    );
    await apply(k, fixture("analysistemplate-sleep-job.yaml"));
    await waitForRolloutStatus(k, "rollout-inline-analysis", "Healthy");
  });

  it("TestBlueGreenPrePromotionFail: a failed pre-promotion run aborts with the active Service on revision 1; retry with a passing run promotes", async () => {
    await using k = await simResource();
    k.sim.faults.failJobPods({ image: "exit-1" });
    // kube-sim runs no `exit {{args.exit-code}}`: the exit code goes into the image name, which the fault matches.
    const sleepJob = fixture("analysistemplate-sleep-job.yaml");
    sleepJob.spec.metrics[0].provider.job.spec.template.spec.containers[0].image = "sleep-job:exit-{{args.exit-code}}";
    await apply(k, sleepJob);
    for (const svc of ["pre-promotion-fail-active", "pre-promotion-fail-preview"]) {
      await k.create(PATHS.services, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: svc },
        spec: { selector: { app: "pre-promotion-fail" }, ports: [{ port: 80 }] },
      });
    }
    const analysis = (exitCode: string) => ({
      templates: [{ templateName: "sleep-job" }],
      args: [
        { name: "exit-code", value: exitCode },
        { name: "duration", value: "5" },
      ],
    });
    await k.create(PATHS.rollouts, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name: "pre-promotion-fail" },
      spec: {
        replicas: 2,
        strategy: {
          blueGreen: {
            abortScaleDownDelaySeconds: 0,
            activeService: "pre-promotion-fail-active",
            previewService: "pre-promotion-fail-preview",
            previewReplicaCount: 1,
            prePromotionAnalysis: analysis("1"),
          },
        },
        selector: { matchLabels: { app: "pre-promotion-fail" } },
        template: {
          metadata: { labels: { app: "pre-promotion-fail" } },
          spec: { containers: [{ name: "pre-promotion-fail", image: "nginx:1.19-alpine" }] },
        },
      },
    });
    const name = "pre-promotion-fail";
    const healthy = await waitForRolloutStatus(k, name, "Healthy");
    expect(await runs(k)).toHaveLength(0);
    await updateSpec(k, name);
    const degraded = await waitForRolloutStatus(k, name, "Degraded");
    expect(await runs(k)).toHaveLength(1);
    expect(degraded.status.message).toBe(
      'RolloutAborted: Rollout aborted update to revision 2: Blue/green pre-promotion analysis phase error/failed: Metric "sleep-job" assessed Failed due to failed (1) > failureLimit (0)',
    );
    expect(degraded.status.stableRS).toBe(healthy.status.stableRS);
    expect(degraded.status.blueGreen.activeSelector).toBe(healthy.status.stableRS);

    await k.mergePatch(`${PATHS.rollouts}/${name}`, {
      spec: { strategy: { blueGreen: { prePromotionAnalysis: analysis("0") } } },
    });
    await k.mergePatch(`${PATHS.rollouts}/${name}/status`, { status: { abort: false } });
    const promoted = await waitForRolloutStatus(k, name, "Healthy");
    expect(await runs(k)).toHaveLength(2);
    expect(promoted.status.stableRS).toBe(promoted.status.currentPodHash);
    expect(promoted.status.blueGreen.activeSelector).toBe(promoted.status.currentPodHash);
  });

  it("TestBlueGreenAnalysis (first half): pre-promotion passes, the pause waits for promote, post-promotion gates Healthy", async () => {
    await using k = await simResource();
    await apply(k, fixture("analysistemplate-sleep-job.yaml"));
    for (const svc of ["bluegreen-analysis-active", "bluegreen-analysis-preview"]) {
      await k.create(PATHS.services, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: svc },
        spec: { selector: { app: "bluegreen-analysis" }, ports: [{ port: 80 }] },
      });
    }
    const analysis = { templates: [{ templateName: "sleep-job" }], args: [{ name: "duration", value: "5" }] };
    await k.create(PATHS.rollouts, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name: "bluegreen-analysis" },
      spec: {
        strategy: {
          blueGreen: {
            activeService: "bluegreen-analysis-active",
            previewService: "bluegreen-analysis-preview",
            prePromotionAnalysis: analysis,
            postPromotionAnalysis: analysis,
            autoPromotionEnabled: false,
          },
        },
        selector: { matchLabels: { app: "bluegreen-analysis" } },
        template: {
          metadata: { labels: { app: "bluegreen-analysis" } },
          spec: { containers: [{ name: "bluegreen-analysis", image: "nginx:1.19-alpine" }] },
        },
      },
    });
    const name = "bluegreen-analysis";
    await waitForRolloutStatus(k, name, "Healthy");
    expect(await runs(k)).toHaveLength(0);
    await updateSpec(k, name);
    const paused = await waitForRolloutStatus(k, name, "Paused");
    expect(await runs(k)).toHaveLength(1);
    // The controller pauses only once the pre-promotion run has passed.
    expect(paused.status.blueGreen.prePromotionAnalysisRunStatus).toMatchObject({ status: "Successful" });
    await k.mergePatch(`${PATHS.rollouts}/${name}/status`, PROMOTE_STATUS_PATCH);
    const done = await waitForRolloutStatus(k, name, "Healthy");
    expect(await runs(k)).toHaveLength(2);
    expect(done.status.blueGreen.postPromotionAnalysisRunStatus).toMatchObject({ status: "Successful" });
    expect(done.status.stableRS).toBe(done.status.currentPodHash);
    const post = await k.list(PATHS.analysisRuns, "rollout-type=PostPromotion");
    expect(post[0].metadata.name).toBe(`bluegreen-analysis-${done.status.currentPodHash}-2-post`);
  });
});
