/**
 * Flagger's metric checks (fluxcd/flagger pkg/controller/scheduler_metrics.go runBuiltinMetricChecks and
 * runMetricChecks) against a real Prometheus HTTP API: the built-in `request-success-rate` and `request-duration`
 * checks (the kubernetes provider's HTTP queries), inline `query`, and MetricTemplates with the `prometheus`
 * provider. Queries are rendered as Flagger renders them and sent as `GET <server>/api/v1/query?query=...`.
 * Each failed check returns the event message Flagger records; the caller counts it as a failed check.
 */
import type { Canary } from "./flagger-model.js";

export const DEFAULT_METRICS_SERVER = "http://prometheus:9090";
const METRIC_INTERVAL = "1m";

export interface CanaryMetric {
  name: string;
  interval?: string;
  threshold?: number;
  thresholdRange?: { min?: number; max?: number };
  query?: string;
  templateRef?: { name: string; namespace?: string };
  templateVariables?: Record<string, string>;
}

export interface MetricTemplate {
  spec?: { provider?: { type?: string; address?: string; insecureSkipVerify?: boolean }; query?: string };
}

export interface MetricsWorld {
  httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }>;
  getMetricTemplate(namespace: string, name: string): Promise<MetricTemplate | undefined>;
}

const HTTP_QUERIES: Record<string, string> = {
  "request-success-rate": `
	sum(
		rate(
			http_request_duration_seconds_count{
				kubernetes_namespace="{{ namespace }}",
				kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",
				status!~"5.*"
			}[{{ interval }}]
		)
	) 
	/ 
	sum(
		rate(
			http_request_duration_seconds_count{
				kubernetes_namespace="{{ namespace }}",
				kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
			}[{{ interval }}]
		)
	) 
	* 100`,
  "request-duration": `
	histogram_quantile(
		0.99,
		sum(
			rate(
				http_request_duration_seconds_bucket{
					kubernetes_namespace="{{ namespace }}",
					kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
				}[{{ interval }}]
			)
		) by (le)
	)`,
};

class NoValuesFound extends Error {}

/** RenderQuery: Flagger's template functions (`namespace`, `name`, `target`, `service`, `ingress`, `interval`, `variables.x`). */
export function renderQuery(query: string, canary: Canary, metric: CanaryMetric): string {
  const target = canary.spec.targetRef.name;
  const service = (canary.spec.service as { name?: string } | undefined)?.name || target;
  const ingress = (canary.spec as { ingressRef?: { name?: string } }).ingressRef?.name || target;
  const model: Record<string, string> = {
    name: canary.metadata.name,
    namespace: canary.metadata.namespace ?? "default",
    target,
    service,
    ingress,
    route: target,
    interval: metric.interval || METRIC_INTERVAL,
  };
  return query.replace(/\{\{\s*([A-Za-z]+)(?:\.([A-Za-z0-9_-]+))?\s*\}\}/g, (whole, fn: string, key?: string) => {
    if (fn === "variables" && key !== undefined) {
      const value = metric.templateVariables?.[key];
      if (value === undefined) throw new Error(`template excution failed: map has no entry for key "${key}"`);
      return value;
    }
    const value = model[fn];
    if (value === undefined) throw new Error(`template parsing failed: function "${fn}" not defined`);
    return whole.includes(".") ? whole : value;
  });
}

/** PrometheusProvider.RunQuery */
export async function runPrometheusQuery(world: MetricsWorld, address: string, query: string): Promise<number> {
  const trimmed = query.replace(/\s+/g, " ");
  const url = `${address.replace(/\/+$/, "")}/api/v1/query?query=${encodeURIComponent(trimmed)}`;
  let res: { status: number; body: string };
  try {
    res = await world.httpGet(url, 5_000);
  } catch (error) {
    throw new Error(`request failed: ${(error as Error).message}`);
  }
  if (res.status >= 400) throw new Error(`error response: Status ${res.status}: ${res.body}`);
  let json: { data?: { result?: Array<{ value?: [number, string]; values?: unknown }> } };
  try {
    json = JSON.parse(res.body);
  } catch (error) {
    throw new Error(`error unmarshaling result: ${(error as Error).message}, '${res.body}'`);
  }
  let value: number | undefined;
  for (const r of json.data?.result ?? []) {
    if (r.values) throw new Error("multiple values returned");
    const text = r.value?.[1];
    if (typeof text === "string") {
      const n = Number(text);
      if (text.trim() === "" || (Number.isNaN(n) && text !== "NaN"))
        throw new Error(`strconv.ParseFloat: parsing "${text}": invalid syntax`);
      value = text === "NaN" ? Number.NaN : n;
    }
  }
  if (value === undefined || Number.isNaN(value)) throw new NoValuesFound("no values found");
  return value;
}

function fmt2(n: number): string {
  return n.toFixed(2);
}

/** Go's time.Duration String for whole and fractional milliseconds (e.g. 500ms, 1.5s). */
function goDuration(ms: number): string {
  if (ms < 1000) return `${Number(ms.toFixed(6))}ms`;
  return `${Number((ms / 1000).toFixed(9))}s`;
}

/** runBuiltinMetricChecks + runMetricChecks: undefined when every check passes, else Flagger's event message. */
export async function runMetricChecks(world: MetricsWorld, canary: Canary): Promise<string | undefined> {
  const metrics = (canary.spec.analysis?.metrics ?? []) as CanaryMetric[];
  if (metrics.length === 0) return undefined;
  const ns = canary.metadata.namespace ?? "default";
  const id = `${canary.metadata.name}.${ns}`;
  const provider = canary.spec.provider || "kubernetes";
  const server = (canary.spec as { metricsServer?: string }).metricsServer || DEFAULT_METRICS_SERVER;
  for (const metric of metrics) {
    const builtin = HTTP_QUERIES[metric.name];
    if (builtin) {
      let val: number;
      try {
        val = await runPrometheusQuery(world, server, renderQuery(builtin, canary, metric));
      } catch (error) {
        if (error instanceof NoValuesFound) {
          return metric.name === "request-success-rate"
            ? `Halt advancement no values found for ${provider} metric ${metric.name} probably ${canary.spec.targetRef.name}.${ns} is not receiving traffic: no values found`
            : `Halt advancement no values found for ${provider} metric ${metric.name} probably ${canary.spec.targetRef.name}.${ns} is not receiving traffic`;
        }
        return `Prometheus query failed: ${(error as Error).message}`;
      }
      const tr = metric.thresholdRange;
      if (metric.name === "request-success-rate") {
        if (tr) {
          if (tr.min !== undefined && val < tr.min)
            return `Halt ${id} advancement success rate ${fmt2(val)}% < ${tr.min}%`;
          if (tr.max !== undefined && val > tr.max)
            return `Halt ${id} advancement success rate ${fmt2(val)}% > ${tr.max}%`;
        } else if ((metric.threshold ?? 0) > val) {
          return `Halt ${id} advancement success rate ${fmt2(val)}% < ${metric.threshold}%`;
        }
      } else {
        const ms = val * 1000;
        if (tr) {
          if (tr.min !== undefined && ms < tr.min)
            return `Halt ${id} advancement request duration ${goDuration(ms)} < ${goDuration(tr.min)}`;
          if (tr.max !== undefined && ms > tr.max)
            return `Halt ${id} advancement request duration ${goDuration(ms)} > ${goDuration(tr.max)}`;
        } else if (ms > (metric.threshold ?? 0)) {
          return `Halt ${id} advancement request duration ${goDuration(ms)} > ${goDuration(metric.threshold ?? 0)}`;
        }
      }
      continue;
    }
    if (metric.query && !metric.templateRef) {
      let val: number;
      try {
        val = await runPrometheusQuery(world, server, metric.query);
      } catch (error) {
        if (error instanceof NoValuesFound) return `Halt advancement no values found for metric: ${metric.name}`;
        return `Prometheus query failed for ${metric.name}: ${(error as Error).message}`;
      }
      const verdict = thresholdVerdict(id, metric, val);
      if (verdict) return verdict;
    }
  }
  for (const metric of metrics) {
    if (metric.templateRef) {
      const tns = metric.templateRef.namespace || ns;
      const template = await world.getMetricTemplate(tns, metric.templateRef.name);
      if (!template)
        return `Metric template ${metric.templateRef.name}.${tns} error: metrictemplate.flagger.app "${metric.templateRef.name}" not found`;
      const type = template.spec?.provider?.type ?? "";
      if (type !== "prometheus")
        return `Metric template ${metric.templateRef.name}.${tns} provider ${type} error: kube-sim runs only the prometheus metric provider`;
      let query: string;
      try {
        query = renderQuery(template.spec?.query ?? "", canary, metric);
      } catch (error) {
        return `Metric template ${metric.templateRef.name}.${tns} query render error: ${(error as Error).message}`;
      }
      let val: number;
      try {
        val = await runPrometheusQuery(world, template.spec?.provider?.address ?? "", query);
      } catch (error) {
        if (error instanceof NoValuesFound)
          return `Halt advancement no values found for custom metric: ${metric.name}: no values found`;
        return `Metric query failed for ${metric.name}: ${(error as Error).message}`;
      }
      const verdict = thresholdVerdict(id, metric, val);
      if (verdict) return verdict;
    } else if (metric.name !== "request-success-rate" && metric.name !== "request-duration" && !metric.query) {
      return "Metric query failed for no usable metrics template and query were configured";
    }
  }
  return undefined;
}

function thresholdVerdict(id: string, metric: CanaryMetric, val: number): string | undefined {
  const tr = metric.thresholdRange;
  if (tr) {
    if (tr.min !== undefined && val < tr.min) return `Halt ${id} advancement ${metric.name} ${fmt2(val)} < ${tr.min}`;
    if (tr.max !== undefined && val > tr.max) return `Halt ${id} advancement ${metric.name} ${fmt2(val)} > ${tr.max}`;
  } else if (val > (metric.threshold ?? 0)) {
    return `Halt ${id} advancement ${metric.name} ${fmt2(val)} > ${metric.threshold ?? 0}`;
  }
  return undefined;
}
