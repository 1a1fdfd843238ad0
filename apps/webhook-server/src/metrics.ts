import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one server instance (its own registry, so tests can run several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: "rollway_http_requests_total",
      help: "HTTP requests by route, method and status code",
      labelNames: ["route", "method", "status"] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: "rollway_http_request_duration_seconds",
      help: "HTTP request duration by route",
      labelNames: ["route"] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    payloadsValidated: new Counter({
      name: "rollway_payloads_validated_total",
      help: "Deploy payloads validated, by result",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
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
