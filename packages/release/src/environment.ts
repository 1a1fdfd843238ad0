/**
 * The environment: what rollway releases into. A YAML file (or labels on cluster objects, see
 * `discoverEnvironment`) names the namespace, the frontend and each backend with its workload and strategy, the
 * preview host, promotion defaults, the code-as-data Job, the platform components and the hooks. The zod schema
 * below is the single source of truth: types are inferred from it and the JSON Schema in
 * `schema/environment.schema.json` is generated from it.
 */
import { DEFAULT_OCONFIG_MOUNT_PATH, oConfigProblems, oConfigSchema } from "@rollway/oconfig-versioning";
import { didYouMean } from "@rollway/payload-schema";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Scalar, type Node as YamlNode } from "yaml";
import { z } from "zod";
import { crossCheck, isUntaggedImage, oConfigProblem } from "./environment-checks.js";

export const ENVIRONMENT_API_VERSION = "rollway.dev/v1alpha1";
export const ENVIRONMENT_KIND = "Environment";

// ---------------------------------------------------------------------------------------------------------------
// Schema

/** A DNS-1123 label: component, container, namespace and hook names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: workload and Service names. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;

const label = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? "missing" : `expected ${what} as a string`) })
    .max(63, `${what} has at most 63 characters`)
    .regex(DNS_LABEL, `${what} uses lower-case letters, digits and '-', starting and ending alphanumeric`);

const resourceName = (what: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? "missing" : `expected ${what} as a string`) })
    .max(253, `${what} has at most 253 characters`)
    .regex(DNS_SUBDOMAIN, `${what} is a Kubernetes name: lower-case letters, digits, '-' and '.'`);

const seconds = (what: string) =>
  z
    .number({ error: `expected ${what} as a whole number of seconds` })
    .int(`expected ${what} as a whole number of seconds`)
    .positive(`${what} is at least 1 second`);

export const ComponentNameSchema = label("a component name").meta({
  description: "A frontend, backend or platform component name: a DNS-1123 label such as `backend-1`.",
});

export const WorkloadKindSchema = z
  .enum(["Rollout", "Canary", "Deployment"], {
    error: (issue) =>
      `expected Rollout (Argo Rollouts), Canary (Flagger) or Deployment, got ${JSON.stringify(issue.input)}`,
  })
  .meta({ description: "Rollout (Argo Rollouts), Canary (Flagger, targeting a Deployment) or a plain Deployment." });

export const WorkloadRefSchema = z
  .strictObject({ kind: WorkloadKindSchema, name: resourceName("a workload name") })
  .meta({ description: "The workload that runs the component, in the environment's namespace." });

export const BlueGreenStrategySchema = z
  .strictObject({
    type: z.literal("blueGreen"),
    activeService: resourceName("activeService").meta({ description: "The Service users reach: the stable pods." }),
    previewService: resourceName("previewService").meta({
      description: "The Service behind `preview.<host>`: the new pods, before promotion.",
    }),
    autoPromotion: z.boolean().default(false).meta({
      description:
        "Let the controller promote this component on its own (Argo `autoPromotionEnabled`). Off by default: rollway promotes every component together.",
    }),
    scaleDownDelaySeconds: seconds("scaleDownDelaySeconds")
      .default(30)
      .meta({ description: "How long the old pods keep running after promotion, for requests in flight." }),
    previewReplicaCount: z
      .number()
      .int()
      .positive()
      .optional()
      .meta({ description: "Pods of the new version before promotion; default: as many as the stable version." }),
  })
  .meta({ description: "Blue-green: the new version runs beside the old one and is promoted by switching Services." });

export const CanaryStepSchema = z.union(
  [
    z.strictObject({
      setWeight: z
        .number({ error: "setWeight is a percentage from 0 to 100" })
        .int("setWeight is a whole percentage")
        .min(0, "setWeight is a percentage from 0 to 100")
        .max(100, "setWeight is a percentage from 0 to 100"),
    }),
    z.strictObject({
      pause: z.strictObject({
        durationSeconds: seconds("pause.durationSeconds")
          .optional()
          .meta({ description: "Without a duration, wait for the promotion (manual or auto)." }),
      }),
    }),
  ],
  { error: "a canary step is { setWeight: <0-100> } or { pause: { durationSeconds?: <seconds> } }" },
);

export const CanaryStrategySchema = z
  .strictObject({
    type: z.literal("canary"),
    steps: z.array(CanaryStepSchema).min(1, "a canary needs at least one step, e.g. { setWeight: 10 }"),
    stableService: resourceName("stableService").optional(),
    canaryService: resourceName("canaryService").optional(),
    analysis: z
      .strictObject({ templates: z.array(resourceName("an analysis template name")).min(1) })
      .optional()
      .meta({ description: "Analysis templates that must pass before promotion (Argo AnalysisTemplate names)." }),
  })
  .meta({ description: "Canary: traffic moves to the new version by weights (e.g. 10, 50, 100)." });

const intOrPercent = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d{1,3}%$/, "expected a number or a percentage like 25%"),
]);

export const RollingStrategySchema = z
  .strictObject({
    type: z.literal("rolling"),
    maxSurge: intOrPercent.default("25%"),
    maxUnavailable: intOrPercent
      .default(0)
      .meta({ description: "0 by default: no pod stops before its replacement is ready." }),
  })
  .meta({ description: "Rolling update of a Deployment: old and new pods serve together for a while (seed 001)." });

export const RecreateStrategySchema = z.strictObject({ type: z.literal("recreate") }).meta({
  description: "Stop the old pods, run the migration hooks for this component, start the new ones (seed 001).",
});

export const StrategySchema = z
  .discriminatedUnion(
    "type",
    [BlueGreenStrategySchema, CanaryStrategySchema, RollingStrategySchema, RecreateStrategySchema],
    {
      error: (issue) =>
        issue.code === "invalid_union" && "note" in issue && issue.note === "No matching discriminator"
          ? "strategy.type is blueGreen, canary, rolling or recreate"
          : undefined,
    },
  )
  .meta({ description: "How the new version replaces the running one." });

export const ComponentSchema = z
  .strictObject({
    workload: WorkloadRefSchema,
    container: label("a container name").meta({ description: "The container whose image rollway sets." }),
    strategy: StrategySchema,
    oConfig: oConfigSchema.optional(),
    oConfigMountPath: z
      .string()
      .regex(/^\/[^:]*$/, "oConfigMountPath is an absolute path without ':'")
      .default(DEFAULT_OCONFIG_MOUNT_PATH)
      .meta({ description: "Where the directory holding oConfig.json is mounted in the container." }),
  })
  .meta({ description: "The frontend or a backend." });

const looseRecord = z.record(z.string(), z.string());

const ContainerSchema = z.looseObject({ name: label("a container name"), image: z.string().min(1).optional() });

/** A Kubernetes JobTemplateSpec (the `jobTemplate` of a CronJob): metadata and a Job spec. */
export const JobTemplateSchema = z
  .strictObject({
    metadata: z.strictObject({ labels: looseRecord.optional(), annotations: looseRecord.optional() }).optional(),
    spec: z.looseObject({
      backoffLimit: z.number().int().min(0).optional(),
      activeDeadlineSeconds: seconds("activeDeadlineSeconds").optional(),
      ttlSecondsAfterFinished: z.number().int().min(0).optional(),
      template: z.looseObject({
        metadata: z.looseObject({}).optional(),
        spec: z.looseObject({
          restartPolicy: z
            .enum(["Never", "OnFailure"], { error: "a Job's restartPolicy is Never or OnFailure" })
            .optional(),
          containers: z.array(ContainerSchema).min(1, "a Job needs at least one container"),
        }),
      }),
    }),
  })
  .meta({ description: "A Kubernetes Job template (metadata + spec), as in a CronJob's jobTemplate." });

export const CodeAsDataSchema = z
  .strictObject({
    job: JobTemplateSchema,
    container: label("a container name").meta({
      description: "The container that gets the payload's code-as-data image; `--force-sync` is added to its args.",
    }),
    timeoutSeconds: seconds("timeoutSeconds").default(1800),
  })
  .meta({ description: "How code as data is deployed: a Job run from the code-as-data image." });

export const PlatformComponentSchema = z
  .strictObject({
    name: ComponentNameSchema,
    workload: WorkloadRefSchema,
    container: label("a container name"),
    image: z
      .string()
      .min(1)
      .refine(isUntaggedImage, {
        error: "image is a repository without tag or digest (e.g. olympeio/orchestrator); the tag is stableVersion",
      })
      .meta({ description: "The image repository, without tag." }),
    stableVersion: z
      .string()
      .regex(/^[\w][\w.-]{0,127}$/, "stableVersion is an image tag such as 2.9.1")
      .meta({ description: "The tag every release sets, unless the payload says skipUpdateVersions." }),
  })
  .meta({ description: "A platform component (orchestrator, toolkit…) kept on its stable version." });

const hookFields = {
  name: label("a hook name"),
  job: JobTemplateSchema,
  container: label("a container name")
    .optional()
    .meta({ description: "The container `imageFrom` applies to; default: the first container." }),
  imageFrom: ComponentNameSchema.optional().meta({
    description: "Run the hook with the new image of this component (e.g. a backend's migrations).",
  }),
  timeoutSeconds: seconds("timeoutSeconds").default(600),
};

export const PreReleaseHookSchema = z.strictObject(hookFields).meta({
  description: "A Job run before anything changes, e.g. a database backup. If it fails, nothing is released.",
});

export const MigrationHookSchema = z
  .strictObject({
    ...hookFields,
    for: ComponentNameSchema.meta({ description: "The component (with the recreate strategy) it migrates." }),
  })
  .meta({ description: "A Job run between stopping the old version and starting the new one (recreate, seed 001)." });

export const PromotionSchema = z
  .strictObject({
    mode: z
      .enum(["auto", "manual"], { error: (issue) => `expected "auto" or "manual", got ${JSON.stringify(issue.input)}` })
      .default("manual")
      .meta({ description: "auto: promote once every preview is ready; manual: wait for an approval." }),
    readyTimeoutSeconds: seconds("readyTimeoutSeconds")
      .default(600)
      .meta({ description: "How long every preview may take to be ready before the release is aborted." }),
    approvalTimeoutSeconds: seconds("approvalTimeoutSeconds")
      .optional()
      .meta({ description: "How long a manual release waits for approval; absent: until approved or aborted." }),
  })
  .meta({ description: "Promotion defaults; the payload's noDowntime.promotionMode overrides mode." });

export const EnvironmentSchema = z
  .strictObject({
    apiVersion: z.literal(ENVIRONMENT_API_VERSION, { error: `apiVersion is ${ENVIRONMENT_API_VERSION}` }),
    kind: z.literal(ENVIRONMENT_KIND, { error: `kind is ${ENVIRONMENT_KIND}` }),
    name: label("the environment name"),
    namespace: label("a namespace"),
    host: z.string().regex(HOSTNAME, "host is a DNS name such as demo.example.com").meta({
      description: "The hostname users reach.",
    }),
    previewHost: z
      .string()
      .regex(HOSTNAME, "previewHost is a DNS name such as preview.demo.example.com")
      .optional()
      .meta({ description: "Where the new version is tested before promotion; default preview.<host> (seed 000)." }),
    noDowntime: z.boolean().default(true).meta({
      description: 'No-downtime deployment: every oConfig must then set "sc.production": true (seed 000).',
    }),
    promotion: PromotionSchema.default({ mode: "manual", readyTimeoutSeconds: 600 }),
    frontend: ComponentSchema.optional(),
    backends: z
      .record(ComponentNameSchema, ComponentSchema)
      .default({})
      .meta({ description: "Each backend by name, as deploy rules target them." }),
    codeAsData: CodeAsDataSchema.optional(),
    platform: z.array(PlatformComponentSchema).default([]),
    hooks: z
      .strictObject({
        preRelease: z.array(PreReleaseHookSchema).default([]),
        migration: z.array(MigrationHookSchema).default([]),
      })
      .default({ preRelease: [], migration: [] }),
  })
  .meta({
    title: "rollway environment",
    description: "What a rollway release is made of, and how each part rolls out.",
  });

export type EnvironmentInput = z.input<typeof EnvironmentSchema>;
export type Component = z.output<typeof ComponentSchema>;
export type Strategy = z.output<typeof StrategySchema>;
export type WorkloadKind = z.output<typeof WorkloadKindSchema>;
export type JobTemplate = z.output<typeof JobTemplateSchema>;
export type PlatformComponent = z.output<typeof PlatformComponentSchema>;
/** What the schema gives (before `previewHost` is defaulted). */
export type ValidEnvironment = z.output<typeof EnvironmentSchema>;
/** A validated environment; `previewHost` is always set. */
export type Environment = Omit<z.output<typeof EnvironmentSchema>, "previewHost"> & { previewHost: string };

/** The environment file's JSON Schema (draft 2020-12), generated from the zod schema that validates it. */
export function environmentJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(EnvironmentSchema, { io: "input", unrepresentable: "any" }),
    $id: "https://rollway.dev/schemas/environment.schema.json",
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

export type EnvironmentErrorCode =
  | "YAML_SYNTAX"
  | "INVALID_ENVIRONMENT"
  | "INVALID_OCONFIG"
  | "UNSUPPORTED_STRATEGY"
  | "UNKNOWN_REFERENCE"
  | "DUPLICATE"
  | "DISCOVERY";

export interface EnvironmentProblem {
  code: EnvironmentErrorCode;
  /** Where in the environment: `["backends", "backend-1", "strategy", "type"]`. */
  path: (string | number)[];
  message: string;
  /** 1-based position in the YAML file, when the environment came from one. */
  line?: number | undefined;
  column?: number | undefined;
  /** For oConfig problems: the version concerned and the position inside that config's JSON text. */
  oConfig?: { service: string; version?: string | undefined; line?: number | undefined; column?: number | undefined };
}

export const formatEnvironmentPath = (path: readonly (string | number)[]): string =>
  path.length === 0
    ? "(top level)"
    : path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

export class EnvironmentError extends Error {
  override readonly name = "EnvironmentError";
  readonly code: EnvironmentErrorCode;
  readonly problems: readonly EnvironmentProblem[];
  /** The file name given to `parseEnvironmentYaml`, if any. */
  readonly source: string | undefined;

  constructor(problems: EnvironmentProblem[], options?: { source?: string | undefined; cause?: unknown }) {
    const first = problems[0];
    if (!first) throw new TypeError("EnvironmentError needs at least one problem");
    const source = options?.source;
    const lines = problems.map((p) => {
      const at = p.line !== undefined ? `${source ?? "line"}${source ? ":" : " "}${p.line}:${p.column ?? 1} ` : "";
      return `  ${at}${formatEnvironmentPath(p.path)}: ${p.message}`;
    });
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`${count} with the environment${source ? ` ${source}` : ""}:\n${lines.join("\n")}`, {
      cause: options?.cause,
    });
    this.code = first.code;
    this.problems = problems;
    this.source = source;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

/** The object schema at `path`, choosing the union option the input's `type` names (strategies). */
function objectSchemaAt(path: readonly (string | number)[], input: unknown): z.ZodObject | undefined {
  let schema: z.ZodType = EnvironmentSchema;
  let value = input;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let current = s;
    for (;;) {
      if (current instanceof z.ZodOptional || current instanceof z.ZodDefault)
        current = current.def.innerType as z.ZodType;
      else if (current instanceof z.ZodUnion) {
        const type = asRecord(value).type;
        const objects = (current.options as z.ZodType[]).filter((o): o is z.ZodObject => o instanceof z.ZodObject);
        const chosen = objects.find((o) => (o.shape.type as z.ZodLiteral | undefined)?.value === type) ?? objects[0];
        if (!chosen) return current;
        current = chosen;
      } else return current;
    }
  };
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject)
      schema = (schema.shape as Record<string, z.ZodType>)[String(segment)] as z.ZodType;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return undefined;
    if (!schema) return undefined;
    value = asRecord(value)[segment];
  }
  const found = unwrap(schema);
  return found instanceof z.ZodObject ? found : undefined;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ");
    const known = Object.keys(objectSchemaAt(issue.path as (string | number)[], input)?.shape ?? {});
    const hint =
      issue.keys.length === 1 ? didYouMean(issue.keys[0] as string, known) : `; known keys here: ${known.join(", ")}`;
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${keys}${known.length > 0 ? hint : ""}`;
  }
  if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) return "missing";
  if (issue.code === "invalid_key") {
    return `the name ${JSON.stringify(String(issue.path.at(-1)))} is not valid: ${issue.issues[0]?.message ?? issue.message}`;
  }
  return issue.message;
}

type Validation = { ok: true; value: Environment } | { ok: false; problems: EnvironmentProblem[] };

function validate(value: unknown): Validation {
  // An environment is read once per process: zod's compiled fast path would cost more to generate (a `new Function`
  // per object schema, ~10 ms at a CLI's start) than it saves on one parse.
  const result = EnvironmentSchema.safeParse(value, { jitless: true });
  if (!result.success) {
    const problems: EnvironmentProblem[] = [];
    for (const issue of result.error.issues) {
      const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      const oConfigAt = path.lastIndexOf("oConfig");
      if (oConfigAt >= 0 && oConfigAt >= path.length - 1) {
        // The union's own message is vague; the oConfig package says exactly what is wrong.
        const service = path[0] === "frontend" ? "frontend" : String(path[1]);
        const raw = path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)?.[key], value);
        const noDowntime = asRecord(value).noDowntime !== false;
        const detail = oConfigProblems(raw, { service, noDowntime });
        if (detail.length > 0) {
          problems.push(...detail.map((p) => oConfigProblem(p, path)));
          continue;
        }
      }
      problems.push({
        code: "INVALID_ENVIRONMENT",
        path,
        message: describeIssue(issue, value),
        ...unknownKeyOf(issue),
      });
    }
    return { ok: false, problems };
  }
  const problems = crossCheck(result.data, oConfigProblems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { ...result.data, previewHost: result.data.previewHost ?? `preview.${result.data.host}` } };
}

/** For an unknown key, remember which one so the YAML position points at it. */
const unknownKeyOf = (issue: z.core.$ZodIssue) =>
  issue.code === "unrecognized_keys" ? ({ unknownKey: issue.keys[0] } as Record<string, unknown>) : {};

/**
 * Validates an environment given as a plain object (already parsed JSON or YAML). Throws an EnvironmentError
 * listing every problem, with paths but without file positions.
 */
export function parseEnvironment(value: unknown): Environment {
  const result = validate(value);
  if (!result.ok) throw new EnvironmentError(result.problems.map(stripInternal));
  return result.value;
}

function stripInternal(p: EnvironmentProblem): EnvironmentProblem {
  const { unknownKey: _unknownKey, ...rest } = p as EnvironmentProblem & { unknownKey?: string };
  return rest;
}

// ---------------------------------------------------------------------------------------------------------------
// YAML positions

interface Located {
  node: YamlNode | undefined;
  keyNode: YamlNode | undefined;
  /** How many path segments were found. */
  depth: number;
}

/** Walks the YAML tree along `path` as far as it goes. */
function locate(root: unknown, path: readonly (string | number)[], doc: ReturnType<typeof parseDocument>): Located {
  let node = root as YamlNode | undefined;
  let keyNode: YamlNode | undefined;
  let depth = 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc) as YamlNode | undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      keyNode = pair.key as YamlNode;
      node = (pair.value ?? pair.key) as YamlNode;
    } else if (isSeq(node) && typeof segment === "number" && node.items[segment] !== undefined) {
      keyNode = undefined;
      node = node.items[segment] as YamlNode;
    } else {
      break;
    }
    depth++;
  }
  return { node, keyNode, depth };
}

/** The position inside a YAML block scalar (`|`) of a 1-based line and column of its text. */
function blockScalarPosition(scalar: Scalar, text: string, lines: LineCounter, line: number, column: number) {
  if (scalar.type !== "BLOCK_LITERAL" || !scalar.range) return undefined;
  const header = lines.linePos(scalar.range[0]);
  const contentStart = lines.lineStarts[header.line] ?? text.length; // the line after the `|` header
  const indent = /^ */.exec(text.slice(contentStart))?.[0].length ?? 0;
  return { line: header.line + line, column: indent + column };
}

function positionOf(
  problem: EnvironmentProblem & { unknownKey?: string },
  doc: ReturnType<typeof parseDocument>,
  text: string,
  lines: LineCounter,
): { line: number; column: number } | undefined {
  const found = locate(doc.contents, problem.path, doc);
  let target: YamlNode | undefined = found.node;
  if (problem.unknownKey !== undefined && found.depth === problem.path.length && isMap(target)) {
    const pair = target.items.find((item) => isScalar(item.key) && String(item.key.value) === problem.unknownKey);
    if (pair) target = pair.key as YamlNode;
  } else if (found.depth < problem.path.length && found.keyNode) {
    // A missing key: point at the key of the map it should be in.
    target = found.keyNode;
  }
  const inside = problem.oConfig;
  if (inside?.line !== undefined && found.depth === problem.path.length && isScalar(found.node)) {
    const exact = blockScalarPosition(found.node as Scalar, text, lines, inside.line, inside.column ?? 1);
    if (exact) return exact;
  }
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  const at = lines.linePos(offset);
  return { line: at.line, column: at.col };
}

export interface ParseEnvironmentYamlOptions {
  /** The file name, used in error messages (`demo-environment.yaml:12:5`). */
  source?: string;
}

/**
 * Parses and validates an environment file. Throws an EnvironmentError listing every problem with its path and
 * its line and column in the file (for oConfig JSON problems inside a `|` block: the exact place in the file).
 */
export function parseEnvironmentYaml(text: string, options: ParseEnvironmentYamlOptions = {}): Environment {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const syntax = [...doc.errors];
  if (syntax.length > 0) {
    throw new EnvironmentError(
      syntax.map((error) => {
        const at = lines.linePos(error.pos[0]);
        return {
          code: "YAML_SYNTAX" as const,
          path: [],
          message: error.message.split("\n")[0] ?? error.message,
          line: at.line,
          column: at.col,
        };
      }),
      { source: options.source },
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias to an unknown anchor, or an alias bomb: the document has no value.
    const message = error instanceof Error ? error.message : String(error);
    throw new EnvironmentError([{ code: "YAML_SYNTAX", path: [], message }], { source: options.source, cause: error });
  }
  const result = validate(value);
  if (result.ok) return result.value;
  throw new EnvironmentError(
    result.problems.map((p) => {
      const at = positionOf(p, doc, text, lines);
      return { ...stripInternal(p), ...(at ? { line: at.line, column: at.column } : {}) };
    }),
    { source: options.source },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Discovery from cluster labels

/** On a workload: which part of the environment it is (`frontend`, `backend`, `platform`, `code-as-data`). */
export const LABEL_COMPONENT = "rollway.dev/component";
/** Optional: the environment an object belongs to, when a namespace holds several. */
export const LABEL_ENVIRONMENT = "rollway.dev/environment";
/** Optional: the component name (the backend name deploy rules target); default: the object's name. */
export const LABEL_NAME = "rollway.dev/name";
/** Annotation: the container rollway sets; default: the pod's only container. */
export const ANNOTATION_CONTAINER = "rollway.dev/container";
/** Annotation on a platform workload: its stable version (image tag). */
export const ANNOTATION_STABLE_VERSION = "rollway.dev/stable-version";

/** A Kubernetes object as the API returns it; only the fields discovery reads are typed. */
export interface KubeObject {
  apiVersion?: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
}

export interface DiscoverOptions {
  /** Only objects labelled `rollway.dev/environment: <name>` (or unlabelled) are used; default: the namespace. */
  name?: string;
  /** Default: the namespace every object is in. */
  namespace?: string;
  /** Default: the host of an Ingress labelled `rollway.dev/component: frontend` (its `preview.` host is the preview). */
  host?: string;
  promotion?: EnvironmentInput["promotion"];
  noDowntime?: boolean;
}

type AnyRecord = Record<string, unknown>;
const asRecord = (v: unknown): AnyRecord => (typeof v === "object" && v !== null ? (v as AnyRecord) : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const describeObject = (o: KubeObject) =>
  `${o.kind} ${o.metadata.namespace ?? ""}${o.metadata.namespace ? "/" : ""}${o.metadata.name}`;

/** Parses a Go duration such as `1m` or `30s` (Flagger's `interval`) to whole seconds. */
function goDurationSeconds(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d+)(s|m|h)$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as "s" | "m" | "h"];
}

/**
 * Builds an environment from labelled cluster objects, so a user with labelled workloads needs no file:
 * Rollouts, Flagger Canaries and Deployments labelled `rollway.dev/component: frontend | backend | platform`, a
 * Job labelled `code-as-data` (its spec is the template), and an Ingress labelled `frontend` for the hosts.
 * Strategies are read from the workloads' specs. The result is validated like a file; problems name the object.
 * Pure: the caller lists the objects.
 */
export function discoverEnvironment(objects: readonly KubeObject[], options: DiscoverOptions = {}): Environment {
  const problems: EnvironmentProblem[] = [];
  const fail = (object: KubeObject, message: string) =>
    problems.push({ code: "DISCOVERY", path: [describeObject(object)], message });

  const namespaces = new Set(objects.map((o) => o.metadata.namespace).filter((n) => n !== undefined));
  const namespace = options.namespace ?? (namespaces.size === 1 ? [...namespaces][0] : undefined);
  if (namespace === undefined) {
    throw new EnvironmentError([
      {
        code: "DISCOVERY",
        path: [],
        message:
          namespaces.size === 0
            ? "no namespace: pass options.namespace"
            : `the objects are in several namespaces (${[...namespaces].join(", ")}); pass options.namespace`,
      },
    ]);
  }
  const name = options.name ?? namespace;
  const mine = objects.filter(
    (o) =>
      (o.metadata.namespace ?? namespace) === namespace &&
      o.metadata.labels?.[LABEL_COMPONENT] !== undefined &&
      (o.metadata.labels?.[LABEL_ENVIRONMENT] ?? name) === name,
  );
  const deployments = new Map(
    objects
      .filter((o) => o.kind === "Deployment" && (o.metadata.namespace ?? namespace) === namespace)
      .map((o) => [o.metadata.name, o]),
  );

  const podSpecOf = (o: KubeObject): AnyRecord | undefined => {
    const spec = asRecord(o.spec);
    if (o.kind === "Canary") {
      const target = deployments.get(String(asRecord(spec.targetRef).name));
      return target ? asRecord(asRecord(asRecord(target.spec).template).spec) : undefined;
    }
    if (o.kind === "Rollout" && spec.workloadRef !== undefined && spec.template === undefined) {
      const target = deployments.get(String(asRecord(spec.workloadRef).name));
      return target ? asRecord(asRecord(asRecord(target.spec).template).spec) : undefined;
    }
    return spec.template === undefined ? undefined : asRecord(asRecord(spec.template).spec);
  };

  const containerOf = (o: KubeObject): { name: string; image?: string } | undefined => {
    const containers = asArray(podSpecOf(o)?.containers).map(asRecord);
    const wanted = o.metadata.annotations?.[ANNOTATION_CONTAINER];
    if (wanted !== undefined) {
      const found = containers.find((c) => c.name === wanted);
      if (containers.length > 0 && !found) {
        fail(
          o,
          `annotation ${ANNOTATION_CONTAINER} names "${wanted}", but the pods have ${containers.map((c) => `"${c.name}"`).join(", ")}`,
        );
        return undefined;
      }
      return { name: wanted, ...(typeof found?.image === "string" ? { image: found.image } : {}) };
    }
    if (containers.length === 1) {
      const only = containers[0] as AnyRecord;
      return { name: String(only.name), ...(typeof only.image === "string" ? { image: only.image } : {}) };
    }
    fail(
      o,
      containers.length === 0
        ? `cannot see its pod template; add the annotation ${ANNOTATION_CONTAINER}: <container>`
        : `its pods have ${containers.length} containers (${containers.map((c) => `"${c.name}"`).join(", ")}); add the annotation ${ANNOTATION_CONTAINER}: <container>`,
    );
    return undefined;
  };

  const strategyOf = (o: KubeObject): unknown => {
    const spec = asRecord(o.spec);
    if (o.kind === "Deployment") {
      const strategy = asRecord(spec.strategy);
      if (strategy.type === "Recreate") return { type: "recreate" };
      const rolling = asRecord(strategy.rollingUpdate);
      return {
        type: "rolling",
        ...(rolling.maxSurge !== undefined ? { maxSurge: rolling.maxSurge } : {}),
        ...(rolling.maxUnavailable !== undefined ? { maxUnavailable: rolling.maxUnavailable } : {}),
      };
    }
    if (o.kind === "Rollout") {
      const strategy = asRecord(spec.strategy);
      if (strategy.blueGreen !== undefined) {
        const bg = asRecord(strategy.blueGreen);
        return {
          type: "blueGreen",
          activeService: bg.activeService,
          previewService: bg.previewService,
          // Argo Rollouts promotes on its own unless autoPromotionEnabled is explicitly false.
          autoPromotion: bg.autoPromotionEnabled !== false,
          ...(bg.scaleDownDelaySeconds !== undefined ? { scaleDownDelaySeconds: bg.scaleDownDelaySeconds } : {}),
          ...(bg.previewReplicaCount !== undefined ? { previewReplicaCount: bg.previewReplicaCount } : {}),
        };
      }
      if (strategy.canary !== undefined) {
        const canary = asRecord(strategy.canary);
        const steps = asArray(canary.steps)
          .map(asRecord)
          .flatMap((step): unknown[] => {
            if (typeof step.setWeight === "number") return [{ setWeight: step.setWeight }];
            if (step.pause !== undefined) {
              const duration = asRecord(step.pause).duration;
              const secondsValue = typeof duration === "number" ? duration : goDurationSeconds(duration);
              return [{ pause: secondsValue !== undefined ? { durationSeconds: secondsValue } : {} }];
            }
            return [];
          });
        return {
          type: "canary",
          steps: steps.length > 0 ? steps : [{ setWeight: 100 }],
          ...(typeof canary.stableService === "string" ? { stableService: canary.stableService } : {}),
          ...(typeof canary.canaryService === "string" ? { canaryService: canary.canaryService } : {}),
        };
      }
      fail(o, "its spec.strategy has neither blueGreen nor canary");
      return undefined;
    }
    // Flagger Canary: blue/green when it iterates without weights; otherwise weighted steps.
    const analysis = asRecord(spec.analysis);
    const service = String(asRecord(spec.service).name ?? asRecord(spec.targetRef).name);
    const interval = goDurationSeconds(analysis.interval);
    const pause = interval !== undefined ? [{ pause: { durationSeconds: interval } }] : [];
    let weights = asArray(analysis.stepWeights).filter((w): w is number => typeof w === "number");
    if (weights.length === 0 && typeof analysis.stepWeight === "number" && analysis.stepWeight > 0) {
      const max = typeof analysis.maxWeight === "number" ? analysis.maxWeight : 50;
      weights = [];
      for (let w = analysis.stepWeight; w <= max; w += analysis.stepWeight) weights.push(w);
    }
    if (weights.length === 0) {
      return { type: "blueGreen", activeService: service, previewService: `${service}-canary` };
    }
    return { type: "canary", steps: weights.flatMap((w) => [{ setWeight: w }, ...pause]) };
  };

  let frontend: unknown;
  const backends: Record<string, unknown> = {};
  const platform: unknown[] = [];
  let codeAsData: unknown;
  let host = options.host;
  let previewHost: string | undefined;

  for (const o of mine) {
    const role = o.metadata.labels?.[LABEL_COMPONENT];
    const componentName = o.metadata.labels?.[LABEL_NAME] ?? o.metadata.name;
    if (o.kind === "Ingress") {
      if (role !== "frontend") continue;
      const hosts = asArray(asRecord(o.spec).rules)
        .map((r) => asRecord(r).host)
        .filter((h): h is string => typeof h === "string");
      previewHost ??= hosts.find((h) => h.startsWith("preview."));
      host ??= hosts.find((h) => !h.startsWith("preview."));
      continue;
    }
    if (role === "code-as-data") {
      if (o.kind !== "Job") {
        fail(o, `${LABEL_COMPONENT}: code-as-data goes on a Job whose spec is the template, not on a ${o.kind}`);
        continue;
      }
      const container = containerOf(o);
      if (container) codeAsData = { job: jobTemplateFrom(o), container: container.name };
      continue;
    }
    if (o.kind !== "Rollout" && o.kind !== "Canary" && o.kind !== "Deployment") {
      fail(
        o,
        `${LABEL_COMPONENT} is set, but a ${o.kind} is not a workload rollway releases (Rollout, Canary, Deployment)`,
      );
      continue;
    }
    const container = containerOf(o);
    if (!container) continue;
    const workload = { kind: o.kind, name: o.metadata.name };
    if (role === "platform") {
      const stableVersion = o.metadata.annotations?.[ANNOTATION_STABLE_VERSION];
      if (stableVersion === undefined) {
        fail(o, `a platform component needs the annotation ${ANNOTATION_STABLE_VERSION}: <tag>`);
        continue;
      }
      const image = (container.image ?? "").replace(/@.*$/, "").replace(/:[^/]*$/, "");
      platform.push({ name: componentName, workload, container: container.name, image, stableVersion });
      continue;
    }
    const strategy = strategyOf(o);
    if (strategy === undefined) continue;
    const component = { workload, container: container.name, strategy };
    if (role === "frontend") {
      if (frontend !== undefined) fail(o, "a second frontend; label only one workload rollway.dev/component: frontend");
      else frontend = component;
    } else if (role === "backend") {
      if (backends[componentName] !== undefined) fail(o, `a second backend named "${componentName}"`);
      else backends[componentName] = component;
    } else {
      fail(o, `${LABEL_COMPONENT} is "${role}"; use frontend, backend, platform or code-as-data`);
    }
  }

  if (host === undefined) {
    problems.push({
      code: "DISCOVERY",
      path: ["host"],
      message: `no host: label the frontend's Ingress ${LABEL_COMPONENT}: frontend, or pass options.host`,
    });
  }
  if (problems.length > 0) throw new EnvironmentError(problems);

  return parseEnvironment({
    apiVersion: ENVIRONMENT_API_VERSION,
    kind: ENVIRONMENT_KIND,
    name,
    namespace,
    host,
    ...(previewHost !== undefined ? { previewHost } : {}),
    ...(options.noDowntime !== undefined ? { noDowntime: options.noDowntime } : {}),
    ...(options.promotion !== undefined ? { promotion: options.promotion } : {}),
    ...(frontend !== undefined ? { frontend } : {}),
    backends,
    ...(codeAsData !== undefined ? { codeAsData } : {}),
    platform,
  });
}

/** A Job's spec as a template: without the fields the API server fills in for one particular Job. */
function jobTemplateFrom(job: KubeObject): unknown {
  const spec = structuredClone(asRecord(job.spec));
  delete spec.selector;
  delete spec.suspend;
  delete spec.manualSelector;
  const template = asRecord(spec.template);
  const metadata = asRecord(template.metadata);
  const labels = Object.fromEntries(
    Object.entries(asRecord(metadata.labels)).filter(
      ([key]) => key !== "controller-uid" && key !== "job-name" && !key.startsWith("batch.kubernetes.io/"),
    ),
  );
  template.metadata = Object.keys(labels).length > 0 ? { ...metadata, labels } : {};
  if (Object.keys(template.metadata as AnyRecord).length === 0) delete template.metadata;
  return { spec };
}
