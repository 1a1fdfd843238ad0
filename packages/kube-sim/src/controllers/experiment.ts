/**
 * The Argo Rollouts experiment controller (argoproj.io/v1alpha1 Experiment), a port of argoproj/argo-rollouts
 * experiments/experiment.go, replicaset.go and utils/experiment: one ReplicaSet per template (named
 * `<experiment>-<template>`, its own pod-template hash), template statuses Progressing → Running → Successful (or
 * Failed past `progressDeadlineSeconds`), `status.availableAt` once every template runs, then one AnalysisRun per
 * analysis (`<experiment>-<analysis>`, arguments with `{{templates.<name>.podTemplateHash}}` resolved), the phase
 * from the templates and analyses as upstream assesses them (`duration`, `requiredForCompletion`, a failed analysis
 * fails the experiment and terminates it), and the ReplicaSets scaled down after `scaleDownDelaySeconds`.
 * Not simulated: template `service`s, experiment conditions, `measurementRetention`.
 */
import type { KubeObject } from "../crds.js";
import { KubeApiError } from "../errors.js";
import { type AnalysisRun, isCompleted } from "./analysisrun.js";
import { computePodTemplateHash, durationSeconds } from "./argo-rollout-status.js";
import {
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  POD_TEMPLATE_HASH_LABEL,
  type PodTemplate,
  type ReplicaSet,
  SCALE_DOWN_DEADLINE_ANNOTATION,
} from "./argo-rollout-types.js";
import { type AnalysisTemplateObject, newAnalysisRun, resolveTemplates } from "./rollout-analysis.js";
import { kubeTime } from "./rollout-reconcile.js";
import { type ControllerContext, defineController } from "./runtime.js";
import { controllerRef, type Obj, typeOf } from "./workload.js";

const EXPERIMENT_NAME_ANNOTATION = "experiment.argoproj.io/name";
export const EXPERIMENT_TEMPLATE_NAME_ANNOTATION = "experiment.argoproj.io/template-name";
const DEFAULT_EXPERIMENT_SCALE_DOWN_DELAY_SECONDS = 30;
const REQUIRED_ANALYSIS_COMPLETED_MESSAGE = "Required AnalysisRuns completed";

const EXPERIMENT = { apiVersion: "argoproj.io/v1alpha1", kind: "Experiment" };
const REPLICA_SET = { apiVersion: "apps/v1", kind: "ReplicaSet" };
const ANALYSIS_RUN = { apiVersion: "argoproj.io/v1alpha1", kind: "AnalysisRun" };

type TemplateStatusCode = "Progressing" | "Running" | "Successful" | "Failed" | "Error";
type Phase = "Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive";

export interface ExperimentTemplate {
  name: string;
  replicas?: number;
  minReadySeconds?: number;
  selector?: { matchLabels?: Record<string, string> };
  template: PodTemplate;
}

export interface ExperimentAnalysis {
  name: string;
  templateName: string;
  clusterScope?: boolean;
  args?: Array<{ name: string; value?: string }>;
  requiredForCompletion?: boolean;
}

export interface TemplateStatus {
  name: string;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  status?: TemplateStatusCode;
  message?: string;
  lastTransitionTime?: string;
  podTemplateHash?: string;
}

export interface ExperimentAnalysisRunStatus {
  name: string;
  analysisRun?: string;
  phase?: Phase;
  message?: string;
}

export interface Experiment {
  apiVersion?: string;
  kind?: string;
  metadata: KubeObject["metadata"];
  spec: {
    duration?: string;
    progressDeadlineSeconds?: number;
    scaleDownDelaySeconds?: number;
    terminate?: boolean;
    templates: ExperimentTemplate[];
    analyses?: ExperimentAnalysis[];
    dryRun?: Array<{ metricName: string }>;
    analysisRunMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  };
  status?: {
    phase?: Phase;
    message?: string;
    availableAt?: string;
    templateStatuses?: TemplateStatus[];
    analysisRuns?: ExperimentAnalysisRunStatus[];
  };
}

const ANALYSIS_ORDER: Phase[] = ["Successful", "Running", "Pending", "Inconclusive", "Error", "Failed"];
const TEMPLATE_ORDER: TemplateStatusCode[] = ["Successful", "Running", "Progressing", "Error", "Failed"];

/** analysisutil.IsWorse / experimentutil.TemplateIsWorse */
function isWorse<T>(order: T[], current: T | undefined, next: T | undefined): boolean {
  return order.indexOf(next as T) > order.indexOf(current as T);
}

function templateCompleted(code: TemplateStatusCode | undefined): boolean {
  return code === "Successful" || code === "Failed" || code === "Error";
}

/** RequiredAnalysisRunsSuccessful */
function requiredRunsSuccessful(ex: Experiment, runs: ExperimentAnalysisRunStatus[] | undefined): boolean {
  const required = (ex.spec.analyses ?? []).filter((a) => a.requiredForCompletion);
  if (required.length === 0) return false;
  return required.every((a) => runs?.find((r) => r.name === a.name)?.phase === "Successful");
}

/** experimentutil.IsTerminating, on the status as stored. */
export function isTerminating(ex: Experiment): boolean {
  if (ex.spec.terminate || isCompleted(ex.status?.phase)) return true;
  if ((ex.status?.templateStatuses ?? []).some((t) => t.status === "Failed" || t.status === "Error")) return true;
  if (
    (ex.status?.analysisRuns ?? []).some(
      (r) => r.phase === "Failed" || r.phase === "Error" || r.phase === "Inconclusive",
    )
  )
    return true;
  return requiredRunsSuccessful(ex, ex.status?.analysisRuns);
}

/** PassedDurations: whether spec.duration has passed since status.availableAt, and the milliseconds left. */
function passedDuration(
  ex: Experiment,
  availableAt: string | undefined,
  now: number,
): { passed: boolean; leftMs: number } {
  const seconds = durationSeconds(ex.spec.duration);
  if (seconds === undefined || !availableAt) return { passed: false, leftMs: 0 };
  const end = Date.parse(availableAt) + seconds * 1000;
  return { passed: now > end, leftMs: end - now };
}

/** newReplicaSetFromTemplate: the template without any hash label, hashed; name `<experiment>-<template>`. */
export function templateReplicaSet(ex: Experiment, template: ExperimentTemplate, replicas: number): ReplicaSet {
  const podTemplate = structuredClone(template.template);
  if (podTemplate.metadata?.labels) delete podTemplate.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  const hash = computePodTemplateHash(podTemplate);
  podTemplate.metadata = {
    ...podTemplate.metadata,
    labels: { ...podTemplate.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash },
  };
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${ex.metadata.name}-${template.name}`,
      namespace: ex.metadata.namespace,
      labels: { ...podTemplate.metadata.labels },
      annotations: {
        [EXPERIMENT_NAME_ANNOTATION]: ex.metadata.name as string,
        [EXPERIMENT_TEMPLATE_NAME_ANNOTATION]: template.name,
      },
      ownerReferences: [controllerRef({ ...(ex as unknown as KubeObject), ...EXPERIMENT })],
    },
    spec: {
      replicas,
      minReadySeconds: template.minReadySeconds ?? 0,
      selector: { matchLabels: { ...template.selector?.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash } },
      template: podTemplate,
    },
  };
}

/** templateutil.ResolveExperimentArgsValue: `{{templates.<name>.podTemplateHash}}` and `.replicaset.name`. */
function resolveArg(value: string, rss: Map<string, ReplicaSet>): string {
  return value.replace(
    /\{\{\s*templates\.([A-Za-z0-9_-]+)\.(podTemplateHash|replicaset\.name)\s*\}\}/g,
    (whole, name: string, field: string) => {
      const rs = rss.get(name);
      if (!rs) return whole;
      return field === "podTemplateHash"
        ? (rs.spec.template.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL] ?? "")
        : rs.metadata.name;
    },
  );
}

async function reconcileExperiment(ctx: ControllerContext, stored: KubeObject): Promise<number | undefined> {
  const ex = structuredClone(stored) as unknown as Experiment;
  const ns = ex.metadata.namespace;
  const name = ex.metadata.name as string;
  const now = ctx.clock.now();
  const nowIso = kubeTime(new Date(now));
  const rsType = typeOf(ctx.store, "apps", "replicasets");
  const runType = ctx.store.types.byKind(ANALYSIS_RUN.apiVersion, ANALYSIS_RUN.kind);
  const exType = ctx.store.types.byKind(EXPERIMENT.apiVersion, EXPERIMENT.kind);
  if (!runType || !exType) return undefined;
  const event = (type: "Normal" | "Warning", reason: string, message: string) =>
    ctx.recordEvent(stored, type, reason, message, "rollouts-controller");
  const terminating = isTerminating(ex);
  const finished = isCompleted(ex.status?.phase);
  const deadlineSeconds = ex.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  const scaleDownDelay = ex.spec.scaleDownDelaySeconds ?? DEFAULT_EXPERIMENT_SCALE_DOWN_DELAY_SECONDS;
  let requeueMs: number | undefined;
  const requeue = (ms: number) => {
    const at = Math.max(1, ms);
    requeueMs = requeueMs === undefined ? at : Math.min(requeueMs, at);
  };

  const rss = new Map<string, ReplicaSet>();
  for (const rs of ctx.store.listRaw(rsType, ns).items as unknown as ReplicaSet[]) {
    if (!(rs.metadata.ownerReferences ?? []).some((o) => o.controller && o.uid === ex.metadata.uid)) continue;
    const template = rs.metadata.annotations?.[EXPERIMENT_TEMPLATE_NAME_ANNOTATION];
    if (template) rss.set(template, rs);
  }

  const templateStatuses: TemplateStatus[] = [];
  for (const template of ex.spec.templates ?? []) {
    const previous = ex.status?.templateStatuses?.find((t) => t.name === template.name);
    const ts: TemplateStatus = previous
      ? structuredClone(previous)
      : { name: template.name, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 };
    const replicas = template.replicas ?? 1;
    // CalculateTemplateReplicasCount
    const desired = finished || terminating || templateCompleted(previous?.status) ? 0 : replicas;
    let rs = rss.get(template.name);
    if (!rs) {
      const created = ctx.store.create(rsType, ns, templateReplicaSet(ex, template, desired) as unknown as KubeObject);
      rs = created.object as unknown as ReplicaSet;
      rss.set(template.name, rs);
      ts.lastTransitionTime = nowIso;
      event("Normal", "ScalingReplicaSet", `Scaled up ReplicaSet ${rs.metadata.name} from 0 to ${desired}`);
    } else {
      let target = desired;
      if (desired === 0 && !rs.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION] && scaleDownDelay > 0) {
        const deadline = kubeTime(new Date(now + scaleDownDelay * 1000));
        rs = ctx.store.patch(rsType, ns, rs.metadata.name, "merge", {
          metadata: { annotations: { [SCALE_DOWN_DEADLINE_ANNOTATION]: deadline } },
        }).object as unknown as ReplicaSet;
      }
      if ((rs.spec.replicas ?? 0) !== desired) {
        const at = rs.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION];
        const left = desired === 0 && at ? Date.parse(at) - now : 0;
        if (left > 0) {
          requeue(left);
          target = replicas;
        }
        if ((rs.spec.replicas ?? 0) !== target) {
          const from = rs.spec.replicas ?? 0;
          rs = ctx.store.patch(rsType, ns, rs.metadata.name, "merge", { spec: { replicas: target } })
            .object as unknown as ReplicaSet;
          event(
            "Normal",
            "ScalingReplicaSet",
            `Scaled ${target > from ? "up" : "down"} ReplicaSet ${rs.metadata.name} from ${from} to ${target}`,
          );
        }
        ts.lastTransitionTime = nowIso;
      }
    }
    const counts = {
      replicas: rs.status?.replicas ?? 0,
      updatedReplicas: rs.status?.replicas ?? 0,
      readyReplicas: rs.status?.readyReplicas ?? 0,
      availableReplicas: rs.status?.availableReplicas ?? 0,
    };
    if (
      counts.replicas !== ts.replicas ||
      counts.readyReplicas !== ts.readyReplicas ||
      counts.availableReplicas !== ts.availableReplicas ||
      counts.updatedReplicas !== ts.updatedReplicas
    )
      ts.lastTransitionTime = nowIso;
    Object.assign(ts, counts);
    ts.podTemplateHash = rs.spec.template.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL];
    if (!templateCompleted(ts.status)) {
      if (desired === ts.availableReplicas) {
        ts.status = passedDuration(ex, ex.status?.availableAt, now).passed || terminating ? "Successful" : "Running";
      } else {
        const from = ts.lastTransitionTime ? Date.parse(ts.lastTransitionTime) : now;
        if (now > from + deadlineSeconds * 1000) {
          ts.status = "Failed";
          ts.message = `Template '${template.name}' exceeded its progressDeadlineSeconds (${deadlineSeconds})`;
        } else if (terminating) ts.status = "Successful";
        else {
          ts.status = "Progressing";
          requeue(from + deadlineSeconds * 1000 + 1000 - now);
        }
      }
    }
    if (previous?.status !== ts.status) {
      let message = `Template '${template.name}' transitioned from ${previous?.status ?? ""} -> ${ts.status}`;
      if (ts.message) message += `: ${ts.message}`;
      const warn = ts.status === "Failed" || ts.status === "Error";
      event(warn ? "Warning" : "Normal", `Template${ts.status}`, message);
    }
    templateStatuses.push(ts);
  }

  const lookup = {
    template: async (n: string) =>
      ctx.store.peek(typeOf(ctx.store, "argoproj.io", "analysistemplates"), ns, n) as
        | AnalysisTemplateObject
        | undefined,
    clusterTemplate: async (n: string) =>
      ctx.store.peek(typeOf(ctx.store, "argoproj.io", "clusteranalysistemplates"), undefined, n) as
        | AnalysisTemplateObject
        | undefined,
  };
  const analysisRuns: ExperimentAnalysisRunStatus[] = [];
  for (const analysis of ex.spec.analyses ?? []) {
    const previous = ex.status?.analysisRuns?.find((r) => r.name === analysis.name);
    const st: ExperimentAnalysisRunStatus = previous ? structuredClone(previous) : { name: analysis.name };
    const refs = [{ templateName: analysis.templateName, clusterScope: analysis.clusterScope }];
    if (!ex.status?.availableAt) {
      // Not available yet: only verify the template exists.
      const { error } = await resolveTemplates(refs, "", lookup);
      if (error) {
        const kind = analysis.clusterScope ? "ClusterAnalysisTemplate" : "AnalysisTemplate";
        st.phase = "Error";
        st.message = `${kind} verification failed for analysis '${analysis.name}': ${kind.toLowerCase()}s.argoproj.io "${analysis.templateName}" not found`;
      }
    } else if (!st.analysisRun) {
      if (!terminating) {
        const created = await createRun(ctx, ex, analysis, rss, lookup);
        if (created.error) {
          st.phase = "Error";
          st.message = `Failed to create AnalysisRun for analysis '${analysis.name}': ${created.error}`;
        } else {
          st.phase = "Pending";
          st.analysisRun = created.name;
        }
      }
    } else if (!isCompleted(st.phase)) {
      const run = ctx.store.peek(runType, ns, st.analysisRun) as AnalysisRun | undefined;
      if (!run) {
        st.phase = "Error";
        st.message = `analysisruns.argoproj.io "${st.analysisRun}" not found`;
      } else if (terminating) {
        if (!isCompleted(run.status?.phase) && !run.spec.terminate) {
          event("Normal", "AnalysisRunTerminating", `Terminating ${analysis.name} (${st.analysisRun})`);
          ctx.store.patch(runType, ns, st.analysisRun, "merge", { spec: { terminate: true } });
        }
      } else {
        st.phase = (run.status?.phase as Phase | undefined) ?? "Pending";
        st.message = run.status?.message;
        if (!st.message) delete st.message;
      }
    }
    if (previous?.phase !== st.phase && st.phase) {
      let message = `AnalysisRun '${analysis.name}' transitioned from ${previous?.phase ?? ""} -> ${st.phase}`;
      if (st.message) message += `: ${st.message}`;
      const warn = st.phase === "Failed" || st.phase === "Error" || st.phase === "Inconclusive";
      event(warn ? "Warning" : "Normal", `AnalysisRun${st.phase}`, message);
    }
    analysisRuns.push(st);
  }

  // calculateStatus
  const status: NonNullable<Experiment["status"]> = {
    ...structuredClone(ex.status ?? {}),
    templateStatuses,
    analysisRuns,
  };
  if (!status.phase) status.phase = "Pending";
  else if (status.phase === "Pending" || status.phase === "Running") {
    const [templatePhase, templateMessage] = assessTemplates(ex, templateStatuses);
    const [analysesPhase, analysesMessage] = assessAnalysisRuns(ex, analysisRuns);
    if (templatePhase === "Running" && !status.availableAt) status.availableAt = nowIso;
    const required = (ex.spec.analyses ?? []).some((a) => a.requiredForCompletion);
    let phase: Phase;
    let message: string;
    if (isCompleted(templatePhase)) {
      if (templatePhase === "Successful" && (isCompleted(analysesPhase) || required))
        [phase, message] = [analysesPhase, analysesMessage];
      else [phase, message] = [templatePhase, templateMessage];
    } else if (isCompleted(analysesPhase) && analysesPhase !== "Successful")
      [phase, message] = [analysesPhase, analysesMessage];
    else if (requiredRunsSuccessful(ex, analysisRuns)) [phase, message] = [analysesPhase, analysesMessage];
    else [phase, message] = [templatePhase, templateMessage];
    status.phase = phase;
    if (message) status.message = message;
    else delete status.message;
  }
  if (analysisRuns.length === 0) delete status.analysisRuns;

  // calculateEnqueueDuration
  const next = { ...ex, status } as Experiment;
  if (!isTerminating(next) && status.availableAt && ex.spec.duration) {
    const { passed, leftMs } = passedDuration(ex, status.availableAt, now);
    if (!passed) requeue(leftMs + 1000);
  }
  if (JSON.stringify(ex.status ?? {}) !== JSON.stringify(status)) {
    ctx.store.patch(
      exType,
      ns,
      name,
      "merge",
      { status: mergeReplace(ex.status ?? {}, status) },
      { subresource: "status" },
    );
  }
  return requeueMs;
}

/** A merge patch from `before` to `after` at the top level of status: changed keys set, removed keys null. */
function mergeReplace(before: Obj, after: Obj): Obj {
  const patch: Obj = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) patch[key] = value;
  return patch;
}

/** assessTemplates */
function assessTemplates(ex: Experiment, statuses: TemplateStatus[]): [Phase, string] {
  let worst: TemplateStatusCode = "Successful";
  let message = "";
  for (const template of ex.spec.templates ?? []) {
    const ts = statuses.find((t) => t.name === template.name);
    const code = ts?.status ?? "Progressing";
    if (isWorse(TEMPLATE_ORDER, worst, code)) {
      worst = code;
      message = ts?.message ?? "";
    }
  }
  const phases: Record<TemplateStatusCode, Phase> = {
    Progressing: "Pending",
    Failed: "Failed",
    Error: "Error",
    Successful: "Successful",
    Running: "Running",
  };
  return [phases[worst], message];
}

/** assessAnalysisRuns */
function assessAnalysisRuns(ex: Experiment, runs: ExperimentAnalysisRunStatus[]): [Phase, string] {
  let worst: Phase = "Successful";
  let message = "";
  for (const a of ex.spec.analyses ?? []) {
    const st = runs.find((r) => r.name === a.name);
    if (isWorse(ANALYSIS_ORDER, worst, st?.phase)) {
      worst = st?.phase as Phase;
      message = st?.message ?? "";
    }
  }
  if (requiredRunsSuccessful(ex, runs) && isWorse(ANALYSIS_ORDER, worst, "Running"))
    return ["Successful", REQUIRED_ANALYSIS_COMPLETED_MESSAGE];
  return [worst === "Pending" ? "Running" : worst, message];
}

/** createAnalysisRun: `<experiment>-<analysis>`, owned by the Experiment, ".1", ".2" ... on a name collision. */
async function createRun(
  ctx: ControllerContext,
  ex: Experiment,
  analysis: ExperimentAnalysis,
  rss: Map<string, ReplicaSet>,
  lookup: Parameters<typeof resolveTemplates>[2],
): Promise<{ name?: string; error?: string }> {
  const refs = [{ templateName: analysis.templateName, clusterScope: analysis.clusterScope }];
  const { templates, error } = await resolveTemplates(refs, "", lookup);
  if (error) return { error };
  const args = (analysis.args ?? []).map((a) => ({
    name: a.name,
    ...(a.value !== undefined ? { value: resolveArg(a.value, rss) } : {}),
  }));
  const built = newAnalysisRun({
    rolloutName: ex.metadata.name as string,
    rolloutUid: ex.metadata.uid as string,
    namespace: ex.metadata.namespace ?? "default",
    selectorLabels: {},
    analysis: { args, dryRun: ex.spec.dryRun },
    templates,
    podHash: "",
    stableHash: undefined,
    revision: "",
    kind: "Background",
  });
  if (!built.run) return { error: built.error };
  const run = built.run;
  run.metadata.labels = { ...(ex.spec.analysisRunMetadata?.labels ?? {}) };
  run.metadata.annotations = { ...(ex.spec.analysisRunMetadata?.annotations ?? {}) };
  run.metadata.ownerReferences = [controllerRef({ ...(ex as unknown as KubeObject), ...EXPERIMENT })];
  const runType = ctx.store.types.byKind(ANALYSIS_RUN.apiVersion, ANALYSIS_RUN.kind);
  if (!runType) return { error: "no AnalysisRun type" };
  const base = `${ex.metadata.name}-${analysis.name}`;
  for (let i = 0; i < 100; i++) {
    run.metadata.name = i === 0 ? base : `${base}.${i}`;
    try {
      ctx.store.create(runType, ex.metadata.namespace, run);
      return { name: run.metadata.name as string };
    } catch (e) {
      if (!(e instanceof KubeApiError && e.reason === "AlreadyExists")) throw e;
    }
  }
  return { error: `no free name for AnalysisRun ${base}` };
}

/** Reconciles Experiments; owns the ReplicaSets and AnalysisRuns it creates. */
export const experimentController = defineController({
  name: "argo-experiments",
  for: EXPERIMENT,
  owns: [REPLICA_SET, ANALYSIS_RUN],
  async reconcile(ctx, key) {
    const type = ctx.store.types.byKind(EXPERIMENT.apiVersion, EXPERIMENT.kind);
    if (!type) return undefined;
    const stored = ctx.store.peek(type, key.namespace, key.name);
    if (!stored || stored.metadata.deletionTimestamp) return undefined;
    const requeueAfterMs = await reconcileExperiment(ctx, stored);
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  },
});
