/**
 * The deploy payload of seed 004 as zod schemas: the single source of truth for its TypeScript types, its
 * validation and its JSON Schema. Every object is strict: in a production deploy a typo must never be ignored.
 */
import { checkRulePattern, type PatternVerdict } from "@rollway/deploy-rules";
import { z } from "zod";
import { parseImageReference } from "./image-reference.js";

/** The arguments the deploy process understands today (seed 004: only `--force-sync`). */
export const KNOWN_EXTRA_ARGS = ["--force-sync"] as const;

/**
 * What is wrong with an image reference (undefined: nothing), remembered for the last references seen: CI posts the
 * same few images again and again, and the grammar's regular expressions are the largest part of a payload's check.
 */
const imageReferenceProblems = new Map<string, string | null>();
const REMEMBERED_IMAGE_REFERENCES = 1024;
/** Longer texts are never references (512 characters at most) and are refused at once: not worth their memory. */
const REMEMBERED_LENGTH = 512;

/** What is wrong with an image reference (undefined: nothing). Shared with quick-check.ts. */
export function imageReferenceProblem(value: string): string | undefined {
  // One look-up: null remembers "no problem" (undefined is "not seen").
  const known = imageReferenceProblems.get(value);
  if (known !== undefined) return known ?? undefined;
  const parsed = parseImageReference(value);
  const problem = !parsed.ok
    ? parsed.message
    : !parsed.value.tag && !parsed.value.digest
      ? `"${value}" has no tag or digest; pin the version you deploy, e.g. "${value}:1.2.3"`
      : undefined;
  if (value.length > REMEMBERED_LENGTH) return problem;
  if (imageReferenceProblems.size >= REMEMBERED_IMAGE_REFERENCES) imageReferenceProblems.clear();
  imageReferenceProblems.set(value, problem ?? null);
  return problem;
}

/**
 * A custom check that says what is wrong with a value (undefined: nothing): the issue `superRefine` would add, without
 * what superRefine costs on every value checked, problem or not (an `addIssue` closure set on zod's parse payload:
 * ~1.4 kB per seed-sized payload, paid again by the dry run's garbage collector).
 */
function problemCheck<T>(problemOf: (value: T) => string | undefined, path?: PropertyKey[]) {
  return (payload: z.core.ParsePayload<T>): void => {
    const message = problemOf(payload.value);
    if (message === undefined) return;
    payload.issues.push(
      path
        ? { code: "custom", message, path, input: payload.value, continue: true }
        : { code: "custom", message, input: payload.value, continue: true },
    );
  };
}

export const ImageReferenceSchema = z
  .string({ error: (issue) => (issue.input === undefined ? "required" : "expected an image reference string") })
  .check(problemCheck(imageReferenceProblem))
  .describe("An OCI image reference with a tag and/or digest: [registry[:port]/]repository[:tag][@digest]");

/** Verdicts judged before a (synchronous) parse, off the main thread: see parseDeployPayloadAsync. */
let givenVerdicts: ReadonlyMap<string, PatternVerdict> | undefined;

/** Runs `parse` with these pattern verdicts at hand; a pattern not among them is checked as usual. */
export function withPatternVerdicts<T>(verdicts: ReadonlyMap<string, PatternVerdict>, parse: () => T): T {
  const before = givenVerdicts;
  givenVerdicts = verdicts;
  try {
    return parse();
  } finally {
    givenVerdicts = before;
  }
}

/** What is wrong with a rule pattern (undefined: nothing), with the verdicts given at hand. Shared with quick-check.ts. */
export function rulePatternProblem(value: string): string | undefined {
  const verdict = givenVerdicts?.get(value) ?? checkRulePattern(value);
  return verdict.ok ? undefined : verdict.message;
}

const RulePatternSchema = z
  .string({ error: (issue) => (issue.input === undefined ? "required" : "expected a regular expression string") })
  .check(problemCheck(rulePatternProblem));

export const DeployRuleSchema = z.strictObject({
  source: RulePatternSchema.describe("A JavaScript regular expression matched against the full image reference."),
  target: RulePatternSchema.describe("A JavaScript regular expression matched against backend names."),
});

const Mode = (what: string) =>
  z
    .enum(["auto", "manual"], { error: (issue) => `expected "auto" or "manual", got ${JSON.stringify(issue.input)}` })
    .describe(what);

/** Rules are required beside images. Shared with quick-check.ts. */
export function deployRulesProblem(backends: { images: string[]; deployRules?: unknown[] | undefined }) {
  return backends.images.length > 0 && (!backends.deployRules || backends.deployRules.length === 0)
    ? 'required when backends.images is present: add at least one { "source": ..., "target": ... } rule'
    : undefined;
}

export const BackendsSchema = z
  .strictObject({
    images: z
      .array(ImageReferenceSchema, { error: "expected an array of image references" })
      .min(1, { error: "at least one image is needed when backends is present" })
      .describe("Backend images to deploy, routed to backends by the deploy rules."),
    deployRules: z
      .array(DeployRuleSchema, { error: "expected an array of { source, target } rules" })
      .optional()
      .describe("Which image goes to which backends. Required when backends.images is present."),
  })
  .check(problemCheck(deployRulesProblem, ["deployRules"]));

/** An argument the deploy process does not know. Shared with quick-check.ts. */
export function extraArgProblem(value: string): string | undefined {
  return (KNOWN_EXTRA_ARGS as readonly string[]).includes(value)
    ? undefined
    : `unknown argument ${JSON.stringify(value)}; known: ${KNOWN_EXTRA_ARGS.join(", ")}`;
}

/** A payload with nothing to deploy. Shared with quick-check.ts. */
export function nothingToDeployProblem(payload: {
  backends?: unknown;
  frontend?: { image?: string };
  codeAsData?: { image?: string | undefined };
}): string | undefined {
  return !payload.backends && !payload.frontend?.image && !payload.codeAsData?.image
    ? "nothing to deploy: give backends.images, frontend.image or codeAsData.image"
    : undefined;
}

export const CodeAsDataSchema = z.strictObject({
  image: ImageReferenceSchema.optional().describe("The code-as-data image to deploy, if any."),
  updateMode: Mode("Deploy code as data automatically, or after an approval step.").default("auto"),
});

export const FrontendSchema = z.strictObject({
  image: ImageReferenceSchema.describe("The frontend image to deploy."),
});

export const NoDowntimeSchema = z.strictObject({
  promotionMode: Mode("Promote the new version automatically once ready, or after an approval.").default("auto"),
});

export const DeployPayloadSchema = z
  .strictObject({
    backends: BackendsSchema.optional(),
    codeAsData: CodeAsDataSchema.optional(),
    frontend: FrontendSchema.optional(),
    noDowntime: NoDowntimeSchema.optional(),
    skipUpdateVersions: z
      .boolean({ error: "expected true or false" })
      .default(false)
      .describe("Skip the automatic update of platform components to their stable versions."),
    extraArgs: z
      .array(z.string({ error: "expected a string" }).check(problemCheck(extraArgProblem)), {
        error: "expected an array of arguments",
      })
      .default([])
      .describe("Additional arguments for the deploy process. Only --force-sync is known today."),
  })
  .check(problemCheck(nothingToDeployProblem))
  .describe("The deploy payload CI posts to rollway (seed 004).");

/** A valid deploy payload, defaults applied. */
export type DeployPayload = z.output<typeof DeployPayloadSchema>;
/** What a client may send: defaults may be left out. */
export type DeployPayloadInput = z.input<typeof DeployPayloadSchema>;
export type DeployRule = z.output<typeof DeployRuleSchema>;
