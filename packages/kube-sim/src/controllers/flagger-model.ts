// Shapes and pure rules of Flagger's Canary (flagger.app/v1beta1), from fluxcd/flagger
// pkg/apis/flagger/v1beta1/{canary,status}.go, pkg/canary/{status,spec}.go and pkg/controller/scheduler.go.
import { fnv32a, safeEncodeString } from "./argo-rollout-status.js";
import type { Deployment, ObjectMeta, PodTemplate } from "./argo-rollout-types.js";

export const FLAGGER_API_VERSION = "flagger.app/v1beta1";
export const CANARY_KIND = "Canary";
export const DEFAULT_ANALYSIS_INTERVAL_MS = 60_000;
export const MIN_ANALYSIS_INTERVAL_MS = 10_000;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
/** Labels Flagger looks for in the target's selector, in order (the -selector-labels flag default). */
export const SELECTOR_LABELS = ["app", "name", "app.kubernetes.io/name"] as const;

export type CanaryPhase =
  | "Initializing"
  | "Initialized"
  | "Waiting"
  | "Progressing"
  | "WaitingPromotion"
  | "Promoting"
  | "Finalising"
  | "Succeeded"
  | "Failed"
  | "Terminating"
  | "Terminated";

export type HookType =
  | "rollout"
  | "pre-rollout"
  | "post-rollout"
  | "confirm-rollout"
  | "confirm-promotion"
  | "event"
  | "rollback"
  | "confirm-traffic-increase";

export interface CanaryWebhook {
  name: string;
  type?: HookType;
  url: string;
  timeout?: string;
  retries?: number;
  metadata?: Record<string, string>;
  muteAlert?: boolean;
  disableTLS?: boolean;
}

export interface CanaryAnalysis {
  interval?: string;
  threshold?: number;
  iterations?: number;
  maxWeight?: number;
  stepWeight?: number;
  stepWeights?: number[];
  stepWeightPromotion?: number;
  mirror?: boolean;
  match?: unknown[];
  webhooks?: CanaryWebhook[];
  metrics?: unknown[];
  primaryReadyThreshold?: number;
  canaryReadyThreshold?: number;
}

export interface CanarySpec {
  provider?: string;
  targetRef: { apiVersion?: string; kind: string; name: string };
  service: {
    name?: string;
    port: number;
    portName?: string;
    targetPort?: number | string;
    [other: string]: unknown;
  };
  analysis?: CanaryAnalysis;
  skipAnalysis?: boolean;
  suspend?: boolean;
  progressDeadlineSeconds?: number;
  [other: string]: unknown;
}

export interface CanaryCondition {
  type: "Promoted";
  status: "True" | "False" | "Unknown";
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface CanaryStatus {
  phase?: CanaryPhase;
  failedChecks?: number;
  canaryWeight?: number;
  iterations?: number;
  lastAppliedSpec?: string;
  lastPromotedSpec?: string;
  lastTransitionTime?: string;
  conditions?: CanaryCondition[];
  trackedConfigs?: Record<string, string>;
}

export interface Canary {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: CanarySpec;
  status?: CanaryStatus;
}

/** The JSON body Flagger POSTs to every webhook (CanaryWebhookPayload). */
export interface CanaryWebhookPayload {
  name: string;
  namespace: string;
  phase: CanaryPhase | "";
  checksum: string;
  metadata?: Record<string, string>;
}

/** Go time.ParseDuration for the units Canary specs use ("1m", "30s", "1m30s", "500ms"). */
export function parseGoDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null = re.exec(text);
  while (m) {
    const n = Number(m[1]);
    total += m[2] === "h" ? n * 3_600_000 : m[2] === "m" ? n * 60_000 : m[2] === "s" ? n * 1000 : n;
    matched = re.lastIndex;
    m = re.exec(text);
  }
  return text.length > 0 && matched === text.length ? total : undefined;
}

/** GetAnalysisInterval: default 60s, at least 10s, unparsable falls back to the default. */
export function analysisIntervalMs(canary: Canary): number {
  const raw = canary.spec.analysis?.interval;
  if (!raw) return DEFAULT_ANALYSIS_INTERVAL_MS;
  const ms = parseGoDuration(raw);
  if (ms === undefined) return DEFAULT_ANALYSIS_INTERVAL_MS;
  return Math.max(ms, MIN_ANALYSIS_INTERVAL_MS);
}

export function skipAnalysis(canary: Canary): boolean {
  return !canary.spec.analysis || !!canary.spec.skipAnalysis;
}

export function deploymentStrategy(canary: Canary): "canary" | "blue-green" | "ab-testing" {
  const a = canary.spec.analysis;
  if (!a) return "canary";
  if ((a.match?.length ?? 0) > 0 && (a.iterations ?? 0) > 0) return "ab-testing";
  if ((a.iterations ?? 0) > 0) return "blue-green";
  return "canary";
}

/** GetServiceNames: apex, primary and canary Service names. */
export function serviceNames(canary: Canary): { apex: string; primary: string; canary: string } {
  const apex = canary.spec.service.name || canary.spec.targetRef.name;
  return { apex, primary: `${apex}-primary`, canary: `${apex}-canary` };
}

/** getSelectorLabel: the first of Flagger's selector labels present in the target's matchLabels. */
export function selectorLabel(dep: Deployment): { label: string; value: string } | undefined {
  const labels = dep.spec?.selector?.matchLabels ?? {};
  for (const label of SELECTOR_LABELS) {
    const value = labels[label];
    if (value !== undefined) return { label, value };
  }
  return undefined;
}

/** Go fmt %#v-ish rendering with sorted keys, standing in for the spew dump Flagger hashes. */
function dump(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(dump).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${k}:${dump(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "nil";
}

/** canary.ComputeHash: FNV-1a over a sorted dump, safe-encoded (so values differ from Flagger's). */
export function computeFlaggerHash(value: unknown): string {
  return safeEncodeString(String(fnv32a(dump(value))));
}

export function templateHash(template: PodTemplate | undefined): string {
  return computeFlaggerHash(template ?? {});
}

/** canaryChecksum: the hash of trackedConfigs and lastAppliedSpec sent as `checksum`. */
export function canaryChecksum(canary: Canary): string {
  return computeFlaggerHash({
    TrackedConfigs: canary.status?.trackedConfigs ?? null,
    LastAppliedSpec: canary.status?.lastAppliedSpec ?? "",
  });
}

/** hasSpecChanged: a new template is one that differs from the last applied and last promoted. */
export function hasSpecChanged(canary: Canary, template: PodTemplate | undefined): boolean {
  const status = canary.status ?? {};
  if (!status.lastAppliedSpec) return true;
  const hash = templateHash(template);
  if (status.lastPromotedSpec === hash) return false;
  return status.lastAppliedSpec !== hash;
}

/**
 * MakeStatusConditions: the `Promoted` condition for a phase, or undefined when it would not
 * change (same status and reason). Messages are Flagger's, with the target kind filled in.
 */
export function makeStatusConditions(canary: Canary, phase: CanaryPhase, now: string): CanaryCondition[] | undefined {
  const kind = canary.spec.targetRef.kind;
  const current = canary.status?.conditions?.find((c) => c.type === "Promoted");
  let status: CanaryCondition["status"] = "Unknown";
  let message = `New ${kind} detected, starting initialization.`;
  switch (phase) {
    case "Initializing":
      break;
    case "Initialized":
      status = "True";
      message = `${kind} initialization completed.`;
      break;
    case "Waiting":
    case "WaitingPromotion":
      message = "Waiting for approval.";
      break;
    case "Progressing":
      message = "New revision detected, progressing canary analysis.";
      break;
    case "Promoting":
      message = "Canary analysis completed, starting primary rolling update.";
      break;
    case "Finalising":
      message = "Canary analysis completed, routing all traffic to primary.";
      break;
    case "Succeeded":
      status = "True";
      message = "Canary analysis completed successfully, promotion finished.";
      break;
    case "Failed":
      status = "False";
      message = `Canary analysis failed, ${kind} scaled to zero.`;
      break;
    default:
      break;
  }
  if (current && current.status === status && current.reason === phase) return undefined;
  const condition: CanaryCondition = {
    type: "Promoted",
    status,
    lastUpdateTime: now,
    lastTransitionTime: current && current.status === status ? current.lastTransitionTime : now,
    reason: phase,
    message,
  };
  return [condition];
}

/** maxWeight: the last stepWeights entry, else maxWeight, else 100. */
export function maxWeight(analysis: CanaryAnalysis | undefined): number {
  const steps = analysis?.stepWeights ?? [];
  const last = steps[steps.length - 1];
  if (last !== undefined) return Math.min(100, last);
  if ((analysis?.maxWeight ?? 0) > 0) return analysis?.maxWeight ?? 100;
  return 100;
}

/** nextStepWeight: how much weight the next canary step adds. */
export function nextStepWeight(analysis: CanaryAnalysis | undefined, canaryWeight: number): number {
  const steps = analysis?.stepWeights ?? [];
  if ((analysis?.stepWeight ?? 0) > 0 || steps.length === 0) return analysis?.stepWeight ?? 0;
  const maxStep = 100 - canaryWeight;
  if (maxStep === 0) return 1;
  const first = steps[0] ?? 0;
  if (canaryWeight === 0) return Math.min(maxStep, first);
  for (let i = 0; i < steps.length - 1; i++) {
    if (steps[i] === canaryWeight) return Math.min(maxStep, (steps[i + 1] ?? 0) - canaryWeight);
  }
  return maxStep;
}

/** The Canary's spec fields that must be present, with where they are missing. */
export function validateCanary(canary: Canary): string | undefined {
  if (!canary.spec?.targetRef?.name) return "spec.targetRef.name is required";
  if (canary.spec.targetRef.kind !== "Deployment") {
    return `spec.targetRef.kind ${JSON.stringify(canary.spec.targetRef.kind)} is not supported by kube-sim (only Deployment)`;
  }
  if (typeof canary.spec.service?.port !== "number") return "spec.service.port is required";
  return undefined;
}
