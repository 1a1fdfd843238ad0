// Flagger metric checks against a loopback server speaking Prometheus' /api/v1/query, as in Flagger's
// docs (usage/metrics: MetricTemplate with the prometheus provider, built-in request-success-rate and
// request-duration) and pkg/controller/scheduler_metrics_test.go (a missing template fails the check).
import { describe, expect, it } from "vitest";
import {
  deployment,
  type MetricsServer,
  metricsServer,
  type Obj,
  PATHS,
  podinfoCanary,
  podTemplate,
  type SimResource,
  simResource,
} from "./rollout-test-kit.js";

const INTERVAL_MS = 15_000;

async function setup(k: SimResource, prom: MetricsServer, metrics: Obj[]): Promise<void> {
  await k.create(PATHS.deployments, deployment("podinfo", 1, "podinfo:6.0.0"));
  await k.create(PATHS.metricTemplates, {
    apiVersion: "flagger.app/v1beta1",
    kind: "MetricTemplate",
    metadata: { name: "error-rate" },
    spec: {
      provider: { type: "prometheus", address: prom.url },
      query: 'sum(rate(errors_total{namespace="{{ namespace }}",app="{{ target }}"}[{{ interval }}]))',
    },
  });
  await k.create(PATHS.canaries, podinfoCanary({ iterations: 2, metrics }, { metricsServer: prom.url }));
}

async function phase(k: SimResource, wanted: string): Promise<Obj> {
  return k.until(
    `phase ${wanted}`,
    async () => {
      const c = await k.get(`${PATHS.canaries}/podinfo`);
      return c.status?.phase === wanted ? c : undefined;
    },
    600_000,
    INTERVAL_MS,
  );
}

async function newRevision(k: SimResource): Promise<void> {
  await k.mergePatch(`${PATHS.deployments}/podinfo`, { spec: { template: podTemplate("podinfo", "podinfo:6.0.1") } });
}

async function messages(k: SimResource): Promise<string[]> {
  return (await k.list(PATHS.events)).map((e: Obj) => e.message as string);
}

describe("Flagger metric checks", () => {
  it("a MetricTemplate (prometheus) under its threshold lets the canary promote; the query is rendered", async () => {
    await using k = await simResource();
    await using prom = await metricsServer();
    prom.vector("errors_total", [0.5]);
    await setup(k, prom, [
      { name: "error-rate", templateRef: { name: "error-rate" }, thresholdRange: { max: 1 }, interval: "1m" },
    ]);
    await phase(k, "Initialized");
    await newRevision(k);
    await phase(k, "Succeeded");
    expect(prom.queries).toContain('sum(rate(errors_total{namespace="default",app="podinfo"}[1m]))');
  });

  it("a MetricTemplate over its threshold halts each tick and fails the canary after threshold checks", async () => {
    await using k = await simResource();
    await using prom = await metricsServer();
    prom.vector("errors_total", [5]);
    await setup(k, prom, [{ name: "error-rate", templateRef: { name: "error-rate" }, thresholdRange: { max: 1 } }]);
    await phase(k, "Initialized");
    await newRevision(k);
    await phase(k, "Failed");
    expect(await messages(k)).toContain("Halt podinfo.default advancement error-rate 5.00 > 1");
    expect((await k.get(`${PATHS.deployments}/podinfo-primary`)).spec.template.spec.containers[0].image).toBe(
      "podinfo:6.0.0",
    );
  });

  it("a missing MetricTemplate fails the check (it never passes)", async () => {
    await using k = await simResource();
    await using prom = await metricsServer();
    await setup(k, prom, [{ name: "missing", templateRef: { name: "not-there" }, threshold: 1 }]);
    await phase(k, "Initialized");
    await newRevision(k);
    await phase(k, "Failed");
    expect(await messages(k)).toContain(
      'Metric template not-there.default error: metrictemplate.flagger.app "not-there" not found',
    );
  });

  it("built-in request-success-rate and request-duration query spec.metricsServer and judge the values", async () => {
    await using k = await simResource();
    await using prom = await metricsServer();
    prom.vector("http_request_duration_seconds_count", [99.5]);
    prom.vector("http_request_duration_seconds_bucket", [0.7]);
    await setup(k, prom, [
      { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" },
      { name: "request-duration", thresholdRange: { max: 500 }, interval: "1m" },
    ]);
    await phase(k, "Initialized");
    await newRevision(k);
    await phase(k, "Failed");
    expect(await messages(k)).toContain("Halt podinfo.default advancement request duration 700ms > 500ms");
    expect(prom.queries.some((q) => q.includes('kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"'))).toBe(
      true,
    );
  });

  it("no values for a built-in check halts with Flagger's 'not receiving traffic' message", async () => {
    await using k = await simResource();
    await using prom = await metricsServer();
    prom.vector("http_request_duration_seconds_count", []);
    await setup(k, prom, [{ name: "request-success-rate", thresholdRange: { min: 99 } }]);
    await phase(k, "Initialized");
    await newRevision(k);
    await phase(k, "Failed");
    expect(await messages(k)).toContain(
      "Halt advancement no values found for kubernetes metric request-success-rate probably podinfo.default is not receiving traffic: no values found",
    );
  });
});
