/**
 * Analysis for the simulated Argo Rollouts controller (argoproj/argo-rollouts rollout/analysis.go and
 * utils/analysis/factory.go): which analyses a Rollout references (for the InvalidSpec check of missing
 * templates), and the AnalysisRun the controller creates from AnalysisTemplates/ClusterAnalysisTemplates,
 * with its name, labels, annotations, owner, arguments and dry-run rules.
 */
import type { AnalysisRun, Metric } from "./analysisrun.js";
import type { RolloutAnalysis, RolloutSpec } from "./argo-rollout-types.js";
import { controllerRefTo } from "./workload.js";

export type AnalysisKind = "Step" | "Background" | "PrePromotion" | "PostPromotion";

const ROLLOUT_TYPE_LABEL = "rollout-type";
export const STEP_INDEX_LABEL = "step-index";

export interface AnalysisTemplateObject {
  metadata: { name?: string; namespace?: string };
  spec?: {
    metrics?: Metric[];
    args?: Array<{ name: string; value?: string }>;
    dryRun?: Array<{ metricName: string }>;
    templates?: Array<{ templateName: string; clusterScope?: boolean }>;
  };
}

export interface ReferencedAnalysis {
  kind: AnalysisKind;
  analysis: RolloutAnalysis;
  /** GetAnalysisTemplateWithTypeFieldPath */
  fieldPath: string;
  stepIndex?: number;
}

/** getReferencedRolloutAnalyses: every analysis a Rollout names, in upstream's order. */
export function referencedAnalyses(spec: RolloutSpec): ReferencedAnalysis[] {
  const out: ReferencedAnalysis[] = [];
  const bg = spec.strategy.blueGreen as
    | { prePromotionAnalysis?: RolloutAnalysis; postPromotionAnalysis?: RolloutAnalysis }
    | undefined;
  if (bg) {
    if (bg.prePromotionAnalysis)
      out.push({
        kind: "PrePromotion",
        analysis: bg.prePromotionAnalysis,
        fieldPath: "spec.strategy.blueGreen.prePromotionAnalysis.templates",
      });
    if (bg.postPromotionAnalysis)
      out.push({
        kind: "PostPromotion",
        analysis: bg.postPromotionAnalysis,
        fieldPath: "spec.strategy.blueGreen.postPromotionAnalysis.templates",
      });
    return out;
  }
  const canary = spec.strategy.canary;
  if (!canary) return out;
  (canary.steps ?? []).forEach((step, i) => {
    const analysis = step.analysis as RolloutAnalysis | undefined;
    if (analysis)
      out.push({
        kind: "Step",
        analysis,
        fieldPath: `spec.strategy.canary.steps[${i}].analysis.templates`,
        stepIndex: i,
      });
  });
  const background = canary.analysis as RolloutAnalysis | undefined;
  if (background)
    out.push({ kind: "Background", analysis: background, fieldPath: "spec.strategy.canary.analysis.templates" });
  return out;
}

export interface TemplateLookup {
  template(name: string): Promise<AnalysisTemplateObject | undefined>;
  clusterTemplate(name: string): Promise<AnalysisTemplateObject | undefined>;
}

/**
 * getReferencedAnalysisTemplatesFromRef: the templates (nested ones too), or upstream's field error text for the
 * first one missing, e.g. `spec.strategy.canary.steps[0].analysis.templates: Invalid value: "x": AnalysisTemplate 'x' not found`.
 */
export async function resolveTemplates(
  refs: RolloutAnalysis["templates"],
  fieldPath: string,
  lookup: TemplateLookup,
  depth = 0,
): Promise<{ templates: AnalysisTemplateObject[]; error?: string }> {
  const templates: AnalysisTemplateObject[] = [];
  for (const ref of refs ?? []) {
    const found = ref.clusterScope
      ? await lookup.clusterTemplate(ref.templateName)
      : await lookup.template(ref.templateName);
    if (!found) {
      const kind = ref.clusterScope ? "ClusterAnalysisTemplate" : "AnalysisTemplate";
      return {
        templates,
        error: `${fieldPath}: Invalid value: ${JSON.stringify(ref.templateName)}: ${kind} '${ref.templateName}' not found`,
      };
    }
    templates.push(found);
    if (found.spec?.templates && depth < 10) {
      const inner = await resolveTemplates(found.spec.templates, "spec.templates", lookup, depth + 1);
      templates.push(...inner.templates);
      if (inner.error) return { templates, error: inner.error };
    }
  }
  return { templates };
}

function substitute(value: unknown, args: Map<string, string>): unknown {
  if (typeof value === "string")
    return value.replace(/\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}/g, (whole, name: string) => args.get(name) ?? whole);
  if (Array.isArray(value)) return value.map((v) => substitute(v, args));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, args)]));
  return value;
}

export interface NewRunInput {
  rolloutName: string;
  rolloutUid: string;
  namespace: string;
  selectorLabels: Record<string, string>;
  analysis: RolloutAnalysis;
  templates: AnalysisTemplateObject[];
  podHash: string;
  stableHash: string | undefined;
  revision: string;
  kind: AnalysisKind;
  stepIndex?: number;
}

/** newAnalysisRunFromRollout + NewAnalysisRunFromTemplates; an unresolved argument is an error, as upstream. */
export function newAnalysisRun(input: NewRunInput): { run?: AnalysisRun; error?: string } {
  const infix =
    input.kind === "Step"
      ? String(input.stepIndex)
      : input.kind === "PrePromotion"
        ? "pre"
        : input.kind === "PostPromotion"
          ? "post"
          : "";
  const name = [input.rolloutName, input.podHash, input.revision, ...(infix ? [infix] : [])].join("-");
  const args = new Map<string, string>();
  for (const t of input.templates)
    for (const a of t.spec?.args ?? []) if (a.value !== undefined) args.set(a.name, a.value);
  const declared = new Set(input.templates.flatMap((t) => (t.spec?.args ?? []).map((a) => a.name)));
  for (const a of input.analysis.args ?? []) {
    let value = a.value;
    if (a.valueFrom?.podTemplateHashValue === "Latest") value = input.podHash;
    if (a.valueFrom?.podTemplateHashValue === "Stable") value = input.stableHash ?? "";
    if (value !== undefined) args.set(a.name, value);
  }
  for (const arg of declared) {
    if (!args.has(arg)) return { error: `args.${arg} was not resolved` };
  }
  const metrics: Metric[] = [];
  const seen = new Set<string>();
  for (const t of input.templates) {
    for (const m of t.spec?.metrics ?? []) {
      if (seen.has(m.name)) return { error: `two metrics have the same name '${m.name}'` };
      seen.add(m.name);
      metrics.push(substitute(structuredClone(m), args) as Metric);
    }
  }
  const dryRun = [...input.templates.flatMap((t) => t.spec?.dryRun ?? []), ...(input.analysis.dryRun ?? [])];
  const labels: Record<string, string> = {
    "rollouts-pod-template-hash": input.podHash,
    [ROLLOUT_TYPE_LABEL]: input.kind,
    ...(input.kind === "Step" ? { [STEP_INDEX_LABEL]: String(input.stepIndex) } : {}),
    ...(input.analysis.analysisRunMetadata?.labels ?? {}),
    ...input.selectorLabels,
  };
  const run: AnalysisRun = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AnalysisRun",
    metadata: {
      name,
      namespace: input.namespace,
      labels,
      annotations: {
        "rollout.argoproj.io/revision": input.revision,
        ...(input.analysis.analysisRunMetadata?.annotations ?? {}),
      },
      ownerReferences: [controllerRefTo("argoproj.io/v1alpha1", "Rollout", input.rolloutName, input.rolloutUid)],
    },
    spec: {
      metrics,
      ...(args.size > 0 ? { args: [...args].map(([n, value]) => ({ name: n, value })) } : {}),
      ...(dryRun.length > 0 ? { dryRun } : {}),
    },
  };
  return { run };
}
