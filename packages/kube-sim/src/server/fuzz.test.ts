// The server is fed by the network: whatever path, method, content type and body arrive, it answers with a
// well-formed response, never a 500, and every failure is a Status object whose code is the HTTP status.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";

const segment = fc.oneof(
  fc.constantFrom(
    "api",
    "apis",
    "v1",
    "apps",
    "namespaces",
    "default",
    "deployments",
    "pods",
    "configmaps",
    "status",
    "scale",
    "log",
    "watch",
    "argoproj.io",
    "v1alpha1",
    "rollouts",
    "x",
  ),
  fc.string({ maxLength: 6 }).map(encodeURIComponent),
  fc.constant("%E0%A4%A"),
);
const path = fc.array(segment, { minLength: 0, maxLength: 7 }).map((parts) => `/${parts.join("/")}`);
const query = fc.constantFrom(
  "",
  "?watch=true&timeoutSeconds=1",
  "?labelSelector=a%3D%3D%3D",
  "?fieldSelector=x",
  "?limit=-1",
  "?continue=zzz",
  "?dryRun=Bad",
  "?fieldValidation=Loud",
  "?resourceVersion=abc&watch=1",
);
const method = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE");
const contentType = fc.constantFrom(
  "application/json",
  "application/merge-patch+json",
  "application/json-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
  "application/yaml",
  "text/plain",
  "application/vnd.kubernetes.protobuf",
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
  fc.constant(JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: { a: "1" } })),
  fc.constant(JSON.stringify([{ op: "replace", path: "/spec/replicas", value: 2 }])),
);

describe("HTTP server under arbitrary requests", () => {
  it("never answers 500 and always sends a Status object for failures (property)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    await fc.assert(
      fc.asyncProperty(method, path, query, contentType, body, async (m, p, q, ct, b) => {
        const sendsBody = m !== "GET" && b !== undefined;
        const res = await fetch(`${sim.url}${p}${q}`, {
          method: m,
          headers: sendsBody ? { "Content-Type": ct } : {},
          body: sendsBody ? b : undefined,
          signal: AbortSignal.timeout(5_000),
        });
        const text = await res.text();
        expect(res.status).not.toBe(500);
        if (res.status >= 400) {
          const status = JSON.parse(text);
          expect(status).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", code: res.status });
          expect(typeof status.message).toBe("string");
        }
      }),
      { numRuns: 100 },
    );
  }, 60_000);

  it("never answers 500 to arbitrary objects created, replaced or patched as real kinds (property)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock() });
    const kinds = [
      ["/apis/apps/v1/namespaces/default/deployments", "apps/v1", "Deployment"],
      ["/apis/batch/v1/namespaces/default/jobs", "batch/v1", "Job"],
      ["/api/v1/namespaces/default/pods", "v1", "Pod"],
      ["/api/v1/namespaces/default/services", "v1", "Service"],
      ["/api/v1/namespaces/default/configmaps", "v1", "ConfigMap"],
      ["/apis/argoproj.io/v1alpha1/namespaces/default/rollouts", "argoproj.io/v1alpha1", "Rollout"],
      ["/apis/flagger.app/v1beta1/namespaces/default/canaries", "flagger.app/v1beta1", "Canary"],
    ] as const;
    const anything = fc.jsonValue({ maxDepth: 4 });
    const spec = fc.oneof(
      anything,
      fc.record(
        {
          replicas: anything,
          selector: anything,
          template: anything,
          ports: anything,
          containers: anything,
          strategy: anything,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...kinds),
        spec,
        anything,
        fc.constantFrom("POST", "PUT", "PATCH"),
        async ([path, apiVersion, kind], s, status, m) => {
          const name = "fuzz";
          const obj = { apiVersion, kind, metadata: { name, labels: { app: "fuzz" } }, spec: s, status };
          const target = m === "POST" ? path : `${path}/${name}`;
          const res = await fetch(`${sim.url}${target}`, {
            method: m,
            headers: { "Content-Type": m === "PATCH" ? "application/merge-patch+json" : "application/json" },
            body: JSON.stringify(m === "PATCH" ? { spec: s } : obj),
          });
          const text = await res.text();
          expect(res.status, text).not.toBe(500);
          await sim.settle();
        },
      ),
      // FC_SEED and FC_PATH replay a failure that fast-check reported (its seed and path).
      {
        numRuns: 100,
        ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}),
      },
    );
  }, 60_000);
});
