/**
 * The deploy payload's check without zod, for a value JSON.parse gave: the payload `DeployPayloadSchema` gives
 * (defaults applied, keys in the schema's order, fresh objects and arrays), or undefined whenever zod might answer
 * anything else: any problem, any doubt. The caller then runs zod, so every refusal keeps zod's issues and messages;
 * the custom checks are the schema's own functions. In the server's dry-run profile (Node 24), zod's parse of a valid
 * payload was ~6% of the CPU and ~2.2 kB of the ~14.5 kB allocated per request. Tested against zod itself
 * (quick-check.test.ts).
 */
import {
  type DeployPayload,
  deployRulesProblem,
  extraArgProblem,
  imageReferenceProblem,
  nothingToDeployProblem,
  rulePatternProblem,
} from "./schema.js";

type Json = Record<string, unknown>;

const PAYLOAD_KEYS = ["backends", "codeAsData", "frontend", "noDowntime", "skipUpdateVersions", "extraArgs"];
const BACKENDS_KEYS = ["images", "deployRules"];
const RULE_KEYS = ["source", "target"];
const CODE_AS_DATA_KEYS = ["image", "updateMode"];
const FRONTEND_KEYS = ["image"];
const NO_DOWNTIME_KEYS = ["promotionMode"];

/** A plain object with no key outside `keys` (strict objects: any other key is an issue, `__proto__` included). */
function objectWith(value: unknown, keys: readonly string[]): value is Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  for (const key in value) if (!keys.includes(key)) return false;
  return true;
}

const isImage = (value: unknown): value is string =>
  typeof value === "string" && imageReferenceProblem(value) === undefined;
const isPattern = (value: unknown): value is string =>
  typeof value === "string" && rulePatternProblem(value) === undefined;
const isMode = (value: unknown): value is "auto" | "manual" => value === "auto" || value === "manual";

/** The images, copied, when every one is a valid reference and there is at least one. */
function imagesOf(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const images: string[] = [];
  for (const image of value) {
    if (!isImage(image)) return undefined;
    images.push(image);
  }
  return images;
}

function rulesOf(value: unknown): { source: string; target: string }[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const rules: { source: string; target: string }[] = [];
  for (const rule of value) {
    if (!objectWith(rule, RULE_KEYS) || !isPattern(rule.source) || !isPattern(rule.target)) return undefined;
    rules.push({ source: rule.source, target: rule.target });
  }
  return rules;
}

function backendsOf(value: unknown): DeployPayload["backends"] {
  if (!objectWith(value, BACKENDS_KEYS)) return undefined;
  const images = imagesOf(value.images);
  if (!images) return undefined;
  if (value.deployRules === undefined) return deployRulesProblem({ images }) ? undefined : { images };
  const deployRules = rulesOf(value.deployRules);
  if (!deployRules || deployRulesProblem({ images, deployRules })) return undefined;
  return { images, deployRules };
}

function codeAsDataOf(value: unknown): DeployPayload["codeAsData"] {
  if (!objectWith(value, CODE_AS_DATA_KEYS)) return undefined;
  const { image, updateMode = "auto" } = value;
  if (!isMode(updateMode)) return undefined;
  if (image === undefined) return { updateMode };
  return isImage(image) ? { image, updateMode } : undefined;
}

function frontendOf(value: unknown): DeployPayload["frontend"] {
  return objectWith(value, FRONTEND_KEYS) && isImage(value.image) ? { image: value.image } : undefined;
}

function noDowntimeOf(value: unknown): DeployPayload["noDowntime"] {
  if (!objectWith(value, NO_DOWNTIME_KEYS)) return undefined;
  const { promotionMode = "auto" } = value;
  return isMode(promotionMode) ? { promotionMode } : undefined;
}

function extraArgsOf(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return undefined;
  const args: string[] = [];
  for (const arg of value) {
    if (typeof arg !== "string" || extraArgProblem(arg) !== undefined) return undefined;
    args.push(arg);
  }
  return args;
}

/** `value` (from JSON.parse) as the valid payload zod would give, or undefined: let zod say what it says. */
export function quickDeployPayload(value: unknown): DeployPayload | undefined {
  if (!objectWith(value, PAYLOAD_KEYS)) return undefined;
  const payload: Partial<DeployPayload> = {};
  if (value.backends !== undefined) {
    payload.backends = backendsOf(value.backends);
    if (!payload.backends) return undefined;
  }
  if (value.codeAsData !== undefined) {
    payload.codeAsData = codeAsDataOf(value.codeAsData);
    if (!payload.codeAsData) return undefined;
  }
  if (value.frontend !== undefined) {
    payload.frontend = frontendOf(value.frontend);
    if (!payload.frontend) return undefined;
  }
  if (value.noDowntime !== undefined) {
    payload.noDowntime = noDowntimeOf(value.noDowntime);
    if (!payload.noDowntime) return undefined;
  }
  const { skipUpdateVersions = false } = value;
  if (typeof skipUpdateVersions !== "boolean") return undefined;
  payload.skipUpdateVersions = skipUpdateVersions;
  const extraArgs = extraArgsOf(value.extraArgs);
  if (!extraArgs) return undefined;
  payload.extraArgs = extraArgs;
  return nothingToDeployProblem(payload) ? undefined : (payload as DeployPayload);
}
