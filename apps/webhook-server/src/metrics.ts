import {
  Counter,
  collectDefaultMetrics,
  Histogram,
  type MetricObjectWithValues,
  type MetricValueWithName,
  Registry,
} from "prom-client";

/**
 * The per-request metrics are counted in plain numbers and handed to prom-client when /metrics is read: prom-client
 * hashes the label set on every `inc` and `observe`, a labelled child's too, and turns each bucket bound into a string
 * to find it (about 2 µs per dry run for its three calls, a thirtieth of the dry run's CPU). What /metrics shows is
 * the same, byte for byte (metrics.test.ts compares with prom-client's own Histogram and Counter).
 */

/** A Counter whose increments are kept apart per label set and added to it when the registry reads it. */
function pendingCounter<L extends string>(counter: Counter<L>, labels: Record<L, string>): () => void {
  let pending = 0;
  let listed = false;
  const flush = () => {
    if (pending === 0) return;
    counter.inc(labels, pending);
    pending = 0;
  };
  return () => {
    // Listed at the first increment, so label sets come out in the order prom-client would show them.
    if (!listed) {
      listed = true;
      flushes.get(counter)?.push(flush);
    }
    pending++;
  };
}
const flushes = new WeakMap<Counter<string>, (() => void)[]>();

/** A Counter whose `collect` (run by the registry before each read) adds the pending increments. */
function counter<L extends string>(config: {
  name: string;
  help: string;
  labelNames: readonly L[];
  registry: Registry;
}) {
  const made: Counter<L> = new Counter<L>({
    name: config.name,
    help: config.help,
    labelNames: config.labelNames,
    registers: [config.registry],
    collect() {
      for (const flush of flushes.get(made) ?? []) flush();
    },
  });
  flushes.set(made, []);
  return made;
}

interface RouteCounts {
  route: string;
  /** Observations per bucket (not cumulative), as prom-client keeps them; beyond the last bound: only in `count`. */
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * A Histogram with one label, `route`, observed through `observer(route)`: plain arithmetic per observation. Its values
 * are made as prom-client's Histogram makes them (same order, labels, names), from these counts.
 */
export class RouteHistogram extends Histogram<"route"> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  // Not a #private field: prom-client's constructor calls reset() before this class's fields exist.
  private routes = new Map<string, RouteCounts>();

  constructor(config: { name: string; help: string; buckets: readonly number[]; registry: Registry }) {
    super({
      name: config.name,
      help: config.help,
      labelNames: ["route"],
      buckets: [...config.buckets],
      registers: [config.registry],
    });
    this.#name = config.name;
    this.#help = config.help;
    this.#bounds = [...config.buckets];
  }

  /** Records one observation (seconds) of `route`; the label set appears in /metrics from its first observation on. */
  observer(route: string): (value: number) => void {
    const bounds = this.#bounds;
    let counts: RouteCounts | undefined;
    return (value) => {
      if (!counts || this.routes.get(route) !== counts) {
        counts = this.routes.get(route);
        if (!counts) {
          counts = { route, buckets: bounds.map(() => 0), sum: 0, count: 0 };
          this.routes.set(route, counts);
        }
      }
      counts.sum += value;
      counts.count += 1;
      for (let i = 0; i < bounds.length; i++) {
        if (value <= (bounds[i] as number)) {
          (counts.buckets as number[])[i] = (counts.buckets[i] as number) + 1;
          break;
        }
      }
    };
  }

  /** What the registry reads for the text format (prom-client's Histogram has it too, untyped). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<"route">>> {
    const name = this.#name;
    const values: MetricValueWithName<"route">[] = [];
    for (const counts of this.routes.values()) {
      const shared = { route: counts.route };
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += counts.buckets[i] as number;
        values.push(value({ le: bound }, cumulative, `${name}_bucket`, null, shared));
      });
      values.push(
        value({ le: "+Inf" }, counts.count, `${name}_bucket`, null, shared),
        value({}, counts.sum, `${name}_sum`, undefined, shared),
        value({}, counts.count, `${name}_count`, undefined, shared),
      );
    }
    return {
      name,
      help: this.#help,
      type: "histogram",
      values,
      aggregator: "sum",
    } as unknown as MetricObjectWithValues<MetricValueWithName<"route">>;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<"route">>> {
    const data = await this.getForPromString();
    data.values = data.values.map((v) => {
      const { sharedLabels, labels, ...rest } = v as typeof v & { sharedLabels: Record<string, string> };
      return { ...rest, labels: { ...labels, ...sharedLabels } };
    });
    return data;
  }

  override reset(): void {
    this.routes = new Map();
  }
}

/** One value as prom-client's Histogram exports it (`setValuePair`): the registry reads `sharedLabels` too. */
const value = (
  labels: Record<string, string | number>,
  v: number,
  metricName: string,
  exemplar: null | undefined,
  sharedLabels: Record<string, string>,
) => ({ labels, sharedLabels, value: v, metricName, exemplar }) as MetricValueWithName<"route">;

/** Prometheus metrics of one server instance (its own registry, so tests can run several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = counter({
    name: "rollway_http_requests_total",
    help: "HTTP requests by route, method and status code",
    labelNames: ["route", "method", "status"] as const,
    registry,
  });
  const requestDuration = new RouteHistogram({
    name: "rollway_http_request_duration_seconds",
    help: "HTTP request duration by route",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registry,
  });
  const payloadsValidated = counter({
    name: "rollway_payloads_validated_total",
    help: "Deploy payloads validated, by result",
    labelNames: ["result"] as const,
    registry,
  });
  return {
    registry,
    /** The counting function of one route, method and status: the request counter and the duration histogram. */
    requestCounter(route: string, method: string, status: number): (seconds: number) => void {
      const count = pendingCounter(requests, { route, method, status: String(status) });
      const observe = requestDuration.observer(route);
      return (seconds) => {
        count();
        observe(seconds);
      };
    },
    /** Counts one validated payload, by result. */
    payloadValidated: {
      valid: pendingCounter(payloadsValidated, { result: "valid" }),
      invalid: pendingCounter(payloadsValidated, { result: "invalid" }),
    },
    releases: new Counter({
      name: "rollway_releases_total",
      help: "Releases this replica ran to an end, by outcome (promoted, failed, aborted, locked, invalid)",
      labelNames: ["environment", "outcome"] as const,
      registers: [registry],
    }),
    timeToPromote: new Histogram({
      name: "rollway_release_time_to_promote_seconds",
      help: "From the start of a release to its promotion",
      labelNames: ["environment"] as const,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
