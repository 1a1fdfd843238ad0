import { configMapName, parseOConfig } from "@rollway/oconfig-versioning";
import { EXAMPLE_PAYLOAD_TEXT, parseDeployPayload } from "@rollway/payload-schema";
import { describe, expect, it } from "vitest";
import type { ClusterState, WorkloadState } from "./cluster-state.js";
import { reversePlan } from "./engine.js";
import { type EnvironmentInput, parseEnvironment } from "./environment.js";
import { ReleaseError } from "./errors.js";
import { formatPlan, plan } from "./plan.js";

const V1 = '{ "sc.production": true, "param1": "a value" }';
const V2 = '{ "sc.production": true, "param1": "another value", "param2": "a new value" }';

const backend = (name: string, extra: Record<string, unknown> = {}) => ({
  workload: { kind: "Rollout" as const, name },
  container: "backend",
  strategy: { type: "blueGreen" as const, activeService: name, previewService: `${name}-preview` },
  ...extra,
});

const environmentInput = (): EnvironmentInput => ({
  apiVersion: "rollway.dev/v1alpha1",
  kind: "Environment",
  name: "demo",
  namespace: "demo",
  host: "demo.example.com",
  frontend: { ...backend("frontend"), container: "frontend" },
  backends: {
    "backend-1": backend("backend-1", { oConfig: { current: "v1", next: "v2", configs: [{ v1: V1 }, { v2: V2 }] } }),
    "backend-2": backend("backend-2"),
    "backend-3": backend("backend-3"),
  },
  codeAsData: {
    container: "codeasdata",
    job: {
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "codeasdata", args: ["sync"] }] } } },
    },
  },
  platform: [
    {
      name: "orchestrator",
      workload: { kind: "Deployment", name: "orchestrator" },
      container: "orchestrator",
      image: "olympeio/orchestrator",
      stableVersion: "2.9.1",
    },
  ],
});

const rollout = (container: string, image: string, extra: Partial<WorkloadState> = {}): WorkloadState => ({
  kind: "Rollout",
  name: "x",
  strategy: "blueGreen",
  workload: { kind: "Rollout", name: "x" },
  images: { [container]: image },
  configMap: undefined,
  phase: "Healthy",
  ...extra,
});

const cluster = (): ClusterState => ({
  namespace: "demo",
  currentOConfig: {},
  workloads: {
    frontend: rollout("frontend", "my-registry/image-for-frontend:old", {
      name: "frontend",
      workload: { kind: "Rollout", name: "frontend" },
    }),
    "backend-1": rollout("backend", "my-registry/image-for-backend-1:old", {
      name: "backend-1",
      workload: { kind: "Rollout", name: "backend-1" },
      configMap: configMapName(
        "backend-1",
        parseOConfig({ current: "v1", next: "v2", configs: [{ v1: V1 }, { v2: V2 }] }, { service: "backend-1" })
          .current,
      ),
    }),
    "backend-2": rollout("backend", "my-registry/image-for-other-backends:old", {
      name: "backend-2",
      workload: { kind: "Rollout", name: "backend-2" },
    }),
    "backend-3": rollout("backend", "my-registry/image-for-other-backends:old", {
      name: "backend-3",
      workload: { kind: "Rollout", name: "backend-3" },
    }),
    orchestrator: {
      ...rollout("orchestrator", "olympeio/orchestrator:2.9.0"),
      kind: "Deployment",
      name: "orchestrator",
      strategy: "rollingUpdate",
      workload: { kind: "Deployment", name: "orchestrator" },
    },
  },
});

const seedPayload = (extra: Record<string, unknown> = {}) =>
  parseDeployPayload({ ...JSON.parse(EXAMPLE_PAYLOAD_TEXT), ...extra });

function planError(fn: () => unknown): ReleaseError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ReleaseError);
    return error as ReleaseError;
  }
  throw new Error("expected a ReleaseError");
}

describe("plan", () => {
  it("routes the seed's backend images by its deploy rules and sets the frontend and platform images", () => {
    const p = plan(seedPayload(), parseEnvironment(environmentInput()), cluster());
    const images = Object.fromEntries(p.components.map((c) => [c.name, [c.image.from, c.image.to, c.changed]]));
    expect(images).toEqual({
      frontend: ["my-registry/image-for-frontend:old", "my-registry/image-for-frontend:tag", true],
      "backend-1": ["my-registry/image-for-backend-1:old", "my-registry/image-for-backend-1:tag", true],
      "backend-2": ["my-registry/image-for-other-backends:old", "my-registry/image-for-other-backends:tag", true],
      "backend-3": ["my-registry/image-for-other-backends:old", "my-registry/image-for-other-backends:tag", true],
      orchestrator: ["olympeio/orchestrator:2.9.0", "olympeio/orchestrator:2.9.1", true],
    });
    expect(p.components.find((c) => c.name === "backend-1")?.image.reason).toBe("rule backends.deployRules[1]");
    expect(p.routing).toContain("backend-1");
  });

  it.each([
    [{}, "manual", "environment"],
    [{ noDowntime: { promotionMode: "auto" } }, "auto", "payload"],
    [{ noDowntime: { promotionMode: "manual" } }, "manual", "payload"],
  ])("takes the promotion mode from the payload when it says one (%j)", (extra, mode, source) => {
    const p = plan(seedPayload(extra), parseEnvironment(environmentInput()), cluster());
    expect(p.promotion).toMatchObject({ mode, source });
  });

  it("plans oConfig next as a new ConfigMap with a readable diff, and both versions rendered", () => {
    const p = plan(seedPayload(), parseEnvironment(environmentInput()), cluster());
    const b1 = p.components.find((c) => c.name === "backend-1");
    expect(b1?.config).toMatchObject({ from: { version: "v1" }, to: { version: "v2" }, changed: true });
    expect(b1?.config?.diff?.changes.map((c) => c.path.join("."))).toEqual(["param1", "param2"]);
    expect(p.configMaps.map((c) => c.metadata.labels["rollway.dev/oconfig-version"])).toEqual(["v1", "v2"]);
    expect(formatPlan(p)).toContain('~ param1: "a value" → "another value"');
  });

  it("sees no config change once the cluster runs next", () => {
    const state = cluster();
    const b1 = state.workloads["backend-1"] as WorkloadState;
    b1.configMap = configMapName(
      "backend-1",
      parseOConfig({ current: "v1", next: "v2", configs: [{ v1: V1 }, { v2: V2 }] }, { service: "backend-1" }).next,
    );
    const p = plan(
      seedPayload({ backends: undefined, frontend: undefined }),
      parseEnvironment(environmentInput()),
      state,
    );
    expect(p.components.find((c) => c.name === "backend-1")).toMatchObject({
      changed: false,
      config: { changed: false },
    });
  });

  it("leaves platform components alone with skipUpdateVersions, and passes --force-sync to code as data", () => {
    const p = plan(
      seedPayload({ skipUpdateVersions: true, extraArgs: ["--force-sync"] }),
      parseEnvironment(environmentInput()),
      cluster(),
    );
    expect(p.components.find((c) => c.name === "orchestrator")).toMatchObject({
      changed: false,
      image: { to: "olympeio/orchestrator:2.9.0" },
    });
    expect(p.codeAsData?.job.spec.template.spec.containers[0]).toMatchObject({
      image: "my-registry/image-for-codeasdata:tag",
      args: ["sync", "--force-sync"],
    });
    expect(formatPlan(p)).toContain("platform components: left on their versions (skipUpdateVersions)");
  });

  it("keeps a backend no rule targets on its image", () => {
    const payload = seedPayload({
      backends: {
        images: ["my-registry/image-for-backend-1:tag"],
        deployRules: [{ source: "^my-registry/image-for-backend-1:tag$", target: "^backend-1$" }],
      },
    });
    const p = plan(payload, parseEnvironment(environmentInput()), cluster());
    expect(p.components.find((c) => c.name === "backend-2")).toMatchObject({
      changed: false,
      image: { to: "my-registry/image-for-other-backends:old", reason: "no deploy rule targets it: unchanged" },
    });
  });

  it("says a backend a rule targets with the image it already runs is unchanged for that reason, not for want of a rule", () => {
    const payload = seedPayload({
      backends: {
        images: ["my-registry/image-for-other-backends:old"],
        deployRules: [{ source: "^my-registry/image-for-other-backends:old$", target: "^backend-2$" }],
      },
    });
    const p = plan(payload, parseEnvironment(environmentInput()), cluster());
    expect(p.components.find((c) => c.name === "backend-2")).toMatchObject({
      changed: false,
      image: {
        to: "my-registry/image-for-other-backends:old",
        reason: "backends.deployRules[0] gives it the image it already runs: unchanged",
      },
    });
    expect(p.components.find((c) => c.name === "backend-3")?.image.reason).toBe("no deploy rule targets it: unchanged");
  });

  it("lists every problem at once: missing workload, wrong kind, wrong strategy, missing container", () => {
    const state = cluster();
    delete state.workloads["backend-2"];
    (state.workloads["backend-3"] as WorkloadState).kind = "Deployment";
    (state.workloads.frontend as WorkloadState).strategy = "canary";
    (state.workloads.orchestrator as WorkloadState).images = { sidecar: "x:1" };
    const error = planError(() => plan(seedPayload(), parseEnvironment(environmentInput()), state));
    expect(error.code).toBe("INVALID_PLAN");
    expect(error.message).toBe(
      [
        '4 problems with the release to environment "demo":',
        '  frontend: the environment says strategy blueGreen but Rollout "frontend" is set up for canary; make them agree',
        '  backend-2: Rollout "backend-2" was not found in namespace "demo"; create it or remove backend-2 from the environment',
        '  backend-3: the environment says Rollout "backend-3" but the cluster runs it as a Deployment; fix workload.kind',
        '  orchestrator: Deployment "orchestrator" has no container "orchestrator" (it has sidecar)',
      ].join("\n"),
    );
    // Finding 12: the same problems, structured, for the server and the CLI to pass on without parsing the message.
    expect(error.problems?.map((p) => p.path)).toEqual(["frontend", "backend-2", "backend-3", "orchestrator"]);
    expect(error.problems?.[3]).toEqual({
      path: "orchestrator",
      message: 'Deployment "orchestrator" has no container "orchestrator" (it has sidecar)',
    });
  });

  it("refuses a payload part the environment has no place for", () => {
    const env = environmentInput();
    delete env.frontend;
    delete env.codeAsData;
    const error = planError(() => plan(seedPayload(), parseEnvironment(env), cluster()));
    expect(error.message).toContain(
      'frontend.image: the environment "demo" has no frontend; add one or remove frontend.image',
    );
    expect(error.message).toContain('codeAsData.image: the environment "demo" has no codeAsData Job template');
  });

  it("refuses images the deploy rules cannot route, naming the image", () => {
    const payload = seedPayload({
      backends: { images: ["my-registry/stray:1"], deployRules: [{ source: "^other$", target: ".*" }] },
    });
    const error = planError(() => plan(payload, parseEnvironment(environmentInput()), cluster()));
    expect(error.code).toBe("INVALID_PLAN");
    expect(error.message).toContain('"my-registry/stray:1" matches no deploy rule\'s source');
  });

  it("renders a dry run a reviewer can read", () => {
    const text = formatPlan(plan(seedPayload(), parseEnvironment(environmentInput()), cluster()));
    expect(text).toMatch(/^Release to environment demo \(namespace demo\), payload sha256:[0-9a-f]{12}\n/);
    expect(text).toContain(
      "promotion: manual (from the environment); preview at https://preview.demo.example.com/ while users stay on https://demo.example.com/",
    );
    expect(text).toContain("5 of 5 components change:");
    expect(text).toContain(
      "    image   my-registry/image-for-backend-1:old → my-registry/image-for-backend-1:tag  (rule backends.deployRules[1])",
    );
    expect(text).toContain("code as data: Job from my-registry/image-for-codeasdata:tag");
  });

  it("gives the same plan and digest for the same inputs, and a JSON round trip keeps it", () => {
    const a = plan(seedPayload(), parseEnvironment(environmentInput()), cluster());
    const b = plan(seedPayload(), parseEnvironment(environmentInput()), cluster());
    expect(a).toEqual(b);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it("reverses a promoted plan for a rollback: new → old images and configs, auto promotion, no hooks", () => {
    const p = reversePlan(plan(seedPayload(), parseEnvironment(environmentInput()), cluster()));
    expect(p.promotion.mode).toBe("auto");
    expect(p.codeAsData).toBeUndefined();
    expect(p.components.find((c) => c.name === "backend-1")).toMatchObject({
      image: { from: "my-registry/image-for-backend-1:tag", to: "my-registry/image-for-backend-1:old" },
      config: { from: { version: "v2" }, to: { version: "v1" } },
    });
  });
});
