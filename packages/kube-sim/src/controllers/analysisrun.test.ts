// AnalysisRuns as argo-rollouts' analysis controller runs them (analysis/analysis_test.go cases: count/interval,
// failureLimit, inconclusiveLimit, consecutiveErrorLimit, dryRun), with real providers against loopback servers.
import { describe, expect, it } from "vitest";
import { metricsServer, type Obj, PATHS, simResource } from "./rollout-test-kit.js";

function run(name: string, metrics: Obj[], extra: Obj = {}): Obj {
  return { apiVersion: "argoproj.io/v1alpha1", kind: "AnalysisRun", metadata: { name }, spec: { metrics, ...extra } };
}

describe("AnalysisRun controller", () => {
  it("prometheus: count 3 every 10s, judged by successCondition; Successful with the measured values", async () => {
    await using k = await simResource();
    await using prom = await metricsServer();
    prom.vector("success_rate", [0.99]);
    await k.create(
      PATHS.analysisRuns,
      run("rate", [
        {
          name: "success-rate",
          interval: "10s",
          count: 3,
          successCondition: "result[0] >= 0.95",
          provider: { prometheus: { address: prom.url, query: 'sum(success_rate{app="web"})' } },
        },
      ]),
    );
    await k.sim.settle();
    expect((await k.get(`${PATHS.analysisRuns}/rate`)).status.phase).toBe("Running");
    await k.advance(25_000);
    const done = await k.get(`${PATHS.analysisRuns}/rate`);
    expect(done.status).toMatchObject({
      phase: "Successful",
      runSummary: { count: 1, successful: 1 },
      metricResults: [{ name: "success-rate", phase: "Successful", count: 3, successful: 3 }],
    });
    expect(done.status.metricResults[0].measurements.map((m: Obj) => m.value)).toEqual(["[0.99]", "[0.99]", "[0.99]"]);
    expect(prom.queries).toEqual(Array(3).fill('sum(success_rate{app="web"})'));
  });

  it("fails once failed measurements exceed failureLimit, with upstream's message", async () => {
    await using k = await simResource();
    await using prom = await metricsServer();
    prom.vector("errors", [0.5]);
    await k.create(
      PATHS.analysisRuns,
      run("bad", [
        {
          name: "success-rate",
          interval: "10s",
          count: 5,
          failureLimit: 1,
          successCondition: "result[0] >= 0.95",
          provider: { prometheus: { address: prom.url, query: "errors" } },
        },
      ]),
    );
    await k.advance(30_000);
    const failed = await k.get(`${PATHS.analysisRuns}/bad`);
    expect(failed.status.phase).toBe("Failed");
    expect(failed.status.message).toBe('Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)');
    expect(failed.status.metricResults[0]).toMatchObject({ failed: 2, count: 2 });
  });

  it("web: Inconclusive when neither condition holds, and that ends the run (IsTerminating)", async () => {
    await using k = await simResource();
    await using web = await metricsServer();
    web.json("/health", { data: { score: 5 } });
    await k.create(
      PATHS.analysisRuns,
      run("web", [
        {
          name: "score",
          successCondition: "result > 8",
          failureCondition: "result < 2",
          provider: { web: { url: `${web.url}/health`, jsonPath: "{$.data.score}" } },
        },
        { name: "slow", interval: "1m", provider: { web: { url: `${web.url}/health` } } },
      ]),
    );
    await k.advance(30_000);
    const done = await k.get(`${PATHS.analysisRuns}/web`);
    expect(done.status.metricResults[0]).toMatchObject({ phase: "Inconclusive", inconclusive: 1 });
    expect(done.status.metricResults[0].measurements[0].value).toBe("5");
    expect(done.status.phase).toBe("Inconclusive");
    expect(done.status.message).toBe(
      'Metric "score" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)',
    );
  });

  it("web: errors past consecutiveErrorLimit (retried every 10 s) make the run Error", async () => {
    await using k = await simResource();
    await using web = await metricsServer();
    await k.create(
      PATHS.analysisRuns,
      run("down", [{ name: "down", consecutiveErrorLimit: 1, provider: { web: { url: `${web.url}/missing` } } }]),
    );
    await k.advance(5_000);
    expect((await k.get(`${PATHS.analysisRuns}/down`)).status.phase).toBe("Running");
    await k.advance(10_000);
    const done = await k.get(`${PATHS.analysisRuns}/down`);
    expect(done.status.metricResults[0]).toMatchObject({ phase: "Error", error: 2, consecutiveError: 2 });
    expect(done.status.metricResults[0].measurements[0].message).toBe("received non 2xx response code: 404");
    expect(done.status.phase).toBe("Error");
    expect(done.status.message).toBe(
      'Metric "down" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1): "Error Message: received non 2xx response code: 404"',
    );
  });

  it("dryRun metrics never fail the run but are counted in dryRunSummary", async () => {
    await using k = await simResource();
    await using prom = await metricsServer();
    prom.vector("bad", [0]);
    prom.vector("good", [1]);
    await k.create(
      PATHS.analysisRuns,
      run(
        "dry",
        [
          {
            name: "bad",
            successCondition: "result[0] > 0",
            provider: { prometheus: { address: prom.url, query: "bad" } },
          },
          {
            name: "good",
            successCondition: "result[0] > 0",
            provider: { prometheus: { address: prom.url, query: "good" } },
          },
        ],
        { dryRun: [{ metricName: "bad" }] },
      ),
    );
    await k.advance(1_000);
    const done = await k.get(`${PATHS.analysisRuns}/dry`);
    expect(done.status.phase).toBe("Successful");
    expect(done.status.runSummary).toMatchObject({ count: 1, successful: 1 });
    expect(done.status.dryRunSummary).toMatchObject({ count: 1, failed: 1 });
    expect(done.status.metricResults[0].message).toBe("Metric assessed Failed due to failed (1) > failureLimit (0)");
  });

  it("job: runs a Job through kube-sim's Job controller; Complete is Successful, a failing Job is Failed", async () => {
    await using k = await simResource();
    k.sim.faults.failJobPods({ image: "checker:bad" });
    const job = (image: string) => ({
      job: {
        spec: {
          backoffLimit: 0,
          template: { spec: { restartPolicy: "Never", containers: [{ name: "check", image }] } },
        },
      },
    });
    await k.create(PATHS.analysisRuns, run("jobs", [{ name: "ok", provider: job("checker:good") }]));
    await k.create(PATHS.analysisRuns, run("jobs-bad", [{ name: "ko", provider: job("checker:bad") }]));
    await k.sim.settle();
    const jobs = await k.list(PATHS.jobs);
    expect(jobs).toHaveLength(2);
    const ok = await k.get(`${PATHS.analysisRuns}/jobs`);
    expect(ok.status.metricResults[0].measurements[0]).toMatchObject({
      phase: "Running",
      metadata: { "job-name": `${ok.metadata.uid}.ok.1` },
    });
    await k.advance(10_000);
    expect((await k.get(`${PATHS.analysisRuns}/jobs`)).status.phase).toBe("Successful");
    expect((await k.get(`${PATHS.analysisRuns}/jobs-bad`)).status.phase).toBe("Failed");
  });

  it("serves the upstream ClusterAnalysisTemplate and Experiment CRDs", async () => {
    await using k = await simResource();
    const cat = await k.create(PATHS.clusterAnalysisTemplates, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "ClusterAnalysisTemplate",
      metadata: { name: "success-rate" },
      spec: { metrics: [{ name: "ok", provider: { web: { url: "http://127.0.0.1:1/" } } }] },
    });
    expect(cat.metadata.namespace).toBeUndefined();
    const exp = await k.create("/apis/argoproj.io/v1alpha1/namespaces/default/experiments", {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Experiment",
      metadata: { name: "e" },
      spec: {
        templates: [
          {
            name: "baseline",
            selector: { matchLabels: { app: "e" } },
            template: { metadata: { labels: { app: "e" } }, spec: { containers: [{ name: "c", image: "c:1" }] } },
          },
        ],
      },
    });
    expect(exp.kind).toBe("Experiment");
  });
});
