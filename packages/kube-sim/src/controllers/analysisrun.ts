/**
 * The Argo Rollouts AnalysisRun controller (argoproj/argo-rollouts analysis/analysis.go), with the providers that
 * can run for real here: `web` (HTTP to the address the metric names), `prometheus` (the `/api/v1/query` HTTP API)
 * and `job` (a batch/v1 Job run by kube-sim's Job controller). Measurements are taken on the simulator's clock
 * (`count`, `interval`, `initialDelay`, errors retried after 10 s), judged by `successCondition`/`failureCondition`
 * (see analysis-condition.ts), and rolled up with upstream's `failureLimit`, `inconclusiveLimit`,
 * `consecutiveErrorLimit` and `dryRun` rules into the run's phase, message and summaries.
 */
import type { KubeObject } from "../crds.js";
import type { ResourceType } from "../resources.js";
import { evaluateResult, type MeasurementPhase } from "./analysis-condition.js";
import { durationSeconds } from "./argo-rollout-status.js";
import { type ControllerContext, defineController } from "./runtime.js";
import { controllerRefTo } from "./workload.js";

const ANALYSIS_RUN = { apiVersion: "argoproj.io/v1alpha1", kind: "AnalysisRun" };
const JOB = { apiVersion: "batch/v1", kind: "Job" };

export const DEFAULT_ERROR_RETRY_INTERVAL_MS = 10_000;
export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;
const ANALYSIS_RUN_UID_LABEL = "analysisrun.argoproj.io/uid";
const ANALYSIS_RUN_NAME_ANNOTATION = "analysisrun.argoproj.io/name";
const ANALYSIS_RUN_METRIC_ANNOTATION = "analysisrun.argoproj.io/metric-name";

export type AnalysisPhase = "Pending" | "Running" | MeasurementPhase;

export interface Metric {
  name: string;
  interval?: string;
  initialDelay?: string;
  count?: number | string;
  successCondition?: string;
  failureCondition?: string;
  failureLimit?: number | string;
  inconclusiveLimit?: number | string;
  consecutiveErrorLimit?: number | string;
  provider: {
    web?: {
      url: string;
      method?: string;
      headers?: Array<{ key: string; value: string }>;
      body?: string;
      timeoutSeconds?: number;
      jsonPath?: string;
    };
    prometheus?: { address?: string; query: string; timeout?: number };
    job?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: KubeObject };
    [other: string]: unknown;
  };
}

export interface Measurement {
  phase: AnalysisPhase;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  resumeAt?: string;
  value?: string;
  metadata?: Record<string, string>;
}

export interface MetricResult {
  name: string;
  dryRun?: boolean;
  phase: AnalysisPhase;
  measurements?: Measurement[];
  message?: string;
  count?: number;
  successful?: number;
  failed?: number;
  inconclusive?: number;
  error?: number;
  consecutiveError?: number;
  consecutiveSuccess?: number;
}

export interface RunSummary {
  count?: number;
  successful?: number;
  failed?: number;
  inconclusive?: number;
  error?: number;
}

export interface AnalysisRunStatus {
  phase?: AnalysisPhase;
  message?: string;
  startedAt?: string;
  completedAt?: string;
  metricResults?: MetricResult[];
  runSummary?: RunSummary;
  dryRunSummary?: RunSummary;
}

export interface AnalysisRun extends KubeObject {
  spec: {
    metrics: Metric[];
    args?: Array<{ name: string; value?: string }>;
    terminate?: boolean;
    dryRun?: Array<{ metricName: string }>;
  };
  status?: AnalysisRunStatus;
}

export function isCompleted(phase: string | undefined): phase is MeasurementPhase {
  return phase === "Successful" || phase === "Failed" || phase === "Error" || phase === "Inconclusive";
}

const WORSE: Record<string, number> = { Successful: 0, Inconclusive: 1, Error: 2, Failed: 3 };

function kubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function intOf(value: number | string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = typeof value === "number" ? value : Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : fallback;
}

/** Metric.EffectiveCount: the count, or 1 when neither count nor interval is set; undefined runs forever. */
function effectiveCount(metric: Metric): number | undefined {
  if (metric.count === undefined || metric.count === "" || metric.count === 0) {
    return metric.interval ? undefined : 1;
  }
  return intOf(metric.count, 1);
}

function intervalMs(text: string | undefined): number | undefined {
  const seconds = durationSeconds(text);
  return seconds === undefined ? undefined : seconds * 1000;
}

// ---------------------------------------------------------------------------------------------- providers

interface Taken {
  phase: AnalysisPhase;
  value?: string;
  message?: string;
  metadata?: Record<string, string>;
}

/** A tiny JSONPath for the web provider's `jsonPath` (`{$.data.ok}`, `{$.items[0].value}`). */
export function jsonPathValue(document: unknown, path: string): unknown {
  let expr = path.trim();
  if (expr.startsWith("{") && expr.endsWith("}")) expr = expr.slice(1, -1).trim();
  if (expr === "$" || expr === "") return document;
  if (!expr.startsWith("$")) throw new Error(`jsonPath ${path} must start with $`);
  let current: unknown = document;
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']+)'\]|\["([^"]+)"\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < expr.length) {
    const m = re.exec(expr);
    if (!m) throw new Error(`unsupported jsonPath ${path}`);
    const key = m[1] ?? m[3] ?? m[4];
    if (key !== undefined) {
      if (!current || typeof current !== "object" || !(key in current)) throw new Error(`${key} is not found`);
      current = (current as Record<string, unknown>)[key];
    } else {
      const index = Number(m[2]);
      if (!Array.isArray(current) || index >= current.length)
        throw new Error(`array index out of bounds: index ${index}`);
      current = current[index];
    }
  }
  return current;
}

function valueString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

async function measureWeb(metric: Metric, signal: AbortSignal): Promise<Taken> {
  const web = metric.provider.web;
  if (!web) throw new Error("no web provider");
  const headers: Record<string, string> = {};
  for (const h of web.headers ?? []) headers[h.key] = h.value;
  const timeoutMs = (web.timeoutSeconds ?? 10) * 1000;
  const res = await fetch(web.url, {
    method: web.method ?? "GET",
    headers,
    body: web.body,
    signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
  });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300)
    return { phase: "Error", message: `received non 2xx response code: ${res.status}` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { phase: "Error", message: `could not parse JSON body: ${text.slice(0, 100)}` };
  }
  let result: unknown;
  try {
    result = jsonPathValue(doc, web.jsonPath ?? "{$}");
  } catch (error) {
    return { phase: "Error", message: (error as Error).message };
  }
  const judged = evaluateResult(result, metric);
  return { phase: judged.phase, value: valueString(result), message: judged.error };
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64) for the value strings Prometheus samples print as. */
function sampleString(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

function parseSample(text: unknown): number {
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Queries Prometheus' HTTP API as client_golang does (POST form to /api/v1/query) and reads the value. */
export async function queryPrometheus(
  address: string,
  query: string,
  timeMs: number,
  signal: AbortSignal,
): Promise<{ kind: "scalar"; value: number } | { kind: "vector"; values: number[] }> {
  const url = `${address.replace(/\/+$/, "")}/api/v1/query`;
  const body = new URLSearchParams({ query, time: String(timeMs / 1000) });
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
    signal,
  });
  const text = await res.text();
  let json: { status?: string; errorType?: string; error?: string; data?: { resultType?: string; result?: unknown } };
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`server_error: server error: ${res.status}`);
  }
  if (json.status !== "success")
    throw new Error(`${json.errorType ?? "server_error"}: ${json.error ?? `status ${res.status}`}`);
  const data = json.data ?? {};
  if (data.resultType === "scalar") {
    const pair = data.result as [number, string];
    return { kind: "scalar", value: parseSample(pair[1]) };
  }
  if (data.resultType === "vector") {
    return {
      kind: "vector",
      values: (data.result as Array<{ value: [number, string] }>).map((s) => parseSample(s.value[1])),
    };
  }
  if (data.resultType === "matrix") {
    return {
      kind: "vector",
      values: (data.result as Array<{ values: Array<[number, string]> }>).flatMap((s) =>
        s.values.map((v) => parseSample(v[1])),
      ),
    };
  }
  throw new Error("Prometheus metric type not supported");
}

async function measurePrometheus(metric: Metric, nowMs: number, signal: AbortSignal): Promise<Taken> {
  const prom = metric.provider.prometheus;
  if (!prom?.address) return { phase: "Error", message: "prometheus address is not configured" };
  const timeoutMs = (prom.timeout ?? 30) * 1000;
  const response = await queryPrometheus(
    prom.address,
    prom.query,
    nowMs,
    AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
  );
  if (response.kind === "scalar") {
    const judged = evaluateResult(response.value, metric);
    return { phase: judged.phase, value: sampleString(response.value), message: judged.error };
  }
  const judged = evaluateResult(response.values, metric);
  return { phase: judged.phase, value: `[${response.values.map(sampleString).join(",")}]`, message: judged.error };
}

// ---------------------------------------------------------------------------------------------- the controller

function typeOf(ctx: ControllerContext, ref: { apiVersion: string; kind: string }): ResourceType {
  const type = ctx.store.types.byKind(ref.apiVersion, ref.kind);
  if (!type) throw new Error(`kube-sim has no ${ref.kind} (${ref.apiVersion}) type: is its CRD installed?`);
  return type;
}

function dryRunNames(run: AnalysisRun): (name: string) => boolean {
  const patterns = (run.spec.dryRun ?? []).map((d) => {
    if (d.metricName === "*") return /.*/;
    try {
      return new RegExp(`^(?:${d.metricName})$`);
    } catch {
      return new RegExp(`^${d.metricName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
    }
  });
  return (name) => patterns.some((p) => p.test(name));
}

/** assessMetricFailureInconclusiveOrError */
function failureInconclusiveOrError(metric: Metric, r: MetricResult): { phase?: AnalysisPhase; message?: string } {
  let out: { phase?: AnalysisPhase; message?: string } = {};
  const failureLimit = intOf(metric.failureLimit, 0);
  if (failureLimit >= 0 && (r.failed ?? 0) > failureLimit)
    out = { phase: "Failed", message: `failed (${r.failed}) > failureLimit (${failureLimit})` };
  const inconclusiveLimit = intOf(metric.inconclusiveLimit, 0);
  if ((r.inconclusive ?? 0) > inconclusiveLimit)
    out = {
      phase: "Inconclusive",
      message: `inconclusive (${r.inconclusive}) > inconclusiveLimit (${inconclusiveLimit})`,
    };
  const errorLimit = intOf(metric.consecutiveErrorLimit, DEFAULT_CONSECUTIVE_ERROR_LIMIT);
  if ((r.consecutiveError ?? 0) > errorLimit)
    out = {
      phase: "Error",
      message: `consecutiveErrors (${r.consecutiveError}) > consecutiveErrorLimit (${errorLimit})`,
    };
  return out;
}

/** assessMetricStatus (without consecutiveSuccessLimit) */
function assessMetric(metric: Metric, r: MetricResult, terminating: boolean): AnalysisPhase {
  if (isCompleted(r.phase)) return r.phase;
  const measurements = r.measurements ?? [];
  const last = measurements[measurements.length - 1];
  if (!last) return terminating ? "Successful" : "Pending";
  if (!isCompleted(last.phase)) return "Running";
  const bad = failureInconclusiveOrError(metric, r);
  if (bad.phase) return bad.phase;
  const count = effectiveCount(metric);
  if (count !== undefined && (r.count ?? 0) >= count) return "Successful";
  return terminating ? "Successful" : "Running";
}

/** The counter of a metric's result that each completed measurement phase adds to. */
const TALLY: Record<MeasurementPhase, "successful" | "failed" | "inconclusive" | "error"> = {
  Successful: "successful",
  Failed: "failed",
  Inconclusive: "inconclusive",
  Error: "error",
};

/**
 * Counts a completed measurement into its metric's result: an error counts only as an error (and one more in a
 * row); any other phase counts once more and ends a run of errors; only a success adds to the run of successes.
 */
function record(r: MetricResult, m: Measurement): void {
  if (!isCompleted(m.phase)) return;
  const tally = TALLY[m.phase];
  r[tally] = (r[tally] ?? 0) + 1;
  if (m.phase === "Error") r.consecutiveError = (r.consecutiveError ?? 0) + 1;
  else {
    r.count = (r.count ?? 0) + 1;
    r.consecutiveError = 0;
  }
  r.consecutiveSuccess = m.phase === "Successful" ? (r.consecutiveSuccess ?? 0) + 1 : 0;
}

function jobName(run: AnalysisRun, metric: Metric, id: number): string {
  return `${run.metadata.uid}.${metric.name}.${id}`;
}

/** Starts or checks a `job` measurement: Running while the Job runs, then Successful or Failed as the Job ends. */
function measureJob(
  ctx: ControllerContext,
  run: AnalysisRun,
  metric: Metric,
  last: Measurement | undefined,
  id: number,
): Taken {
  const jobs = typeOf(ctx, JOB);
  const ns = run.metadata.namespace ?? "default";
  const running = last && !isCompleted(last.phase) ? last.metadata?.["job-name"] : undefined;
  if (!running) {
    const spec = metric.provider.job;
    if (!spec) throw new Error("no job provider");
    const name = jobName(run, metric, id);
    const template = structuredClone(spec.spec) as Record<string, Record<string, Record<string, unknown>>>;
    template.template ??= {};
    template.template.metadata ??= {};
    template.template.metadata.labels = {
      ...((template.template.metadata.labels as Record<string, string> | undefined) ?? {}),
      [ANALYSIS_RUN_UID_LABEL]: run.metadata.uid as string,
    };
    if (!ctx.store.peek(jobs, ns, name)) {
      ctx.store.create(jobs, ns, {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
          name,
          namespace: ns,
          labels: { ...(spec.metadata?.labels ?? {}), [ANALYSIS_RUN_UID_LABEL]: run.metadata.uid as string },
          annotations: {
            ...(spec.metadata?.annotations ?? {}),
            [ANALYSIS_RUN_NAME_ANNOTATION]: run.metadata.name as string,
            [ANALYSIS_RUN_METRIC_ANNOTATION]: metric.name,
          },
          ownerReferences: [
            controllerRefTo(
              ANALYSIS_RUN.apiVersion,
              ANALYSIS_RUN.kind,
              run.metadata.name as string,
              run.metadata.uid as string,
            ),
          ],
        },
        spec: template,
      });
    }
    return { phase: "Running", metadata: { "job-name": name, "job-namespace": ns } };
  }
  const job = ctx.store.peek(jobs, ns, running);
  if (!job) return { phase: "Error", message: `jobs.batch "${running}" not found`, metadata: last?.metadata };
  const conditions = (
    (job.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []
  ).filter((c) => c.status === "True");
  if (conditions.some((c) => c.type === "Failed")) return { phase: "Failed", metadata: last?.metadata };
  if (conditions.some((c) => c.type === "Complete")) return { phase: "Successful", metadata: last?.metadata };
  return { phase: "Running", metadata: last?.metadata };
}

/** One reconcile of an AnalysisRun: takes the measurements that are due, then assesses the run. */
export async function reconcileAnalysisRun(ctx: ControllerContext, stored: AnalysisRun): Promise<number | undefined> {
  const run = structuredClone(stored);
  const status: AnalysisRunStatus = structuredClone(run.status ?? {});
  if (isCompleted(status.phase)) return undefined;
  const now = ctx.clock.now();
  status.startedAt ??= kubeTime(now);
  const metrics = run.spec.metrics ?? [];
  const isDry = dryRunNames(run);
  const results = new Map((status.metricResults ?? []).map((r) => [r.name, r]));
  // IsTerminating: asked to, or a metric (not a dry-run one) already ended Failed, Error or Inconclusive.
  const terminating =
    !!run.spec.terminate ||
    [...results.values()].some(
      (r) => !isDry(r.name) && (r.phase === "Failed" || r.phase === "Error" || r.phase === "Inconclusive"),
    );
  let next: number | undefined;
  const wake = (at: number) => {
    if (next === undefined || at < next) next = at;
  };
  const controller = new AbortController();

  for (const metric of metrics) {
    let r = results.get(metric.name);
    if (r && isCompleted(r.phase)) continue;
    const measurements = r?.measurements ?? [];
    const last = measurements[measurements.length - 1];
    const inFlight = last && !isCompleted(last.phase);
    if (!inFlight && terminating) continue;
    if (!last) {
      const delay = intervalMs(metric.initialDelay);
      if (delay && Date.parse(status.startedAt) + delay > now) {
        wake(Date.parse(status.startedAt) + delay);
        continue;
      }
    } else if (!inFlight) {
      const count = effectiveCount(metric);
      if (count !== undefined && (r?.count ?? 0) >= count) continue;
      const every = last.phase === "Error" ? DEFAULT_ERROR_RETRY_INTERVAL_MS : (intervalMs(metric.interval) ?? 0);
      const due = Date.parse(last.finishedAt ?? status.startedAt) + every;
      if (due > now) {
        wake(due);
        continue;
      }
    }
    r ??= { name: metric.name, phase: "Running", ...(isDry(metric.name) ? { dryRun: true } : {}) };
    const startedAt = inFlight ? (last.startedAt ?? kubeTime(now)) : kubeTime(now);
    let taken: Taken;
    try {
      if (metric.provider.web) taken = await measureWeb(metric, controller.signal);
      else if (metric.provider.prometheus) taken = await measurePrometheus(metric, now, controller.signal);
      else if (metric.provider.job)
        taken = measureJob(ctx, run, metric, inFlight ? last : undefined, (r.count ?? 0) + (r.error ?? 0) + 1);
      else {
        const kind = Object.keys(metric.provider)[0] ?? "none";
        taken = {
          phase: "Error",
          message: `kube-sim does not run the ${kind} metric provider (it runs web, prometheus and job)`,
        };
      }
    } catch (error) {
      taken = { phase: "Error", message: (error as Error).message };
    }
    const measurement: Measurement = { phase: taken.phase, startedAt };
    if (taken.value !== undefined) measurement.value = taken.value;
    if (taken.message) measurement.message = taken.message;
    if (taken.metadata) measurement.metadata = taken.metadata;
    if (isCompleted(taken.phase)) {
      measurement.finishedAt = kubeTime(ctx.clock.now());
      record(r, measurement);
    }
    r.measurements = inFlight ? [...measurements.slice(0, -1), measurement] : [...measurements, measurement];
    results.set(metric.name, r);
  }

  // assessRunStatus
  let worst: AnalysisPhase | undefined;
  let worstMessage = terminating ? "Run Terminated" : "";
  let everythingCompleted = true;
  const summary: Required<RunSummary> = { count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0 };
  const drySummary: Required<RunSummary> = { count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0 };
  for (const metric of metrics) {
    const dry = isDry(metric.name);
    if (dry) drySummary.count++;
    else summary.count++;
    const r = results.get(metric.name);
    if (!r) {
      everythingCompleted = false;
      continue;
    }
    const phase = assessMetric(metric, r, terminating);
    if (r.phase !== phase) {
      const last = r.measurements?.[r.measurements.length - 1];
      if (isCompleted(phase)) {
        ctx.recordEvent(
          stored,
          phase === "Error" || phase === "Failed" ? "Warning" : "Normal",
          `Metric${phase}`,
          `Metric '${metric.name}' Completed. Result: ${phase}`,
          "rollouts-controller",
        );
      }
      if (last?.message) r.message = last.message;
      r.phase = phase;
    }
    if (!isCompleted(phase)) {
      everythingCompleted = false;
      continue;
    }
    const bad = failureInconclusiveOrError(metric, r);
    const target = dry ? drySummary : summary;
    const bucket = (bad.phase ?? "Successful").toLowerCase() as "successful" | "failed" | "inconclusive" | "error";
    target[bucket]++;
    if (dry) {
      worst ??= "Successful";
      if (bad.message) r.message = `Metric assessed ${phase} due to ${bad.message}`;
      continue;
    }
    if (worst === undefined || (WORSE[phase] ?? 0) > (WORSE[worst] ?? 0)) {
      worst = phase;
      if (bad.message) {
        worstMessage = `Metric "${metric.name}" assessed ${phase} due to ${bad.message}`;
        if (r.message) worstMessage += `: "Error Message: ${r.message}"`;
      }
    }
  }
  status.metricResults = metrics.flatMap((m) => {
    const r = results.get(m.name);
    return r ? [r] : [];
  });
  status.runSummary = summary;
  status.dryRunSummary = drySummary;
  let runPhase: AnalysisPhase;
  let message = worstMessage.trim();
  if (terminating) runPhase = worst ?? "Successful";
  else if (!everythingCompleted || worst === undefined) {
    runPhase = "Running";
    message = "";
  } else runPhase = worst;
  status.phase = runPhase;
  if (message) status.message = message;
  else delete status.message;
  if (isCompleted(runPhase)) status.completedAt ??= kubeTime(ctx.clock.now());

  const type = typeOf(ctx, ANALYSIS_RUN);
  const ns = stored.metadata.namespace;
  const current = ctx.store.peek(type, ns, stored.metadata.name as string);
  if (!current || current.metadata.uid !== stored.metadata.uid) return undefined;
  ctx.store.patch(
    type,
    ns,
    stored.metadata.name as string,
    "merge",
    { status: { ...status, message: status.message ?? null } },
    {
      subresource: "status",
    },
  );
  if (isCompleted(runPhase)) return undefined;
  return next === undefined ? undefined : Math.max(0, next - ctx.clock.now());
}

export const analysisRunController = defineController({
  name: "analysisrun",
  for: ANALYSIS_RUN,
  owns: [JOB],
  async reconcile(ctx, key) {
    const type = ctx.store.types.byKind(ANALYSIS_RUN.apiVersion, ANALYSIS_RUN.kind);
    if (!type) return undefined;
    const stored = ctx.store.peek(type, key.namespace, key.name) as AnalysisRun | undefined;
    if (!stored || stored.metadata.deletionTimestamp) return undefined;
    const after = await reconcileAnalysisRun(ctx, stored);
    return after === undefined ? undefined : { requeueAfterMs: after };
  },
});
