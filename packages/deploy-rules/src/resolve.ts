/**
 * Decides which image each backend gets. `source` is matched against the full image reference and `target`
 * against backend names, with JavaScript regex semantics. The result is a pure function of the input.
 */
import { DeployRulesError, type DeployRulesProblem } from "./errors.js";
import { checkRulePattern, MAX_SUBJECT_LENGTH } from "./safe-regex.js";

const MAX_BACKEND_NAME_LENGTH = 253;

export interface DeployRule {
  source: string;
  target: string;
}

/** A backend by name, optionally with the image it runs now (kept when no rule targets it). */
export type BackendInput = string | { name: string; currentImage?: string | undefined };

export interface ResolveInput {
  images: readonly string[];
  rules: readonly DeployRule[];
  backends: readonly BackendInput[];
}

export interface ChosenBy {
  /** Index in `backends.deployRules`. */
  index: number;
  source: string;
  target: string;
}

export type Assignment =
  | { backend: string; change: "update"; image: string; currentImage: string | undefined; rule: ChosenBy }
  | {
      backend: string;
      change: "unchanged";
      image: string | undefined;
      currentImage: string | undefined;
      /** The rule that targets the backend with the image it already runs; absent when no rule targets it. */
      rule?: ChosenBy;
    };

export interface ResolveWarning {
  path: string;
  message: string;
}

export interface Resolution {
  /** One entry per backend, in the order the backends were given. */
  assignments: Assignment[];
  warnings: ResolveWarning[];
}

interface CompiledRule extends ChosenBy {
  sourceRe: RegExp;
  targetRe: RegExp;
}

const rulePath = (index: number) => `backends.deployRules[${index}]`;
const describeRule = (r: ChosenBy) => `${rulePath(r.index)} (source /${r.source}/, target /${r.target}/)`;

/** Compiles and safety-checks every rule; throws one DeployRulesError listing every bad pattern. */
export function compileDeployRules(rules: readonly DeployRule[]): CompiledRule[] {
  const problems: DeployRulesProblem[] = [];
  const compiled: CompiledRule[] = [];
  rules.forEach((rule, index) => {
    const source = checkRulePattern(rule.source);
    const target = checkRulePattern(rule.target);
    for (const [field, verdict] of [
      ["source", source],
      ["target", target],
    ] as const) {
      if (!verdict.ok)
        problems.push({ code: verdict.code, path: `${rulePath(index)}.${field}`, message: verdict.message });
    }
    if (source.ok && target.ok) {
      compiled.push({
        index,
        source: rule.source,
        target: rule.target,
        sourceRe: source.regex,
        targetRe: target.regex,
      });
    }
  });
  if (problems.length > 0) throw new DeployRulesError(problems);
  return compiled;
}

/**
 * Resolves images to backends. Throws a DeployRulesError (listing every problem) when an image matches no
 * rule's source or a backend would be given two different images; a rule whose target matches no backend
 * is a warning. Backends that no rule targets keep their current image.
 */
export function resolveDeployRules(input: ResolveInput): Resolution {
  const rules = compileDeployRules(input.rules);
  const backends = input.backends.map((b) => (typeof b === "string" ? { name: b, currentImage: undefined } : b));
  const problems: DeployRulesProblem[] = [];
  const warnings: ResolveWarning[] = [];
  // The pattern safety policy relies on short subjects: refuse anything longer before a pattern runs on it.
  input.images.forEach((image, i) => {
    if (image.length > MAX_SUBJECT_LENGTH) {
      problems.push({
        code: "INVALID_NAME",
        path: `backends.images[${i}]`,
        message: `${image.length} characters; an image reference has at most ${MAX_SUBJECT_LENGTH}`,
      });
    }
  });
  for (const backend of backends) {
    if (backend.name.length === 0 || backend.name.length > MAX_BACKEND_NAME_LENGTH) {
      problems.push({
        code: "INVALID_NAME",
        path: `backend "${backend.name.slice(0, 40)}"`,
        message: `a backend name has 1 to ${MAX_BACKEND_NAME_LENGTH} characters (a Kubernetes name), not ${backend.name.length}`,
      });
    }
  }
  if (problems.length > 0) throw new DeployRulesError(problems);

  // For each rule, the images its source matches (first image wins when a rule matches several: see below).
  const imagesByRule = rules.map((rule) => input.images.filter((image) => rule.sourceRe.test(image)));
  input.images.forEach((image, i) => {
    if (!imagesByRule.some((matched) => matched.includes(image))) {
      problems.push({
        code: "UNMATCHED_IMAGE",
        path: `backends.images[${i}]`,
        message: `"${image}" matches no deploy rule's source; add a rule whose source matches it, or remove the image`,
      });
    }
  });

  const chosen = new Map<string, { image: string; rule: CompiledRule }>();
  const reported = new Set<string>();
  const reachedBy = new Set<string>();
  rules.forEach((rule, r) => {
    const images = imagesByRule[r] ?? [];
    if (images.length === 0) {
      warnings.push({ path: rulePath(rule.index), message: `source /${rule.source}/ matches none of the images` });
      return;
    }
    if (new Set(images).size > 1) {
      problems.push({
        code: "CONFLICTING_RULES",
        path: `${rulePath(rule.index)}.source`,
        message: `matches ${images.length} images (${images.map((x) => `"${x}"`).join(", ")}), so every backend it targets would get more than one; anchor the source to a single image, e.g. with :tag$`,
      });
      return;
    }
    const image = images[0] as string;
    let targeted = 0;
    for (const backend of backends) {
      if (!rule.targetRe.test(backend.name)) continue;
      targeted++;
      reachedBy.add(image);
      const previous = chosen.get(backend.name);
      if (!previous) {
        chosen.set(backend.name, { image, rule });
      } else if (previous.image !== image && !reported.has(backend.name)) {
        reported.add(backend.name);
        problems.push({
          code: "CONFLICTING_RULES",
          path: `backend "${backend.name}"`,
          message:
            `given two images: "${previous.image}" by ${describeRule(previous.rule)} and "${image}" by ${describeRule(rule)}; ` +
            `make the targets disjoint, e.g. anchor one to the exact name (^${escapeForRegex(backend.name)}$) and exclude that name from the other with a lookahead (^(?!${escapeForRegex(backend.name)}$).*$)`,
        });
      }
    }
    if (targeted === 0) {
      warnings.push({ path: `${rulePath(rule.index)}.target`, message: `/${rule.target}/ matches no backend` });
    }
  });
  input.images.forEach((image, i) => {
    if (!reachedBy.has(image) && imagesByRule.some((matched) => matched.includes(image))) {
      warnings.push({ path: `backends.images[${i}]`, message: `"${image}" is deployed to no backend` });
    }
  });
  if (problems.length > 0) throw new DeployRulesError(problems);

  const assignments = backends.map((backend): Assignment => {
    const pick = chosen.get(backend.name);
    if (!pick) {
      return {
        backend: backend.name,
        change: "unchanged",
        image: backend.currentImage,
        currentImage: backend.currentImage,
      };
    }
    const { index, source, target } = pick.rule;
    if (pick.image === backend.currentImage) {
      return {
        backend: backend.name,
        change: "unchanged",
        image: backend.currentImage,
        currentImage: backend.currentImage,
        rule: { index, source, target },
      };
    }
    return {
      backend: backend.name,
      change: "update",
      image: pick.image,
      currentImage: backend.currentImage,
      rule: { index, source, target },
    };
  });
  return { assignments, warnings };
}

function escapeForRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
