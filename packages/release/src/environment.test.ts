import { readFileSync, writeFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  discoverEnvironment,
  EnvironmentError,
  type EnvironmentProblem,
  environmentJsonSchema,
  type KubeObject,
  parseEnvironment,
  parseEnvironmentYaml,
} from "./environment.js";
import { listComponents } from "./environment-components.js";

const demoText = readFileSync(new URL("../examples/demo-environment.yaml", import.meta.url), "utf8");
const schemaFile = new URL("../schema/environment.schema.json", import.meta.url);

function problemsOf(fn: () => unknown): EnvironmentProblem[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentError);
    return [...(error as EnvironmentError).problems];
  }
  throw new Error("expected an EnvironmentError");
}

/** A small valid file; tests break one line of it at a time. */
const base = `apiVersion: rollway.dev/v1alpha1
kind: Environment
name: shop
namespace: shop
host: shop.example.com
backends:
  api:
    workload: { kind: Rollout, name: api }
    container: api
    strategy:
      type: blueGreen
      activeService: api
      previewService: api-preview
`;

describe("parseEnvironmentYaml", () => {
  it("reads the demo environment: namespace demo, a frontend and five blue-green backends, manual promotion", () => {
    const env = parseEnvironmentYaml(demoText, { source: "demo-environment.yaml" });
    expect(env.namespace).toBe("demo");
    expect(env.previewHost).toBe("preview.demo.example.com");
    expect(env.promotion).toEqual({ mode: "manual", readyTimeoutSeconds: 300 });
    expect(env.frontend?.workload).toEqual({ kind: "Rollout", name: "frontend" });
    expect(Object.keys(env.backends)).toEqual(["backend-1", "backend-2", "backend-3", "backend-4", "backend-5"]);
    for (const [name, backend] of Object.entries(env.backends)) {
      expect(backend.workload).toEqual({ kind: "Rollout", name });
      expect(backend.strategy).toEqual({
        type: "blueGreen",
        activeService: name,
        previewService: `${name}-preview`,
        autoPromotion: false,
        scaleDownDelaySeconds: 30,
      });
      expect(backend.oConfigMountPath).toBe("/etc/rollway/oconfig");
    }
    expect(env.backends["backend-1"]?.oConfig).toMatchObject({ current: "v1", next: "v2" });
    expect(env.codeAsData?.container).toBe("codeasdata");
    expect(env.codeAsData?.job.spec.template.spec.containers).toEqual([{ name: "codeasdata" }]);
    expect(env.platform).toEqual([]);
    expect(env.hooks).toEqual({ preRelease: [], migration: [] });
  });

  it("lists the components in release order: the frontend, then the backends as written", () => {
    const env = parseEnvironmentYaml(demoText);
    expect(listComponents(env).map((c) => `${c.role}:${c.name}`)).toEqual([
      "frontend:frontend",
      "backend:backend-1",
      "backend:backend-2",
      "backend:backend-3",
      "backend:backend-4",
      "backend:backend-5",
    ]);
  });

  it("derives the preview host from the host (seed 000: preview.<host>)", () => {
    expect(parseEnvironmentYaml(base).previewHost).toBe("preview.shop.example.com");
  });

  it("reads every strategy, platform components and hooks", () => {
    const env = parseEnvironmentYaml(`${base}
  web:
    workload: { kind: Canary, name: web }
    container: web
    strategy:
      type: canary
      steps: [{ setWeight: 10 }, { pause: { durationSeconds: 60 } }, { setWeight: 50 }, { pause: {} }]
      analysis: { templates: [success-rate] }
  worker:
    workload: { kind: Deployment, name: worker }
    container: worker
    strategy: { type: rolling }
  db-owner:
    workload: { kind: Deployment, name: db-owner }
    container: app
    strategy: { type: recreate }
platform:
  - name: orchestrator
    workload: { kind: Deployment, name: orchestrator }
    container: orchestrator
    image: olympeio/orchestrator
    stableVersion: 2.9.1
hooks:
  preRelease:
    - name: db-backup
      job:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{ name: backup, image: "postgres:16", args: [pg_dumpall] }]
  migration:
    - name: migrate
      for: db-owner
      imageFrom: db-owner
      job:
        spec:
          template:
            spec:
              containers: [{ name: migrate, args: [migrate, up] }]
`);
    expect(env.backends.worker?.strategy).toEqual({ type: "rolling", maxSurge: "25%", maxUnavailable: 0 });
    expect(env.backends.web?.strategy).toMatchObject({ type: "canary", analysis: { templates: ["success-rate"] } });
    expect(env.platform[0]?.stableVersion).toBe("2.9.1");
    expect(env.hooks.preRelease[0]?.timeoutSeconds).toBe(600);
    expect(env.hooks.migration[0]).toMatchObject({ for: "db-owner", imageFrom: "db-owner" });
  });

  it.each([
    [
      "a misspelt key, pointing at it",
      base.replace("host: shop", "hots: shop"),
      [
        { code: "INVALID_ENVIRONMENT", path: ["host"], message: "missing", line: 1, column: 1 },
        {
          code: "INVALID_ENVIRONMENT",
          path: [],
          message: 'unknown key "hots"; did you mean "host"?',
          line: 5,
          column: 1,
        },
      ],
    ],
    [
      "a strategy the workload kind cannot run",
      base.replace("kind: Rollout", "kind: Deployment"),
      [
        {
          code: "UNSUPPORTED_STRATEGY",
          path: ["backends", "api", "strategy", "type"],
          message:
            "a Deployment cannot run the blueGreen strategy; use rolling or recreate, or change the workload kind",
          line: 11,
          column: 13,
        },
      ],
    ],
    [
      "a missing container, pointing at its component",
      base.replace("    container: api\n", ""),
      [{ code: "INVALID_ENVIRONMENT", path: ["backends", "api", "container"], message: "missing", line: 7, column: 3 }],
    ],
    [
      "an unknown strategy type",
      base.replace("type: blueGreen", "type: blue-green"),
      [
        {
          code: "INVALID_ENVIRONMENT",
          path: ["backends", "api", "strategy", "type"],
          message: expect.stringContaining("blueGreen"),
          line: 11,
          column: 13,
        },
      ],
    ],
    [
      "an unknown workload kind",
      base.replace("kind: Rollout", "kind: StatefulSet"),
      [
        {
          code: "INVALID_ENVIRONMENT",
          path: ["backends", "api", "workload", "kind"],
          message: 'expected Rollout (Argo Rollouts), Canary (Flagger) or Deployment, got "StatefulSet"',
          line: 8,
          column: 23,
        },
      ],
    ],
  ])("reports %s with its line and column", (_name, text, expected) => {
    expect(problemsOf(() => parseEnvironmentYaml(text))).toEqual(expected);
  });

  it("points at the exact line and column in the file of a JSON error inside a `|` oConfig", () => {
    const text = demoText.replace('"param2": "a new value"\n', '"param2": "a new value",\n');
    const problems = problemsOf(() => parseEnvironmentYaml(text, { source: "demo-environment.yaml" }));
    const lines = text.split("\n");
    const commaLine = lines.findIndex((l) => l.includes('"param2": "a new value",')) + 1;
    const commaColumn = (lines[commaLine - 1]?.indexOf(",") ?? 0) + 1;
    expect(problems).toEqual([
      {
        code: "INVALID_OCONFIG",
        path: ["backends", "backend-1", "oConfig", "configs", 1, "v2"],
        message: `version "v2", line 4, column 26 of its JSON: invalid JSON: a trailing comma before '}'; remove it (JSON allows none)`,
        oConfig: { service: "backend-1", version: "v2", line: 4, column: 26 },
        line: commaLine,
        column: commaColumn,
      },
    ]);
    expect(() => parseEnvironmentYaml(text, { source: "demo-environment.yaml" })).toThrow(
      `demo-environment.yaml:${commaLine}:${commaColumn} backends.backend-1.oConfig.configs[1].v2: version "v2"`,
    );
  });

  it('requires "sc.production": true in every oConfig with no-downtime on, and not with it off', () => {
    const text = demoText.replace('"sc.production": true,\n              "param1": "a value"', '"param1": "a value"');
    const problems = problemsOf(() => parseEnvironmentYaml(text));
    expect(problems.map((p) => [p.code, p.path.join("/"), p.oConfig?.version])).toEqual([
      ["INVALID_OCONFIG", "backends/backend-1/oConfig/configs/0/v1", "v1"],
    ]);
    expect(problems[0]?.message).toContain('needs "sc.production": true');
    expect(() => parseEnvironmentYaml(text.replace("noDowntime: true", "noDowntime: false"))).not.toThrow();
  });

  it("explains an oConfig of the wrong shape with the oConfig package's words", () => {
    const text = `${base}    oConfig: { current: v1, configs: [] }\n`;
    expect(problemsOf(() => parseEnvironmentYaml(text)).map((p) => [p.path.join("."), p.message])).toEqual([
      ["backends.api.oConfig.next", "missing: expected a version name"],
      ["backends.api.oConfig.configs", "configs lists at least the current and next versions"],
    ]);
  });

  it.each([
    ["bad indentation", `${base}  oops\n wrong: [\n`, "YAML_SYNTAX"],
    ["a duplicate key", base.replace("name: shop\n", "name: shop\nname: other\n"), "YAML_SYNTAX"],
  ])("reports YAML syntax errors (%s) with a line", (_name, text, code) => {
    const [first] = problemsOf(() => parseEnvironmentYaml(text));
    expect(first?.code).toBe(code);
    expect(first?.line).toBeGreaterThan(0);
  });

  it.each([
    [
      "a backend named frontend",
      base.replace("  api:", "  frontend:"),
      "DUPLICATE",
      "backends.frontend",
      'a backend cannot be named "frontend"',
    ],
    [
      "two components on one workload",
      `${base}  api2:\n    workload: { kind: Rollout, name: api }\n    container: api\n    strategy: { type: canary, steps: [{ setWeight: 20 }] }\n`,
      "DUPLICATE",
      "backends.api2.workload",
      "Rollout/api is already the workload of api",
    ],
    [
      "a migration hook for a blue-green component",
      `${base}hooks:\n  migration:\n    - name: m\n      for: api\n      imageFrom: api\n      job: { spec: { template: { spec: { containers: [{ name: m }] } } } }\n`,
      "UNSUPPORTED_STRATEGY",
      "hooks.migration[0].for",
      '"api" uses the blueGreen strategy; a migration hook runs between old and new, which only the recreate strategy has',
    ],
    [
      "a hook image from an unknown component",
      `${base}hooks:\n  preRelease:\n    - name: b\n      imageFrom: apii\n      job: { spec: { template: { spec: { containers: [{ name: m }] } } } }\n`,
      "UNKNOWN_REFERENCE",
      "hooks.preRelease[0].imageFrom",
      'no component is named "apii" (there are "api")',
    ],
    [
      "a hook container without an image",
      `${base}hooks:\n  preRelease:\n    - name: b\n      job: { spec: { template: { spec: { containers: [{ name: m }] } } } }\n`,
      "INVALID_ENVIRONMENT",
      "hooks.preRelease[0].job.spec.template.spec.containers[0].image",
      'container "m" needs an image',
    ],
    [
      "a code-as-data container the job does not have",
      `${base}codeAsData:\n  container: cad\n  job: { spec: { template: { spec: { containers: [{ name: other }] } } } }\n`,
      "UNKNOWN_REFERENCE",
      "codeAsData.container",
      'the job has no container "cad" (it has "other")',
    ],
    [
      "a platform image with a tag",
      `${base}platform:\n  - { name: orchestrator, workload: { kind: Deployment, name: o }, container: o, image: "olympeio/orchestrator:2.9", stableVersion: 2.9.1 }\n`,
      "INVALID_ENVIRONMENT",
      "platform[0].image",
      "image is a repository without tag",
    ],
    [
      "a misspelt strategy field, suggesting the right one for that strategy type",
      base.replace("activeService: api", "activService: api"),
      "INVALID_ENVIRONMENT",
      "backends.api.strategy",
      'unknown key "activService"; did you mean "activeService"?',
    ],
    [
      "an unknown key far from any known one, listing the known ones",
      base.replace("    container: api\n", "    container: api\n    replicas: 3\n"),
      "INVALID_ENVIRONMENT",
      "backends.api",
      'unknown key "replicas"; known keys here: workload, container, strategy, oConfig, oConfigMountPath',
    ],
    [
      "a backend name that is not a DNS label",
      base.replace("  api:", "  Api_1:"),
      "INVALID_ENVIRONMENT",
      "backends.Api_1",
      'the name "Api_1" is not valid: a component name uses lower-case letters',
    ],
    [
      "a missing apiVersion",
      base.replace("apiVersion: rollway.dev/v1alpha1\n", ""),
      "INVALID_ENVIRONMENT",
      "apiVersion",
      "apiVersion is rollway.dev/v1alpha1",
    ],
  ])("refuses %s", (_name, text, code, path, message) => {
    const problems = problemsOf(() => parseEnvironmentYaml(text));
    const problem = problems.find((p) => p.path.length > 0 && formatPath(p.path) === path) ?? problems[0];
    expect(problem?.code).toBe(code);
    expect(formatPath(problem?.path ?? [])).toBe(path);
    expect(problem?.message).toContain(message);
    expect(problem?.line).toBeGreaterThan(0);
  });

  it("refuses an alias to an anchor that does not exist", () => {
    expect(problemsOf(() => parseEnvironmentYaml(`${base}frontend: *web\n`))).toEqual([
      { code: "YAML_SYNTAX", path: [], message: expect.stringContaining("web") },
    ]);
  });

  it("never throws anything but an EnvironmentError, whatever the text (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.constantFrom(base, demoText).map((t) => t.slice(0, 200)),
        ),
        (text) => {
          expect(() => parseEnvironmentYaml(text)).toThrow(EnvironmentError);
        },
      ),
      { numRuns: 200 },
    );
  });
});

const formatPath = (path: readonly (string | number)[]) =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

describe("parseEnvironment", () => {
  it("validates an already-parsed object, with paths and without positions", () => {
    expect(problemsOf(() => parseEnvironment({ apiVersion: "rollway.dev/v1alpha1", kind: "Environment" }))).toEqual([
      { code: "INVALID_ENVIRONMENT", path: ["name"], message: "missing" },
      { code: "INVALID_ENVIRONMENT", path: ["namespace"], message: "missing" },
      { code: "INVALID_ENVIRONMENT", path: ["host"], message: "missing" },
    ]);
  });
});

describe("the committed JSON Schema", () => {
  it("matches what zod generates (run `pnpm schema` to update it)", () => {
    const generated = `${JSON.stringify(environmentJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_SCHEMA) writeFileSync(schemaFile, generated);
    expect(readFileSync(schemaFile, "utf8")).toBe(generated);
  });

  it("accepts the demo file and rejects a typo, as an editor using it would", () => {
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(
      JSON.parse(readFileSync(schemaFile, "utf8")) as object,
    );
    expect(validate(parseYaml(demoText)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(parseYaml(demoText.replace("mode: manual", "mode: later")))).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain("/promotion/mode");
  });

  it("describes every part of an environment, oConfig included", () => {
    const schema = environmentJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual([
      "apiVersion",
      "kind",
      "name",
      "namespace",
      "host",
      "previewHost",
      "noDowntime",
      "promotion",
      "frontend",
      "backends",
      "codeAsData",
      "platform",
      "hooks",
    ]);
    expect(schema.required).toEqual(["apiVersion", "kind", "name", "namespace", "host"]);
    expect(JSON.stringify(schema.properties.frontend)).toContain('"current"');
  });
});

// ---------------------------------------------------------------------------------------------------------------

const labels = (component: string, extra: Record<string, string> = {}) => ({
  "rollway.dev/component": component,
  ...extra,
});
const podTemplate = (...containers: string[]) => ({
  spec: { containers: containers.map((name) => ({ name, image: `registry.example.com/${name}:1.0.0` })) },
});
const blueGreenRollout = (name: string, component = "backend"): KubeObject => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Rollout",
  metadata: { name, namespace: "demo", labels: labels(component) },
  spec: {
    template: podTemplate(component === "frontend" ? "frontend" : "backend"),
    strategy: { blueGreen: { activeService: name, previewService: `${name}-preview`, autoPromotionEnabled: false } },
  },
});

const clusterObjects: KubeObject[] = [
  blueGreenRollout("frontend", "frontend"),
  ...[1, 2, 3, 4, 5].map((i) => blueGreenRollout(`backend-${i}`)),
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "frontend", namespace: "demo", labels: labels("frontend") },
    spec: { rules: [{ host: "preview.demo.example.com" }, { host: "demo.example.com" }] },
  },
  {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "codeasdata-template", namespace: "demo", labels: labels("code-as-data") },
    spec: {
      suspend: true,
      backoffLimit: 0,
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "1234" } },
      template: {
        metadata: { labels: { "batch.kubernetes.io/controller-uid": "1234", "job-name": "codeasdata-template" } },
        spec: { restartPolicy: "Never", containers: [{ name: "codeasdata", image: "registry.example.com/cad:1" }] },
      },
    },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "orchestrator",
      namespace: "demo",
      labels: labels("platform"),
      annotations: { "rollway.dev/stable-version": "2.9.1" },
    },
    spec: { template: { spec: { containers: [{ name: "orchestrator", image: "olympeio/orchestrator:2.8.0" }] } } },
  },
  // Not labelled: ignored.
  { apiVersion: "v1", kind: "Service", metadata: { name: "backend-1", namespace: "demo" } },
];

describe("discoverEnvironment", () => {
  it("builds the demo environment from labelled objects: the same components as the file", () => {
    const discovered = discoverEnvironment(clusterObjects, { promotion: { mode: "manual", readyTimeoutSeconds: 300 } });
    const file = parseEnvironmentYaml(demoText);
    expect(discovered.namespace).toBe("demo");
    expect(discovered.host).toBe("demo.example.com");
    expect(discovered.previewHost).toBe("preview.demo.example.com");
    expect(discovered.promotion).toEqual(file.promotion);
    expect(discovered.frontend?.workload).toEqual(file.frontend?.workload);
    expect(discovered.frontend?.strategy).toEqual(file.frontend?.strategy);
    expect(Object.keys(discovered.backends)).toEqual(Object.keys(file.backends));
    for (const [name, backend] of Object.entries(discovered.backends)) {
      const { oConfig: _ignored, ...fromFile } = file.backends[name] ?? {};
      expect(backend).toEqual(fromFile);
    }
    expect(discovered.codeAsData).toEqual({
      container: "codeasdata",
      timeoutSeconds: 1800,
      job: {
        spec: {
          backoffLimit: 0,
          template: {
            spec: { restartPolicy: "Never", containers: [{ name: "codeasdata", image: "registry.example.com/cad:1" }] },
          },
        },
      },
    });
    expect(discovered.platform).toEqual([
      {
        name: "orchestrator",
        workload: { kind: "Deployment", name: "orchestrator" },
        container: "orchestrator",
        image: "olympeio/orchestrator",
        stableVersion: "2.9.1",
      },
    ]);
  });

  it("reads Deployment strategies, Flagger Canaries through their target, and the rollway.dev/name label", () => {
    const env = discoverEnvironment(
      [
        {
          kind: "Deployment",
          metadata: { name: "legacy-api", namespace: "shop", labels: labels("backend", { "rollway.dev/name": "api" }) },
          spec: { strategy: { type: "Recreate" }, template: podTemplate("api") },
        },
        {
          kind: "Deployment",
          metadata: { name: "web", namespace: "shop" },
          spec: { template: podTemplate("web", "envoy") },
        },
        {
          kind: "Canary",
          metadata: {
            name: "web",
            namespace: "shop",
            labels: labels("backend"),
            annotations: { "rollway.dev/container": "web" },
          },
          spec: {
            targetRef: { kind: "Deployment", name: "web" },
            analysis: { interval: "1m", stepWeight: 25, maxWeight: 50 },
          },
        },
        {
          kind: "Canary",
          metadata: { name: "bg", namespace: "shop", labels: labels("backend") },
          spec: {
            targetRef: { kind: "Deployment", name: "bg-app" },
            service: { name: "bg" },
            analysis: { iterations: 5 },
          },
        },
        { kind: "Deployment", metadata: { name: "bg-app", namespace: "shop" }, spec: { template: podTemplate("bg") } },
      ],
      { host: "shop.example.com" },
    );
    expect(env.backends.api?.strategy).toEqual({ type: "recreate" });
    expect(env.backends.api?.workload).toEqual({ kind: "Deployment", name: "legacy-api" });
    expect(env.backends.web?.container).toBe("web");
    expect(env.backends.web?.strategy).toEqual({
      type: "canary",
      steps: [
        { setWeight: 25 },
        { pause: { durationSeconds: 60 } },
        { setWeight: 50 },
        { pause: { durationSeconds: 60 } },
      ],
    });
    expect(env.backends.bg?.strategy).toMatchObject({
      type: "blueGreen",
      activeService: "bg",
      previewService: "bg-canary",
    });
  });

  it("reads a Rollout without autoPromotionEnabled as promoting itself, as Argo Rollouts does", () => {
    const rollout = blueGreenRollout("backend-1");
    const spec = rollout.spec as { strategy: { blueGreen: Record<string, unknown> } };
    delete spec.strategy.blueGreen.autoPromotionEnabled;
    const env = discoverEnvironment([rollout], { host: "demo.example.com" });
    expect(env.backends["backend-1"]?.strategy).toMatchObject({ type: "blueGreen", autoPromotion: true });
  });

  it("names the object and the fix when it cannot decide", () => {
    const problems = problemsOf(() =>
      discoverEnvironment([
        {
          kind: "Deployment",
          metadata: { name: "two", namespace: "x", labels: labels("backend") },
          spec: { template: podTemplate("a", "b") },
        },
        { kind: "StatefulSet", metadata: { name: "db", namespace: "x", labels: labels("backend") } },
        {
          kind: "Deployment",
          metadata: { name: "orch", namespace: "x", labels: labels("platform") },
          spec: { template: podTemplate("o") },
        },
      ]),
    );
    expect(problems.map((p) => `${p.path.join("")}: ${p.message}`)).toEqual([
      'Deployment x/two: its pods have 2 containers ("a", "b"); add the annotation rollway.dev/container: <container>',
      "StatefulSet x/db: rollway.dev/component is set, but a StatefulSet is not a workload rollway releases (Rollout, Canary, Deployment)",
      "Deployment x/orch: a platform component needs the annotation rollway.dev/stable-version: <tag>",
      "host: no host: label the frontend's Ingress rollway.dev/component: frontend, or pass options.host",
    ]);
  });

  it("only takes objects of its environment when a namespace holds several", () => {
    const other = {
      ...blueGreenRollout("backend-9"),
      metadata: {
        ...blueGreenRollout("backend-9").metadata,
        labels: labels("backend", { "rollway.dev/environment": "staging" }),
      },
    };
    const env = discoverEnvironment([...clusterObjects, other], { name: "demo" });
    expect(Object.keys(env.backends)).not.toContain("backend-9");
  });
});
