import fc from "fast-check";
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.js";

const NAMES = [
  "rollway_http_requests_total",
  "rollway_http_request_duration_seconds",
  "rollway_payloads_validated_total",
];

/** The same three metrics, written the plain prom-client way, one `inc`/`observe` per event. */
function reference() {
  const registry = new Registry();
  const requests = new Counter({
    name: NAMES[0] as string,
    help: "HTTP requests by route, method and status code",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: NAMES[1] as string,
    help: "HTTP request duration by route",
    labelNames: ["route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const validated = new Counter({
    name: NAMES[2] as string,
    help: "Deploy payloads validated, by result",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  return { registry, requests, duration, validated };
}

type Event =
  | { kind: "request"; route: string; method: string; status: number; seconds: number }
  | { kind: "validated"; valid: boolean }
  | { kind: "read" };

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({
    kind: fc.constant("request" as const),
    route: fc.constantFrom("/v1/projects/:project/environments/:environment/validate", "/healthz", "/metrics"),
    method: fc.constantFrom("GET", "POST"),
    status: fc.constantFrom(200, 400, 401, 503),
    // Bucket bounds exactly, around them, beyond the last, and any small duration.
    seconds: fc.oneof(
      fc.constantFrom(0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 5.000001, 60),
      fc.double({ min: 0, max: 10, noNaN: true }),
    ),
  }),
  fc.record({ kind: fc.constant("validated" as const), valid: fc.boolean() }),
  fc.constant({ kind: "read" as const }),
);

describe("the per-request metrics", () => {
  it("read the same as prom-client's own Counter and Histogram, text and JSON, at every read (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 60 }), async (events) => {
        const ours = createMetrics();
        const theirs = reference();
        const counters = new Map<string, (seconds: number) => void>();
        const compare = async () => {
          for (const name of NAMES)
            expect(await ours.registry.getSingleMetricAsString(name)).toBe(
              await theirs.registry.getSingleMetricAsString(name),
            );
          const json = async (r: Registry) => (await r.getMetricsAsJSON()).filter((m) => NAMES.includes(m.name));
          expect(await json(ours.registry)).toEqual(await json(theirs.registry));
        };
        for (const e of [...events, { kind: "read" } as const]) {
          if (e.kind === "request") {
            const key = `${e.route} ${e.method} ${e.status}`;
            let count = counters.get(key);
            if (!count) {
              count = ours.requestCounter(e.route, e.method, e.status);
              counters.set(key, count);
            }
            count(e.seconds);
            theirs.requests.inc({ route: e.route, method: e.method, status: String(e.status) });
            theirs.duration.observe({ route: e.route }, e.seconds);
          } else if (e.kind === "validated") {
            (e.valid ? ours.payloadValidated.valid : ours.payloadValidated.invalid)();
            theirs.validated.inc({ result: e.valid ? "valid" : "invalid" });
          } else await compare();
        }
      }),
      { numRuns: 200 },
    );
  });

  it("keep prom-client's default metrics (names checked on /metrics)", async () => {
    const text = await createMetrics().registry.metrics();
    for (const name of [
      "process_cpu_seconds_total",
      "nodejs_eventloop_lag_seconds",
      "nodejs_eventloop_lag_p99_seconds",
      "nodejs_gc_duration_seconds",
      "nodejs_heap_size_used_bytes",
    ])
      expect(text).toContain(`# TYPE ${name} `);
  });
});
