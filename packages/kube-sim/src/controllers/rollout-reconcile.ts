// One reconcile pass of the simulated Argo Rollouts controller, a port of argoproj/argo-rollouts
// rollout/{controller,context,sync,bluegreen,canary,pause,replicaset,service,restart}.go reduced to
// what runs without traffic routers and analysis. It reads the world through `RolloutWorld` and
// writes the same objects, annotations and status fields the real controller writes; Pods come from
// the kube-sim ReplicaSet controller. Every time comes from `world.now()`, so a manual clock drives it.

import { type AnalysisRun, isCompleted } from "./analysisrun.js";
import {
  basicCanaryReplicaCounts,
  type ReplicaCounts,
  resolveFenceposts,
  trafficWeightToReplicas,
} from "./argo-canary-replicas.js";
import {
  calculateRolloutPhase,
  canonicalJson,
  computePodTemplateHash,
  computeStepHash,
  durationSeconds,
  getCondition,
  isFullyPromoted,
  mergePatchBetween,
  newCondition,
  podTemplateHashOf,
  removeCondition,
  replicasOf,
  rolloutCompleted,
  rolloutHealthy,
  rolloutProgressing,
  setCondition,
} from "./argo-rollout-status.js";
import {
  DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS,
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  DEFAULT_REVISION_HISTORY_LIMIT,
  DEFAULT_SCALE_DOWN_DELAY_SECONDS,
  DESIRED_REPLICAS_ANNOTATION,
  type Deployment,
  MANAGED_BY_ROLLOUTS_ANNOTATION,
  MESSAGES,
  type PauseCondition,
  type PauseReason,
  POD_TEMPLATE_HASH_LABEL,
  type Pod,
  type PodTemplate,
  REASONS,
  REVISION_ANNOTATION,
  type ReplicaSet,
  ROLLOUT_API_VERSION,
  ROLLOUT_KIND,
  type Rollout,
  type RolloutAnalysis,
  type RolloutAnalysisRunStatus,
  type RolloutExperimentStep,
  type RolloutSpec,
  type RolloutStatus,
  SCALE_DOWN_DEADLINE_ANNOTATION,
  type Service,
  type SetCanaryScale,
  type TrafficWeights,
  WORKLOAD_GENERATION_ANNOTATION,
} from "./argo-rollout-types.js";
import {
  invalidRolloutMessage,
  referencedServices,
  validateRolloutSpec,
  validateService,
} from "./argo-rollout-validation.js";
import type { Experiment } from "./experiment.js";
import {
  type AnalysisKind,
  type AnalysisTemplateObject,
  newAnalysisRun,
  referencedAnalyses,
  resolveTemplates,
  STEP_INDEX_LABEL,
} from "./rollout-analysis.js";
import { controllerRefTo } from "./workload.js";

/** What a reconcile pass may read and write. The kube-sim adapter implements it over the store. */
export interface RolloutWorld {
  now(): Date;
  listReplicaSets(namespace: string): Promise<ReplicaSet[]>;
  listPods(namespace: string): Promise<Pod[]>;
  getService(namespace: string, name: string): Promise<Service | undefined>;
  getDeployment(namespace: string, name: string): Promise<Deployment | undefined>;
  /** Creates a ReplicaSet; resolves to undefined if one of that name already exists (409 AlreadyExists). */
  createReplicaSet(namespace: string, rs: ReplicaSet): Promise<ReplicaSet | undefined>;
  /** JSON merge patch on a ReplicaSet. */
  patchReplicaSet(namespace: string, name: string, patch: Record<string, unknown>): Promise<ReplicaSet>;
  deleteReplicaSet(namespace: string, name: string): Promise<void>;
  /** Merge patch on a Service (the real controller sends a strategic merge patch of the same shape). */
  patchService(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  patchDeployment(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  /** Merge patch on the Rollout's metadata (revision annotation). */
  patchRollout(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  /** Merge patch on the Rollout's status subresource. */
  patchRolloutStatus(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  deletePod(namespace: string, name: string): Promise<void>;
  getAnalysisTemplate(namespace: string, name: string): Promise<AnalysisTemplateObject | undefined>;
  getClusterAnalysisTemplate(name: string): Promise<AnalysisTemplateObject | undefined>;
  listAnalysisRuns(namespace: string): Promise<AnalysisRun[]>;
  /** Creates an AnalysisRun; resolves to undefined if one of that name already exists. */
  createAnalysisRun(namespace: string, run: AnalysisRun): Promise<AnalysisRun | undefined>;
  /** Merge patch on an AnalysisRun (the controller only ever sets `spec.terminate`). */
  patchAnalysisRun(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  listExperiments(namespace: string): Promise<Experiment[]>;
  /** Creates an Experiment; resolves to undefined if one of that name already exists. */
  createExperiment(namespace: string, ex: Experiment): Promise<Experiment | undefined>;
  /** Merge patch on an Experiment (the controller only ever sets `spec.terminate`). */
  patchExperiment(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  /** Records a Kubernetes Event on the Rollout, with the controller's reasons (optional). */
  event?(type: "Normal" | "Warning", reason: string, message: string): void;
}

export interface ReconcileOutcome {
  /** Milliseconds (on the world's clock) after which the Rollout must be reconciled again. */
  requeueAfterMs?: number;
}

/** Kubernetes metav1.Time: RFC 3339 with whole seconds. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

const RESTART_POD_CHECK_MS = 30_000;

class PauseContext {
  addPauseReasons: PauseReason[] = [];
  removePauseReasons: PauseReason[] = [];
  clearPauseConditions = false;
  addAbort = false;
  removeAbort = false;
  abortMessage = "";
  constructor(private readonly rollout: Rollout) {}

  isAborted(): boolean {
    if (this.removeAbort) return false;
    return this.addAbort || !!this.rollout.status?.abort;
  }
  hasAddPause(): boolean {
    return this.addPauseReasons.length > 0;
  }
  calculatePauseStatus(newStatus: RolloutStatus, now: string): void {
    const prev = this.rollout.status ?? {};
    if (this.addAbort || (!this.removeAbort && prev.abort)) {
      newStatus.abort = true;
      newStatus.abortedAt = prev.abortedAt ?? now;
      return;
    }
    newStatus.abort = undefined;
    newStatus.abortedAt = undefined;
    if (this.clearPauseConditions) return;
    let controllerPause = !!prev.controllerPause;
    const exists = new Set<PauseReason>();
    const next: PauseCondition[] = [];
    for (const cond of prev.pauseConditions ?? []) {
      if (!this.removePauseReasons.includes(cond.reason)) next.push(cond);
      exists.add(cond.reason);
    }
    for (const reason of this.addPauseReasons) {
      if (!exists.has(reason)) {
        next.push({ reason, startTime: now });
        controllerPause = true;
      }
    }
    if (next.length === 0) return;
    newStatus.controllerPause = controllerPause;
    newStatus.pauseConditions = next;
  }
}

function sumOf(rss: Array<ReplicaSet | undefined>, pick: (rs: ReplicaSet) => number | undefined): number {
  let total = 0;
  for (const rs of rss) if (rs) total += pick(rs) ?? 0;
  return total;
}

function revisionOf(rs: ReplicaSet | undefined): number {
  return Number(rs?.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) || 0;
}

function formatSelector(selector: { matchLabels?: Record<string, string> } | undefined): string {
  return Object.entries(selector?.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

function createdAt(rs: ReplicaSet): number {
  return Date.parse(rs.metadata.creationTimestamp ?? "") || 0;
}

/** The reconcile state of one pass (rolloutContext in the real controller). */
class RolloutPass {
  readonly ns: string;
  readonly name: string;
  readonly now: Date;
  readonly nowIso: string;
  readonly pause: PauseContext;
  /** Spec with workloadRef resolved into template. */
  spec: RolloutSpec;
  allRSs: ReplicaSet[] = [];
  newRS: ReplicaSet | undefined;
  stableRS: ReplicaSet | undefined;
  otherRSs: ReplicaSet[] = [];
  /** Templates each referenced analysis resolved to in resolve(). */
  readonly analysisTemplates = new Map<RolloutAnalysis, AnalysisTemplateObject[]>();
  restartedAt: string | undefined;
  requeueMs: number | undefined;
  workloadGeneration: number | undefined;
  /** spec.replicas of the workloadRef Deployment, when there is one. */
  workloadReplicas: number | undefined;
  /** A workloadRef `scaleDown: onsuccess` decided in promoteStable, applied at the end of the pass. */
  scaleWorkloadToZero = false;
  /** Whether the desired ReplicaSet still had a future scale-down deadline when this pass began. */
  newRSWithinDelay = false;
  /** The status as stored, which status patches are computed against. */
  readonly storedStatus: RolloutStatus;
  /** The Experiment status.canary.currentExperiment names (c.currentEx) and the Rollout's other ones. */
  currentEx: Experiment | undefined;
  otherExs: Experiment[] = [];
  /** SetCurrentExperiment: what status.canary.currentExperiment becomes in this pass. */
  newCurrentExperiment: string | undefined;
  /** c.newStatus.Canary.Weights: the stored weights until reconcileTrafficRouting recomputes them this pass. */
  newWeights: TrafficWeights | undefined;

  constructor(
    readonly world: RolloutWorld,
    readonly rollout: Rollout,
  ) {
    this.ns = rollout.metadata.namespace ?? "default";
    this.name = rollout.metadata.name;
    this.now = world.now();
    this.nowIso = kubeTime(this.now);
    this.pause = new PauseContext(rollout);
    this.spec = rollout.spec;
    this.restartedAt = rollout.status?.restartedAt;
    this.storedStatus = structuredClone(rollout.status ?? {});
    this.newWeights = structuredClone(rollout.status?.canary?.weights);
  }

  get status(): RolloutStatus {
    return this.rollout.status ?? {};
  }
  get bg() {
    return this.spec.strategy.blueGreen;
  }
  get canary() {
    return this.spec.strategy.canary;
  }
  get replicas(): number {
    return replicasOf(this.spec);
  }
  /** The controller reference to the Rollout that the ReplicaSets and Experiments it makes carry. */
  get ownerRef() {
    return controllerRefTo(ROLLOUT_API_VERSION, ROLLOUT_KIND, this.name, this.rollout.metadata.uid ?? "");
  }
  requeue(ms: number): void {
    if (ms <= 0) ms = 1;
    this.requeueMs = this.requeueMs === undefined ? ms : Math.min(this.requeueMs, ms);
  }

  // ---------------------------------------------------------------- setup and validation

  /** Resolves workloadRef and validates; returns an InvalidSpec message when the spec is unusable. */
  async resolve(): Promise<string | undefined> {
    const ref = this.rollout.spec.workloadRef;
    if (ref) {
      // refResolver.Resolve: the Deployment's template replaces the Rollout's. A template set beside workloadRef
      // is refused first (InvalidWorkloadRef), before the Deployment is looked up.
      const value = `v1alpha1.ObjectRef{APIVersion:${JSON.stringify(ref.apiVersion ?? "")}, Kind:${JSON.stringify(ref.kind ?? "")}, Name:${JSON.stringify(ref.name)}, ScaleDown:${JSON.stringify(ref.scaleDown ?? "")}}`;
      const template = this.rollout.spec.template;
      const templateSet =
        !!template &&
        (Object.keys(template.metadata?.labels ?? {}).length > 0 ||
          Object.keys(template.metadata?.annotations ?? {}).length > 0 ||
          Object.keys(template.spec ?? {}).length > 0);
      if (templateSet) {
        return invalidRolloutMessage(
          this.name,
          `spec.workloadRef: Invalid value: ${value}: template must be empty for workload reference rollout`,
        );
      }
      const dep = await this.world.getDeployment(this.ns, ref.name);
      if (!dep?.spec?.template) {
        return invalidRolloutMessage(
          this.name,
          `spec.workloadRef: Invalid value: ${value}: deployments.apps ${JSON.stringify(ref.name)} not found`,
        );
      }
      this.spec = { ...this.rollout.spec, template: dep.spec.template as PodTemplate };
      this.workloadGeneration = dep.metadata.generation ?? 1;
      this.workloadReplicas = dep.spec.replicas ?? 1;
    }
    const specError = validateRolloutSpec(this.rollout, this.spec, true);
    if (specError) return invalidRolloutMessage(this.name, specError);
    for (const { role, name } of referencedServices(this.spec)) {
      const error = validateService(this.rollout, this.spec, role, name, await this.world.getService(this.ns, name));
      if (error) return invalidRolloutMessage(this.name, error);
    }
    // getReferencedRolloutAnalyses: a missing (Cluster)AnalysisTemplate is an InvalidSpec field error.
    for (const ref of referencedAnalyses(this.spec)) {
      const { templates, error } = await resolveTemplates(ref.analysis.templates, ref.fieldPath, this.templateLookup());
      if (error) return invalidRolloutMessage(this.name, error);
      this.analysisTemplates.set(ref.analysis, templates);
    }
    return undefined;
  }

  templateLookup() {
    return {
      template: (name: string) => this.world.getAnalysisTemplate(this.ns, name),
      clusterTemplate: (name: string) => this.world.getClusterAnalysisTemplate(name),
    };
  }

  // ---------------------------------------------------------------- analysis (rollout/analysis.go)

  /** The runs this pass settled on, written into status.canary / status.blueGreen by persistStatus. */
  currentRuns: Partial<Record<AnalysisKind, AnalysisRun | undefined>> = {};
  analysisDecided = false;

  runStatus(run: AnalysisRun | undefined): RolloutAnalysisRunStatus | undefined {
    if (!run) return undefined;
    const out: RolloutAnalysisRunStatus = { name: run.metadata.name as string, status: run.status?.phase ?? "" };
    if (run.status?.message) out.message = run.status.message;
    return out;
  }

  /** needsNewAnalysisRun */
  needsNewAnalysisRun(current: AnalysisRun | undefined): boolean {
    if (!current) return true;
    if (
      this.status.controllerPause &&
      !this.pauseCondition("CanaryPauseStep") &&
      !this.pauseCondition("BlueGreenPause")
    )
      return current.status?.phase === "Inconclusive";
    return !!this.status.abortedAt;
  }

  async cancelAnalysisRuns(runs: Array<AnalysisRun | undefined>): Promise<void> {
    for (const run of runs) {
      if (!run || run.spec.terminate || isCompleted(run.status?.phase)) continue;
      await this.world.patchAnalysisRun(this.ns, run.metadata.name as string, { spec: { terminate: true } });
    }
  }

  async createAnalysisRun(kind: AnalysisKind, analysis: RolloutAnalysis, stepIndex?: number): Promise<AnalysisRun> {
    const templates =
      this.analysisTemplates.get(analysis) ??
      (await resolveTemplates(analysis.templates, "", this.templateLookup())).templates;
    const built = newAnalysisRun({
      rolloutName: this.name,
      rolloutUid: this.rollout.metadata.uid ?? "",
      namespace: this.ns,
      selectorLabels: this.spec.selector?.matchLabels ?? {},
      analysis,
      templates,
      podHash: podTemplateHashOf(this.newRS) ?? "",
      stableHash: this.status.stableRS,
      revision: this.rollout.metadata.annotations?.[REVISION_ANNOTATION] ?? String(revisionOf(this.newRS)),
      kind,
      stepIndex,
    });
    if (!built.run) throw new Error(`cannot create the ${kind} AnalysisRun of rollout ${this.name}: ${built.error}`);
    // CreateWithCollisionCounter: a name already taken gets ".1", ".2", ...
    const base = built.run.metadata.name as string;
    for (let i = 0; i < 100; i++) {
      built.run.metadata.name = i === 0 ? base : `${base}.${i}`;
      const created = await this.world.createAnalysisRun(this.ns, built.run);
      if (created) {
        this.world.event?.(
          "Normal",
          "AnalysisRunRunning",
          `${kind} Analysis Run '${created.metadata.name}' Status New: 'Running' Previous: 'NotFound'`,
        );
        return created;
      }
    }
    throw new Error(`cannot find a free name for AnalysisRun ${base}`);
  }

  /** reconcileAnalysisRuns for both strategies; sets pause/abort from the current runs' phases. */
  ownedRuns: AnalysisRun[] = [];
  loadedRuns: Partial<Record<AnalysisKind, AnalysisRun | undefined>> = {};

  /** The runs the status names (c.currentArs), read before anything that depends on them. */
  async loadAnalysisRuns(): Promise<void> {
    const uid = this.rollout.metadata.uid;
    this.ownedRuns = (await this.world.listAnalysisRuns(this.ns)).filter((ar) =>
      (ar.metadata.ownerReferences ?? []).some((o) => o.controller && o.uid === uid),
    );
    const byName = (name: string | undefined) =>
      name ? this.ownedRuns.find((ar) => ar.metadata.name === name) : undefined;
    const s = this.status;
    this.loadedRuns = {
      Step: byName(s.canary?.currentStepAnalysisRunStatus?.name),
      Background: byName(s.canary?.currentBackgroundAnalysisRunStatus?.name),
      PrePromotion: byName(s.blueGreen?.prePromotionAnalysisRunStatus?.name),
      PostPromotion: byName(s.blueGreen?.postPromotionAnalysisRunStatus?.name),
    };
  }

  /** completedPrePromotionAnalysis */
  completedPrePromotionAnalysis(): boolean {
    if (!(this.bg as { prePromotionAnalysis?: unknown } | undefined)?.prePromotionAnalysis) return true;
    const run = this.loadedRuns.PrePromotion;
    return (
      run?.status?.phase === "Successful" &&
      run.metadata.labels?.["rollouts-pod-template-hash"] === podTemplateHashOf(this.newRS)
    );
  }

  async reconcileAnalysisRuns(): Promise<void> {
    this.analysisDecided = true;
    if (this.ownedRuns.length === 0 && Object.keys(this.loadedRuns).length === 0) await this.loadAnalysisRuns();
    const owned = this.ownedRuns;
    const s = this.status;
    const current = this.loadedRuns;
    const next: Partial<Record<AnalysisKind, AnalysisRun | undefined>> = {};
    const cancelAll = isFullyPromoted(s) || this.pause.isAborted() || !!s.promoteFull || !s.stableRS;
    if (cancelAll) {
      await this.cancelAnalysisRuns(Object.values(current));
      next.PrePromotion = current.PrePromotion;
      next.PostPromotion = current.PostPromotion;
    } else if (this.canary) {
      next.Step = await this.reconcileStepAnalysis(current.Step);
      next.Background = await this.reconcileBackgroundAnalysis(current.Background);
    } else if (this.bg) {
      next.PrePromotion = await this.reconcilePromotionAnalysis("PrePromotion", current.PrePromotion);
      next.PostPromotion = await this.reconcilePromotionAnalysis("PostPromotion", current.PostPromotion);
    }
    this.currentRuns = next;
    const keep = new Set(Object.values(next).flatMap((ar) => (ar ? [ar.metadata.name] : [])));
    await this.cancelAnalysisRuns(owned.filter((ar) => !keep.has(ar.metadata.name)));
  }

  async reconcileStepAnalysis(current: AnalysisRun | undefined): Promise<AnalysisRun | undefined> {
    const { step, index } = this.currentCanaryStep();
    if ((this.status.pauseConditions ?? []).length > 0 || this.status.abort) return current;
    const analysis = step?.analysis as RolloutAnalysis | undefined;
    const fromPreviousStep = !!analysis && !!current && current.metadata.labels?.[STEP_INDEX_LABEL] !== String(index);
    if (!analysis || (analysis.templates ?? []).length === 0 || index === undefined || fromPreviousStep) {
      await this.cancelAnalysisRuns([current]);
      return undefined;
    }
    if (this.needsNewAnalysisRun(current)) return this.createAnalysisRun("Step", analysis, index);
    this.pauseOrAbort(current, "Step-based analysis phase error/failed");
    return current;
  }

  async reconcileBackgroundAnalysis(current: AnalysisRun | undefined): Promise<AnalysisRun | undefined> {
    const analysis = this.canary?.analysis as RolloutAnalysis | undefined;
    if (!analysis || (analysis.templates ?? []).length === 0) {
      await this.cancelAnalysisRuns([current]);
      return undefined;
    }
    const s = this.status;
    const before = analysis.startingStep !== undefined && (s.currentStepIndex ?? 0) < analysis.startingStep;
    if (isFullyPromoted(s) || !s.stableRS || !s.currentPodHash || before) return undefined;
    if (this.pauseCondition("InconclusiveAnalysisRun")) return current;
    if (this.needsNewAnalysisRun(current)) return this.createAnalysisRun("Background", analysis);
    this.pauseOrAbort(current, "Background analysis phase error/failed");
    return current;
  }

  /** reconcilePrePromotionAnalysisRun / reconcilePostPromotionAnalysisRun, reduced to the common path. */
  async reconcilePromotionAnalysis(
    kind: "PrePromotion" | "PostPromotion",
    current: AnalysisRun | undefined,
  ): Promise<AnalysisRun | undefined> {
    const bg = this.bg as
      | { prePromotionAnalysis?: RolloutAnalysis; postPromotionAnalysis?: RolloutAnalysis }
      | undefined;
    const analysis = kind === "PrePromotion" ? bg?.prePromotionAnalysis : bg?.postPromotionAnalysis;
    if (!analysis || !this.newRS) {
      await this.cancelAnalysisRuns([current]);
      return undefined;
    }
    const hash = podTemplateHashOf(this.newRS);
    const active = this.status.blueGreen?.activeSelector;
    if (current && current.metadata.labels?.["rollouts-pod-template-hash"] !== hash) current = undefined;
    // skipPrePromotionAnalysisRun: nothing to analyse once the new pods are active; post-promotion only runs then.
    if (kind === "PrePromotion" && active === hash && !current) return undefined;
    if (kind === "PostPromotion" && (active !== hash || this.status.stableRS === hash)) return current;
    if (kind === "PrePromotion" && !this.isSaturatedPreview()) return current;
    if (this.needsNewAnalysisRun(current)) return this.createAnalysisRun(kind, analysis);
    this.pauseOrAbort(
      current,
      kind === "PrePromotion"
        ? "Blue/green pre-promotion analysis phase error/failed"
        : "Blue/green post-promotion analysis phase error/failed",
    );
    return current;
  }

  /** The preview ReplicaSet has all the pods it should run before promotion. */
  isSaturatedPreview(): boolean {
    const rs = this.newRS;
    if (!rs) return false;
    const want = rs.spec.replicas ?? 0;
    return want > 0 && (rs.status?.availableReplicas ?? 0) >= want;
  }

  pauseOrAbort(run: AnalysisRun | undefined, prefix: string): void {
    const phase = run?.status?.phase;
    if (phase === "Inconclusive") this.pause.addPauseReasons.push("InconclusiveAnalysisRun");
    else if (phase === "Error" || phase === "Failed") {
      this.pause.addAbort = true;
      this.pause.abortMessage = run?.status?.message ? `${prefix}: ${run.status.message}` : prefix;
    }
  }

  /** Puts the current runs into the status the way SetCurrentAnalysisRuns does. */
  applyAnalysisStatus(status: RolloutStatus): void {
    if (!this.analysisDecided) {
      if (this.status.canary?.currentStepAnalysisRunStatus || this.status.canary?.currentBackgroundAnalysisRunStatus) {
        status.canary = {
          ...(status.canary ?? {}),
          currentStepAnalysisRunStatus: this.status.canary?.currentStepAnalysisRunStatus,
          currentBackgroundAnalysisRunStatus: this.status.canary?.currentBackgroundAnalysisRunStatus,
        };
      }
      if (
        this.bg &&
        (this.status.blueGreen?.prePromotionAnalysisRunStatus || this.status.blueGreen?.postPromotionAnalysisRunStatus)
      ) {
        status.blueGreen = {
          ...(status.blueGreen ?? {}),
          prePromotionAnalysisRunStatus: this.status.blueGreen?.prePromotionAnalysisRunStatus,
          postPromotionAnalysisRunStatus: this.status.blueGreen?.postPromotionAnalysisRunStatus,
        };
      }
      return;
    }
    const r = this.currentRuns;
    if (this.canary && (r.Step || r.Background)) {
      status.canary = {
        ...(status.canary ?? {}),
        currentStepAnalysisRunStatus: this.runStatus(r.Step),
        currentBackgroundAnalysisRunStatus: this.runStatus(r.Background),
      };
    }
    if (this.bg && (r.PrePromotion || r.PostPromotion)) {
      status.blueGreen = {
        ...(status.blueGreen ?? {}),
        prePromotionAnalysisRunStatus: this.runStatus(r.PrePromotion),
        postPromotionAnalysisRunStatus: this.runStatus(r.PostPromotion),
      };
    }
  }

  async loadReplicaSets(): Promise<void> {
    const uid = this.rollout.metadata.uid;
    const all = await this.world.listReplicaSets(this.ns);
    this.allRSs = all
      .filter((rs) =>
        (rs.metadata.ownerReferences ?? []).some(
          (o) => o.controller && o.kind === ROLLOUT_KIND && (uid ? o.uid === uid : o.name === this.name),
        ),
      )
      .filter((rs) => !rs.metadata.deletionTimestamp)
      .sort((a, b) => createdAt(a) - createdAt(b) || a.metadata.name.localeCompare(b.metadata.name));
    const hash = this.desiredHash();
    // FindNewReplicaSet: by hash, else by template ignoring the hash label (an undo copies back a
    // ReplicaSet's template, which the API server has defaulted, so its hash differs).
    const wanted = canonicalJson(this.spec.template ?? {});
    this.newRS =
      this.allRSs.find((rs) => podTemplateHashOf(rs) === hash) ??
      this.allRSs.find((rs) => canonicalJson(templateWithoutHash(rs.spec.template)) === wanted);
    this.classify();
    this.newRSWithinDelay = this.remainingBeforeScaleDown(this.newRS) !== undefined;
  }

  desiredHash(): string {
    return computePodTemplateHash(this.spec.template ?? {}, this.status.collisionCount);
  }

  classify(): void {
    const stableHash = this.status.stableRS;
    this.stableRS = stableHash ? this.allRSs.find((rs) => podTemplateHashOf(rs) === stableHash) : undefined;
    this.otherRSs = this.allRSs.filter((rs) => rs !== this.newRS && rs !== this.stableRS);
  }

  replaceRS(updated: ReplicaSet): void {
    const i = this.allRSs.findIndex((rs) => rs.metadata.name === updated.metadata.name);
    const old = this.allRSs[i];
    if (i < 0 || !old) return;
    this.allRSs[i] = updated;
    if (this.newRS === old) this.newRS = updated;
    if (this.stableRS === old) this.stableRS = updated;
    this.otherRSs = this.otherRSs.map((rs) => (rs === old ? updated : rs));
  }

  // ---------------------------------------------------------------- ReplicaSets

  /** Returns false when the name was taken by a ReplicaSet that is not ours (a hash collision). */
  async createDesiredReplicaSet(): Promise<boolean> {
    const hash = this.desiredHash();
    const template = structuredClone(this.spec.template ?? {});
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash },
    };
    const revision = Math.max(0, ...this.allRSs.map(revisionOf)) + 1;
    const rs: ReplicaSet = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${this.name}-${hash}`,
        namespace: this.ns,
        labels: { ...template.metadata.labels },
        annotations: { [REVISION_ANNOTATION]: String(revision), [DESIRED_REPLICAS_ANNOTATION]: String(this.replicas) },
        ownerReferences: [this.ownerRef],
      },
      spec: {
        replicas: 0,
        minReadySeconds: this.spec.minReadySeconds ?? 0,
        selector: { matchLabels: { ...this.spec.selector?.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash } },
        template,
      },
    };
    const created = await this.world.createReplicaSet(this.ns, rs);
    if (!created) {
      // createDesiredReplicaSet on AlreadyExists: someone else's ReplicaSet has this name, so bump
      // status.collisionCount, which changes the hash, and try again on the next pass.
      const collisionCount = (this.status.collisionCount ?? 0) + 1;
      await this.world.patchRolloutStatus(this.ns, this.name, { status: { collisionCount } });
      return false;
    }
    this.allRSs.push(created);
    this.newRS = created;
    this.classify();
    // Upstream sets the Rollout's revision (RolloutUpdated) before it records NewReplicaSetCreated.
    await this.setRolloutRevision(String(revision));
    this.world.event?.(
      "Normal",
      "NewReplicaSetCreated",
      `Created ReplicaSet ${created.metadata.name} (revision ${revision})`,
    );
    const progressing = newCondition(
      "Progressing",
      "True",
      REASONS.newReplicaSetCreated,
      MESSAGES.newReplicaSet(created.metadata.name),
      this.nowIso,
    );
    const status = structuredClone(this.status);
    setCondition(status, progressing);
    this.rollout.status = status;
    return true;
  }

  /** syncReplicaSetRevision: a reused (rolled back to) ReplicaSet gets the next revision number. */
  async syncReplicaSetRevision(): Promise<void> {
    const newRS = this.newRS;
    if (!newRS) return;
    const maxOld = Math.max(0, ...this.allRSs.filter((rs) => rs !== newRS).map(revisionOf));
    if (revisionOf(newRS) < maxOld + 1 || newRS.metadata.annotations?.[REVISION_ANNOTATION] === undefined) {
      const updated = await this.world.patchReplicaSet(this.ns, newRS.metadata.name, {
        metadata: { annotations: { [REVISION_ANNOTATION]: String(maxOld + 1) } },
      });
      this.replaceRS(updated);
    }
    await this.setRolloutRevision(String(revisionOf(this.newRS)));
    if (!getCondition(this.status, "Progressing")) {
      const status = structuredClone(this.status);
      setCondition(
        status,
        newCondition(
          "Progressing",
          "True",
          REASONS.foundNewReplicaSet,
          MESSAGES.foundNewReplicaSet(newRS.metadata.name),
          this.nowIso,
        ),
      );
      this.rollout.status = status;
    }
  }

  async setRolloutRevision(revision: string): Promise<void> {
    const annotations = this.rollout.metadata.annotations ?? {};
    const wantGen = this.workloadGeneration !== undefined ? String(this.workloadGeneration) : undefined;
    const patch: Record<string, string> = {};
    if (annotations[REVISION_ANNOTATION] !== revision) patch[REVISION_ANNOTATION] = revision;
    if (wantGen !== undefined && annotations[WORKLOAD_GENERATION_ANNOTATION] !== wantGen) {
      patch[WORKLOAD_GENERATION_ANNOTATION] = wantGen;
    }
    if (Object.keys(patch).length === 0) return;
    await this.world.patchRollout(this.ns, this.name, { metadata: { annotations: patch } });
    if (patch[REVISION_ANNOTATION])
      this.world.event?.("Normal", "RolloutUpdated", `Rollout updated to revision ${revision}`);
    this.rollout.metadata.annotations = { ...annotations, ...patch };
  }

  async scaleReplicaSet(rs: ReplicaSet, replicas: number): Promise<boolean> {
    const sizeChanged = (rs.spec.replicas ?? 0) !== replicas;
    const desiredAnn = String(this.replicas);
    const annChanged = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION] !== desiredAnn;
    if (!sizeChanged && !annChanged) return false;
    const annotations: Record<string, string | null> = { [DESIRED_REPLICAS_ANNOTATION]: desiredAnn };
    if (replicas === 0 && !this.shouldDelayScaleDownOnAbort()) {
      if (rs.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION]) annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = null;
    }
    const updated = await this.world.patchReplicaSet(this.ns, rs.metadata.name, {
      metadata: { annotations },
      spec: { replicas },
    });
    this.replaceRS(updated);
    if (sizeChanged) {
      const from = rs.spec.replicas ?? 0;
      this.world.event?.(
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${replicas > from ? "up" : "down"} ReplicaSet ${rs.metadata.name} (revision ${revisionOf(rs)}) from ${from} to ${replicas}`,
      );
    }
    return sizeChanged;
  }

  async addScaleDownDelay(rs: ReplicaSet, seconds: number): Promise<void> {
    if (seconds <= 0) {
      await this.removeScaleDownDelay(rs);
      return;
    }
    const deadline = kubeTime(new Date(this.now.getTime() + seconds * 1000));
    const updated = await this.world.patchReplicaSet(this.ns, rs.metadata.name, {
      metadata: { annotations: { [SCALE_DOWN_DEADLINE_ANNOTATION]: deadline } },
    });
    this.replaceRS(updated);
  }

  async removeScaleDownDelay(rs: ReplicaSet): Promise<void> {
    if (!rs.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION]) return;
    const updated = await this.world.patchReplicaSet(this.ns, rs.metadata.name, {
      metadata: { annotations: { [SCALE_DOWN_DEADLINE_ANNOTATION]: null } },
    });
    this.replaceRS(updated);
  }

  /** Milliseconds left before the ReplicaSet's scale-down deadline, or undefined if none or passed. */
  remainingBeforeScaleDown(rs: ReplicaSet | undefined): number | undefined {
    const at = rs?.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION];
    if (!at) return undefined;
    const left = Date.parse(at) - this.now.getTime();
    return left > 0 ? left : undefined;
  }

  async removeScaleDownDeadlines(): Promise<void> {
    if (this.newRS && !this.shouldDelayScaleDownOnAbort()) await this.removeScaleDownDelay(this.newRS);
    if (this.stableRS && this.stableRS !== this.newRS) await this.removeScaleDownDelay(this.stableRS);
  }

  abortScaleDownDelaySeconds(): number | undefined {
    const bg = this.bg;
    const canary = this.canary;
    if (bg) {
      if (bg.abortScaleDownDelaySeconds === 0) return undefined;
      return bg.abortScaleDownDelaySeconds ?? DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS;
    }
    if (canary?.trafficRouting) {
      if (canary.abortScaleDownDelaySeconds === 0) return undefined;
      return canary.abortScaleDownDelaySeconds ?? DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS;
    }
    return undefined;
  }

  shouldDelayScaleDownOnAbort(): boolean {
    if (!this.pause.isAborted() || !this.stableRS) return false;
    if (this.canary && !this.canary.trafficRouting) return false;
    if (this.abortScaleDownDelaySeconds() === undefined) return false;
    // dynamicStableScale without an explicit abortScaleDownDelaySeconds scales the canary down as stable comes up.
    return !(this.canary?.dynamicStableScale && !this.hasExplicitAbortScaleDownDelay());
  }

  async reconcileNewReplicaSet(): Promise<boolean> {
    const newRS = this.newRS;
    if (!newRS) return false;
    let count = this.newRSNewReplicas(newRS);
    if (this.shouldDelayScaleDownOnAbort()) {
      const at = newRS.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION];
      if (at) {
        const left = Date.parse(at) - this.now.getTime();
        if (left > 0) {
          this.requeue(left);
          return false;
        }
        count = 0;
      } else {
        if ((this.stableRS?.status?.availableReplicas ?? 0) >= this.replicas) {
          await this.addScaleDownDelay(newRS, this.abortScaleDownDelaySeconds() ?? 0);
          this.requeue((this.abortScaleDownDelaySeconds() ?? 0) * 1000);
        }
        return false;
      }
    }
    const oldScale = newRS.spec.replicas ?? 0;
    const scaled = await this.scaleReplicaSet(newRS, count);
    // workloadRef scaleDown: progressively: the Deployment gives up a pod for each ready Rollout pod.
    if (revisionOf(newRS) === 1 && this.rollout.spec.workloadRef?.scaleDown === "progressively") {
      if (this.status.phase === "Healthy") await this.scaleWorkload(0);
      else if ((this.status.readyReplicas ?? 0) > 0 || oldScale > count) {
        await this.scaleWorkload(this.replicas - (this.status.readyReplicas ?? 0));
      }
    }
    return scaled;
  }

  /** scaleDeployment: sets the workloadRef Deployment's replicas. */
  async scaleWorkload(replicas: number): Promise<void> {
    const ref = this.rollout.spec.workloadRef;
    const target = Math.max(0, replicas);
    if (!ref || this.workloadReplicas === target) return;
    await this.world.patchDeployment(this.ns, ref.name, { spec: { replicas: target } });
    this.workloadReplicas = target;
  }

  /** replicasetutil.NewRSNewReplicas */
  newRSNewReplicas(newRS: ReplicaSet): number {
    const status = this.status;
    if (this.bg) {
      const preview = this.bg.previewReplicaCount;
      if (preview === undefined) return this.replicas;
      const activeRS = this.allRSs.find((rs) => podTemplateHashOf(rs) === status.blueGreen?.activeSelector);
      if (!activeRS || activeRS.metadata.name === newRS.metadata.name) return this.replicas;
      if (status.promoteFull) return this.replicas;
      if (podTemplateHashOf(newRS) !== status.currentPodHash) return preview;
      const notPaused = !this.spec.paused && (status.pauseConditions ?? []).length === 0;
      if (notPaused && status.blueGreen?.scaleUpPreviewCheckPoint) return this.replicas;
      return preview;
    }
    return this.canaryReplicaCounts(this.newWeights).newRS;
  }

  isReplicaSetReferenced(rs: ReplicaSet, services: Array<Service | undefined>): boolean {
    const hash = podTemplateHashOf(rs);
    if (!hash) return false;
    const s = this.status;
    const refs = [s.stableRS, s.currentPodHash, s.blueGreen?.activeSelector, s.blueGreen?.previewSelector];
    if (s.canary?.weights) refs.push(s.canary.weights.canary.podTemplateHash, s.canary.weights.stable.podTemplateHash);
    if (refs.includes(hash)) return true;
    return services.some((svc) => svc?.spec?.selector?.[POD_TEMPLATE_HASH_LABEL] === hash);
  }

  /** scaleDownDelayHelper: keeps an old ReplicaSet up until its scale-down deadline passes. */
  async scaleDownDelayHelper(rs: ReplicaSet, annotated: number, keepReplicas: number): Promise<[number, number]> {
    let desired = 0;
    // GetScaleDownRevisionLimit / GetScaleDownDelaySecondsOrDefault: blue-green's, else the canary's.
    const limit =
      this.bg?.scaleDownDelayRevisionLimit ?? this.canary?.scaleDownDelayRevisionLimit ?? Number.MAX_SAFE_INTEGER;
    const hasDeadline = !!rs.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION];
    if (!hasDeadline && (rs.spec.replicas ?? 0) > 0) {
      if (annotated < limit) {
        annotated++;
        const delay =
          (this.bg ? this.bg.scaleDownDelaySeconds : this.canary?.scaleDownDelaySeconds) ??
          DEFAULT_SCALE_DOWN_DELAY_SECONDS;
        if (delay > 0) {
          desired = rs.spec.replicas ?? 0;
          await this.addScaleDownDelay(rs, delay);
          this.requeue(delay * 1000);
        }
      }
    } else if (hasDeadline) {
      annotated++;
      if (annotated <= limit) {
        const left = this.remainingBeforeScaleDown(rs);
        if (left !== undefined) {
          this.requeue(left);
          desired = keepReplicas;
        }
      }
    }
    return [annotated, desired];
  }

  async reconcileOtherReplicaSets(services: Array<Service | undefined>): Promise<boolean> {
    const others = this.otherRSs.filter((rs) => (rs.spec.replicas ?? 0) > 0);
    if (others.length === 0) return false;
    let scaled = false;
    if (this.bg) {
      others.sort((a, b) => revisionOf(b) - revisionOf(a));
      let annotated = 0;
      for (const rs of others) {
        if (this.isReplicaSetReferenced(rs, services)) continue;
        const [a, desired] = await this.scaleDownDelayHelper(rs, annotated, this.replicas);
        annotated = a;
        const current = this.allRSs.find((x) => x.metadata.name === rs.metadata.name) ?? rs;
        if ((current.spec.replicas ?? 0) === desired) continue;
        await this.scaleReplicaSet(current, desired);
        scaled = true;
      }
      return scaled;
    }
    // scaleDownOldReplicaSetsForCanary: first cleanupUnhealthyReplicas (an old ReplicaSet's pods that are not
    // available go at once, else they would hold the surge budget and block the new ReplicaSet), then old
    // ReplicaSets go down as far as availability allows.
    const cleaned = await this.cleanupUnhealthyReplicas(others);
    if (!cleaned) return false;
    scaled = cleaned.scaled;
    const available = sumOf(this.allRSs, (rs) => rs.status?.availableReplicas);
    let maxScaleDown = available - (this.replicas - this.maxUnavailable());
    if (maxScaleDown <= 0) return scaled;
    const routed = !!this.canary?.trafficRouting;
    let annotated = 0;
    for (const rs of cleaned.oldRSs.sort((a, b) => revisionOf(b) - revisionOf(a))) {
      // Skipped while still referenced: the user went back to stable in the middle of an update.
      if (routed && this.isReplicaSetReferenced(rs, services)) continue;
      if (maxScaleDown <= 0) break;
      const current = rs.spec.replicas ?? 0;
      if (current === 0) continue;
      let desired = 0;
      if (!routed) {
        // A basic canary scales every other ReplicaSet down: their pods receive traffic.
        if (current > maxScaleDown) desired = current - maxScaleDown;
      } else if (isFullyPromoted(this.status) || rs.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION]) {
        // The previous stable: at once with dynamicStableScale, else after scaleDownDelaySeconds, keeping at most
        // scaleDownDelayRevisionLimit such ReplicaSets up. An intermediate ReplicaSet (V1 -> V2 -> V3 mid-update)
        // gets no traffic and goes to 0.
        if (!this.canary?.dynamicStableScale)
          [annotated, desired] = await this.scaleDownDelayHelper(rs, annotated, current);
      }
      if (current === desired) continue;
      await this.scaleReplicaSet(rs, desired);
      maxScaleDown -= current - desired;
      scaled = true;
    }
    return scaled;
  }

  /** cleanupUnhealthyReplicas (rollout/replicaset.go): scales each old ReplicaSet down to its available pods. */
  async cleanupUnhealthyReplicas(oldRSs: ReplicaSet[]): Promise<{ oldRSs: ReplicaSet[]; scaled: boolean } | undefined> {
    const sorted = [...oldRSs].sort(
      (a, b) => createdAt(a) - createdAt(b) || a.metadata.name.localeCompare(b.metadata.name),
    );
    let scaled = false;
    const out: ReplicaSet[] = [];
    for (const rs of sorted) {
      const spec = rs.spec.replicas ?? 0;
      const available = rs.status?.availableReplicas ?? 0;
      if (spec === 0 || spec === available) {
        out.push(rs);
        continue;
      }
      // Upstream refuses "to scale down ... -> more" and gives up scaling old ReplicaSets in this pass.
      if (available > spec) return undefined;
      await this.scaleReplicaSet(rs, available);
      scaled = true;
      out.push(this.allRSs.find((x) => x.metadata.name === rs.metadata.name) ?? rs);
    }
    return { oldRSs: out, scaled };
  }

  async reconcileRevisionHistoryLimit(): Promise<void> {
    const limit = this.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
    const cleanable = [...this.otherRSs].sort((a, b) => createdAt(a) - createdAt(b));
    const excess = cleanable.length - limit;
    for (let i = 0; i < excess; i++) {
      const rs = cleanable[i];
      if (!rs || (rs.spec.replicas ?? 0) !== 0 || (rs.status?.replicas ?? 0) !== 0) continue;
      await this.world.deleteReplicaSet(this.ns, rs.metadata.name);
      this.allRSs = this.allRSs.filter((x) => x !== rs);
      this.otherRSs = this.otherRSs.filter((x) => x !== rs);
    }
  }

  /** MaxUnavailable for a canary: resolveFenceposts with the 25% defaults. */
  maxUnavailable(): number {
    return resolveFenceposts(this.canary?.maxSurge ?? "25%", this.canary?.maxUnavailable ?? "25%", this.replicas)
      .unavailable;
  }

  // ---------------------------------------------------------------- services

  async switchServiceSelector(svc: Service, hash: string): Promise<void> {
    const current = svc.spec?.selector?.[POD_TEMPLATE_HASH_LABEL];
    const managed = svc.metadata.annotations?.[MANAGED_BY_ROLLOUTS_ANNOTATION];
    if (current === hash && managed) return;
    const patch: Record<string, unknown> = { spec: { selector: { [POD_TEMPLATE_HASH_LABEL]: hash } } };
    if (!managed) patch.metadata = { annotations: { [MANAGED_BY_ROLLOUTS_ANNOTATION]: this.name } };
    await this.world.patchService(this.ns, svc.metadata.name, patch);
    this.world.event?.(
      "Normal",
      "SwitchService",
      `Switched selector for service '${svc.metadata.name}' from '${current ?? ""}' to '${hash}'`,
    );
    svc.spec = { ...svc.spec, selector: { ...svc.spec?.selector, [POD_TEMPLATE_HASH_LABEL]: hash } };
    svc.metadata.annotations = { ...svc.metadata.annotations, [MANAGED_BY_ROLLOUTS_ANNOTATION]: managed ?? this.name };
  }

  haltProgress(): string {
    if (this.spec.paused) return "user paused";
    return "";
  }

  // ---------------------------------------------------------------- rollback detection

  isRollback(): boolean {
    if (!this.newRS || !this.stableRS) return false;
    return this.status.stableRS === podTemplateHashOf(this.newRS) || createdAt(this.newRS) < createdAt(this.stableRS);
  }
  isFastRollback(): boolean {
    if (!this.isRollback()) return false;
    const withinDelay = !!this.bg && this.newRSWithinDelay;
    return withinDelay || this.status.stableRS === podTemplateHashOf(this.newRS);
  }
  podSpecChanged(): boolean {
    const current = this.status.currentPodHash;
    if (!current) return false;
    const hash = this.newRS ? podTemplateHashOf(this.newRS) : this.desiredHash();
    return current !== hash;
  }
  /** checkStepHashChange: true with no recorded step hash yet, as upstream. */
  stepsChanged(): boolean {
    if (!this.canary) return false;
    const prev = this.status.currentStepHash;
    return !prev || prev !== computeStepHash(this.spec);
  }

  // ---------------------------------------------------------------- restart (spec.restartAt)

  /** RolloutPodRestarter.Reconcile: evicts Pods older than spec.restartAt, keeping availability. */
  async reconcileRestart(): Promise<number> {
    const restartAt = this.spec.restartAt;
    if (!restartAt) return 0;
    const at = Date.parse(restartAt);
    if (at > this.now.getTime()) {
      this.requeue(at - this.now.getTime());
      return 0;
    }
    if (this.status.restartedAt === restartAt) return 0;
    const uids = new Set(this.allRSs.map((rs) => rs.metadata.uid));
    const pods = (await this.world.listPods(this.ns)).filter((p) =>
      (p.metadata.ownerReferences ?? []).some((o) => uids.has(o.uid)),
    );
    const total = sumOf(this.allRSs, (rs) => rs.spec.replicas);
    const available = pods.filter((p) => !p.metadata.deletionTimestamp && isPodReady(p)).length;
    const concurrent = Math.max(this.canary ? this.maxUnavailable() : 0, 1);
    let canRestart = available - (Math.max(this.replicas, total) - concurrent);
    let needs = 0;
    let restarted = 0;
    for (const pod of pods) {
      if (Date.parse(pod.metadata.creationTimestamp ?? "") >= at) continue;
      needs++;
      if (canRestart <= 0 || pod.metadata.deletionTimestamp) continue;
      await this.world.deletePod(this.ns, pod.metadata.name);
      canRestart--;
      restarted++;
    }
    if (needs - restarted !== 0) this.requeue(RESTART_POD_CHECK_MS);
    else this.restartedAt = restartAt;
    return restarted;
  }

  // ---------------------------------------------------------------- status

  calculateBaseStatus(): RolloutStatus {
    const prev = this.status;
    const currentPodHash = this.newRS ? (podTemplateHashOf(this.newRS) ?? "") : this.desiredHash();
    const conditions = (prev.conditions ?? []).filter((c) => c.type !== "InvalidSpec");
    const status: RolloutStatus = {
      restartedAt: this.restartedAt,
      currentPodHash,
      replicas: sumOf(this.allRSs, (rs) => rs.status?.replicas),
      updatedReplicas: this.newRS?.status?.replicas ?? 0,
      readyReplicas: sumOf(this.allRSs, (rs) => rs.status?.readyReplicas),
      collisionCount: prev.collisionCount,
      conditions,
      canary: {},
      blueGreen: {},
      promoteFull: currentPodHash !== prev.stableRS && !!prev.promoteFull,
    };
    return status;
  }

  resetRolloutStatus(status: RolloutStatus): void {
    this.pause.clearPauseConditions = true;
    this.pause.removeAbort = true;
    this.restartedAt = this.spec.restartAt;
    status.restartedAt = this.spec.restartAt;
    status.promoteFull = false;
    if (status.blueGreen) status.blueGreen.scaleUpPreviewCheckPoint = false;
    status.currentStepIndex = this.canary && (this.canary.steps?.length ?? 0) > 0 ? 0 : undefined;
  }

  promoteStable(status: RolloutStatus, reason: string): void {
    this.pause.clearPauseConditions = true;
    this.pause.removeAbort = true;
    status.promoteFull = false;
    if (status.blueGreen) status.blueGreen.scaleUpPreviewCheckPoint = false;
    if (this.canary) {
      const steps = this.canary.steps?.length ?? 0;
      status.currentStepIndex = steps > 0 ? steps : undefined;
    }
    const ref = this.rollout.spec.workloadRef;
    if (revisionOf(this.newRS) === 1 && this.status.phase === "Healthy" && ref?.scaleDown === "onsuccess") {
      this.scaleWorkloadToZero = true;
    }
    if (status.stableRS !== status.currentPodHash) {
      this.world.event?.(
        "Normal",
        "RolloutCompleted",
        `Rollout completed update to revision ${revisionOf(this.newRS)} (${status.currentPodHash ?? ""}): ${reason}`,
      );
    }
    status.stableRS = status.currentPodHash;
  }

  calculateRolloutConditions(status: RolloutStatus): void {
    const now = this.nowIso;
    const isPaused = (status.pauseConditions ?? []).length > 0 || !!this.spec.paused;
    const isAborted = this.pause.isAborted();
    const ro: Rollout = { ...this.rollout, spec: this.spec };
    let becameUnhealthy = false;
    if (!isPaused && rolloutHealthy(ro, status)) {
      setCondition(status, newCondition("Healthy", "True", REASONS.rolloutHealthy, MESSAGES.rolloutHealthy, now));
    } else if (getCondition(this.status, "Healthy")) {
      becameUnhealthy = setCondition(
        status,
        newCondition("Healthy", "False", REASONS.rolloutHealthy, MESSAGES.rolloutNotHealthy, now),
      );
    }
    if (isAborted) {
      let message = MESSAGES.rolloutAborted(
        revisionOf(this.newRS) || Number(this.rollout.metadata.annotations?.[REVISION_ANNOTATION] ?? 0),
      );
      if (this.pause.abortMessage) message = `${message}: ${this.pause.abortMessage}`;
      if (setCondition(status, newCondition("Progressing", "False", REASONS.rolloutAborted, message, now))) {
        this.world.event?.("Warning", REASONS.rolloutAborted, message);
      }
    }
    const current = getCondition(this.status, "Progressing");
    const isHealthyRollout =
      status.replicas === status.availableReplicas &&
      current?.reason === REASONS.newReplicaSetAvailable &&
      current.type !== "Progressing";
    if (!isHealthyRollout && !isAborted) {
      if (rolloutHealthy(ro, status)) {
        setCondition(
          status,
          newCondition(
            "Progressing",
            "True",
            REASONS.newReplicaSetAvailable,
            MESSAGES.replicaSetCompleted(this.newRS?.metadata.name ?? ""),
            now,
          ),
        );
      } else if (rolloutProgressing(ro, status) || becameUnhealthy) {
        let message = this.newRS
          ? MESSAGES.replicaSetProgressing(this.newRS.metadata.name)
          : MESSAGES.rolloutProgressing(this.name);
        let reason: string = REASONS.replicaSetUpdated;
        if (status.stableRS === status.currentPodHash && becameUnhealthy) {
          reason = REASONS.replicaSetNotAvailable;
          message = MESSAGES.notAvailable;
        }
        const cond = newCondition("Progressing", "True", reason, message, now);
        if (current?.status === "True") cond.lastTransitionTime = current.lastTransitionTime;
        removeCondition(status, "Progressing");
        setCondition(status, cond);
      } else if (!this.isIndefiniteStep() && !this.isWaitingForScaleDown() && this.timedOut(status)) {
        const message = this.newRS
          ? MESSAGES.replicaSetTimedOut(this.newRS.metadata.name)
          : `Rollout "${this.name}" has timed out progressing.`;
        setCondition(status, newCondition("Progressing", "False", REASONS.timedOut, message, now));
      }
    }
    const activeRS = this.allRSs.find((rs) => podTemplateHashOf(rs) === status.blueGreen?.activeSelector);
    const available =
      (this.bg && activeRS && this.isSaturated(activeRS)) ||
      (this.canary && sumOf(this.allRSs, (rs) => rs.status?.availableReplicas) >= this.replicas);
    setCondition(
      status,
      available
        ? newCondition("Available", "True", REASONS.available, MESSAGES.available, now)
        : newCondition("Available", "False", REASONS.available, MESSAGES.notAvailable, now),
    );
    const completed = rolloutCompleted(status);
    const completedChanged = setCondition(
      status,
      newCondition("Completed", completed ? "True" : "False", REASONS.rolloutCompleted, REASONS.rolloutCompleted, now),
    );
    if (!completed && completedChanged) {
      const revision = Number(this.rollout.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);
      this.world.event?.(
        "Normal",
        "RolloutNotCompleted",
        `Rollout not completed, started update to revision ${revision} (${status.currentPodHash ?? ""})`,
      );
    }
  }

  /** evaluateProgressDeadlineAbort: spec.progressDeadlineAbort aborts an in-flight update past its deadline. */
  evaluateProgressDeadlineAbort(status: RolloutStatus): void {
    if (!this.spec.progressDeadlineAbort || this.pause.isAborted()) return;
    if (rolloutCompleted(status)) return;
    if (rolloutProgressing({ ...this.rollout, spec: this.spec }, status)) return;
    if (this.isIndefiniteStep() || this.isWaitingForScaleDown()) return;
    if (!this.timedOut(this.status)) return;
    const message = this.newRS
      ? MESSAGES.replicaSetTimedOut(this.newRS.metadata.name)
      : `Rollout "${this.name}" has timed out progressing.`;
    this.pause.addAbort = true;
    this.pause.abortMessage = message;
    this.world.event?.("Warning", REASONS.rolloutAborted, message);
  }

  isIndefiniteStep(): boolean {
    const step = this.currentCanaryStep().step;
    if (step && (step.pause || step.analysis || step.experiment)) return true;
    return getCondition(this.status, "Paused")?.status === "True";
  }
  isWaitingForScaleDown(): boolean {
    return this.otherRSs.some((rs) => !!rs.metadata.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION]);
  }
  timedOut(status: RolloutStatus): boolean {
    const cond = getCondition(status, "Progressing");
    if (!cond || cond.reason === REASONS.rolloutAborted || cond.reason === REASONS.rolloutPaused) return false;
    if (cond.reason === REASONS.timedOut) return true;
    const deadline = (this.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
    return Date.parse(cond.lastUpdateTime) + deadline < this.now.getTime();
  }

  isSaturated(rs: ReplicaSet | undefined): boolean {
    if (!rs) return false;
    const desired = Number(rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION]);
    return (
      (rs.spec.replicas ?? 0) === this.replicas &&
      desired === this.replicas &&
      (rs.status?.availableReplicas ?? 0) === this.replicas
    );
  }

  async persistStatus(status: RolloutStatus): Promise<void> {
    this.applyAnalysisStatus(status);
    status.observedGeneration = String(this.rollout.metadata.generation ?? 1);
    if (this.rollout.spec.workloadRef && this.workloadGeneration !== undefined) {
      status.workloadObservedGeneration = String(this.workloadGeneration);
    }
    // The progress-deadline abort first, so the abort it adds is persisted in this same pass.
    this.evaluateProgressDeadlineAbort(status);
    this.pause.calculatePauseStatus(status, this.nowIso);
    this.calculateRolloutConditions(status);
    const { phase, message } = calculateRolloutPhase(this.spec, status);
    status.phase = phase;
    status.message = message;
    const next = omitEmpty(status);
    const patch = mergePatchBetween(this.storedStatus, next);
    if (patch && Object.keys(patch).length > 0) {
      await this.world.patchRolloutStatus(this.ns, this.name, { status: patch });
      const wasPaused = (this.storedStatus.pauseConditions ?? []).length > 0;
      const firstPause = next.pauseConditions?.[0];
      if (!wasPaused && firstPause) {
        this.world.event?.("Normal", REASONS.rolloutPaused, `${MESSAGES.rolloutPaused} (${firstPause.reason})`);
      } else if (wasPaused && !firstPause && !next.abortedAt) {
        this.world.event?.("Normal", REASONS.rolloutResumed, MESSAGES.rolloutResumed);
      }
    }
    this.scheduleProgressDeadline(next);
  }

  /** requeueStuckRollout: wake up when the progress deadline would pass. */
  scheduleProgressDeadline(status: RolloutStatus): void {
    const cond = getCondition(status, "Progressing");
    if (!cond) return;
    const paused = (status.pauseConditions ?? []).length > 0 || !!this.spec.paused;
    if (cond.reason === REASONS.timedOut || cond.reason === REASONS.newReplicaSetAvailable) return;
    if (paused || status.abort || this.isIndefiniteStep()) return;
    const deadline = (this.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
    this.requeue(Date.parse(cond.lastUpdateTime) + deadline + 1000 - this.now.getTime());
  }

  /** checkPausedConditions: records Paused/Resumed/Retry transitions before anything else. */
  async checkPausedConditions(): Promise<boolean> {
    const status = this.status;
    if (String(this.rollout.metadata.generation ?? 1) !== status.observedGeneration) return false;
    const prog = getCondition(status, "Progressing");
    const progPaused = prog?.reason === REASONS.rolloutPaused;
    const isPaused = (status.pauseConditions ?? []).length > 0 || !!this.spec.paused;
    const abortCond = prog?.reason === REASONS.rolloutAborted;
    const updates = [];
    if (isPaused !== progPaused && !abortCond && !rolloutCompleted(status)) {
      updates.push(
        isPaused
          ? newCondition("Progressing", "Unknown", REASONS.rolloutPaused, MESSAGES.rolloutPaused, this.nowIso)
          : newCondition("Progressing", "Unknown", REASONS.rolloutResumed, MESSAGES.rolloutResumed, this.nowIso),
      );
    }
    if (!status.abort && abortCond) {
      updates.push(newCondition("Progressing", "Unknown", REASONS.rolloutRetry, MESSAGES.rolloutRetry, this.nowIso));
    }
    const pausedTrue = getCondition(status, "Paused")?.status === "True";
    if (isPaused !== pausedTrue && !abortCond) {
      updates.push(
        newCondition("Paused", isPaused ? "True" : "False", REASONS.rolloutPaused, MESSAGES.rolloutPaused, this.nowIso),
      );
    }
    if (updates.length === 0) return false;
    const next = structuredClone(status);
    for (const cond of updates) setCondition(next, cond);
    next.observedGeneration = String(this.rollout.metadata.generation ?? 1);
    const { phase, message } = calculateRolloutPhase(this.spec, next);
    next.phase = phase;
    next.message = message;
    const patch = mergePatchBetween(status, next);
    if (patch && Object.keys(patch).length > 0) {
      await this.world.patchRolloutStatus(this.ns, this.name, { status: patch });
      return true;
    }
    return false;
  }

  async persistInvalidSpec(message: string): Promise<void> {
    const status = structuredClone(this.status);
    // createInvalidRolloutCondition: a new reason for being invalid replaces the condition.
    if (getCondition(status, "InvalidSpec")?.message !== message) removeCondition(status, "InvalidSpec");
    setCondition(status, newCondition("InvalidSpec", "True", REASONS.invalidSpec, message, this.nowIso));
    status.observedGeneration = String(this.rollout.metadata.generation ?? 1);
    const { phase, message: msg } = calculateRolloutPhase(this.spec, status);
    status.phase = phase;
    status.message = msg;
    const patch = mergePatchBetween(this.storedStatus, status);
    if (patch && Object.keys(patch).length > 0) {
      await this.world.patchRolloutStatus(this.ns, this.name, { status: patch });
    }
  }

  // ---------------------------------------------------------------- blue-green

  async getServices(): Promise<{ active: Service; preview: Service | undefined }> {
    const bg = this.bg;
    if (!bg) throw new Error("not a blue-green Rollout");
    const active = await this.world.getService(this.ns, bg.activeService);
    const preview = bg.previewService ? await this.world.getService(this.ns, bg.previewService) : undefined;
    if (!active) throw new Error(`service "${bg.activeService}" not found`);
    return { active, preview };
  }

  isBlueGreenFastTracked(active: Service): boolean {
    if (this.isFastRollback()) return true;
    if (this.status.promoteFull) return true;
    const activeHash = active.spec?.selector?.[POD_TEMPLATE_HASH_LABEL];
    if (activeHash === undefined) return true;
    return activeHash === podTemplateHashOf(this.newRS);
  }

  readyForPause(): boolean {
    const newRS = this.newRS;
    if (!newRS) return false;
    const count = this.newRSNewReplicas(newRS);
    return (newRS.spec.replicas ?? 0) === count && (newRS.status?.availableReplicas ?? 0) === count;
  }

  needsBlueGreenControllerPause(): boolean {
    const bg = this.bg;
    if (!bg) return false;
    if (bg.autoPromotionEnabled === false) return true;
    return (bg.autoPromotionSeconds ?? 0) > 0;
  }

  pauseCondition(reason: PauseReason): PauseCondition | undefined {
    return (this.status.pauseConditions ?? []).find((c) => c.reason === reason);
  }

  completedBlueGreenPause(): boolean {
    const bg = this.bg;
    if (!bg) return true;
    const cond = this.pauseCondition("BlueGreenPause");
    if (this.pause.hasAddPause()) return false;
    if (this.status.blueGreen?.scaleUpPreviewCheckPoint) return true;
    if (bg.autoPromotionEnabled === undefined || bg.autoPromotionEnabled) {
      const seconds = bg.autoPromotionSeconds ?? 0;
      if (seconds === 0) return true;
      if (cond) return this.now.getTime() > Date.parse(cond.startTime) + seconds * 1000;
      return false;
    }
    return !!this.status.controllerPause && !cond;
  }

  reconcileBlueGreenPause(active: Service): void {
    if (this.status.abort) return;
    if (!this.readyForPause()) return;
    if (this.haltProgress()) return;
    const newHash = podTemplateHashOf(this.newRS);
    if (this.isBlueGreenFastTracked(active)) {
      this.pause.removePauseReasons.push("BlueGreenPause");
      return;
    }
    if (active.spec?.selector?.[POD_TEMPLATE_HASH_LABEL] === newHash) {
      this.pause.removePauseReasons.push("BlueGreenPause");
      return;
    }
    if (this.status.blueGreen?.scaleUpPreviewCheckPoint) {
      this.pause.removePauseReasons.push("BlueGreenPause");
      return;
    }
    if (!this.needsBlueGreenControllerPause()) {
      this.pause.removePauseReasons.push("BlueGreenPause");
      return;
    }
    // Not ready for pause: prePromotionAnalysis incomplete.
    if (!this.completedPrePromotionAnalysis()) return;
    const cond = this.pauseCondition("BlueGreenPause");
    if (cond) {
      if (!this.completedBlueGreenPause()) {
        const seconds = this.bg?.autoPromotionSeconds ?? 0;
        if (seconds > 0) this.requeue(Date.parse(cond.startTime) + seconds * 1000 + 1000 - this.now.getTime());
      } else {
        this.pause.removePauseReasons.push("BlueGreenPause");
      }
    } else if (!this.status.controllerPause) {
      this.pause.addPauseReasons.push("BlueGreenPause");
    }
  }

  async reconcileActiveService(active: Service): Promise<void> {
    if (this.haltProgress()) return;
    if (!this.readyForPause() || !this.isSaturated(this.newRS)) return;
    let hash = active.spec?.selector?.[POD_TEMPLATE_HASH_LABEL];
    const newHash = podTemplateHashOf(this.newRS) ?? "";
    if (this.isBlueGreenFastTracked(active)) hash = newHash;
    if (this.completedBlueGreenPause() && this.completedPrePromotionAnalysis()) hash = newHash;
    if (this.status.abort) hash = this.status.stableRS;
    if (hash === undefined || hash === "") return;
    await this.switchServiceSelector(active, hash);
  }

  shouldFullPromote(status: RolloutStatus): string {
    if (!this.stableRS) return "Initial deploy";
    if (this.canary) {
      if (this.pause.isAborted()) return "";
      if (!this.newRS || (this.newRS.status?.availableReplicas ?? 0) < this.replicas) return "";
      if (this.status.promoteFull) return "Full promotion requested";
      if (this.isFastRollback()) return "Fast rollback";
      const steps = this.canary.steps?.length ?? 0;
      const index = this.currentCanaryStep().index;
      if (steps === 0 || index === steps) return `Completed all ${steps} canary steps`;
      return "";
    }
    if (!status.blueGreen?.activeSelector) return "Initial deploy";
    if (status.blueGreen.activeSelector !== status.currentPodHash) return "";
    if (this.status.promoteFull) return "Full promotion requested";
    if (this.isFastRollback()) return "Fast rollback";
    if (this.pause.isAborted()) return "";
    if ((this.bg as { postPromotionAnalysis?: unknown } | undefined)?.postPromotionAnalysis) {
      const post = this.currentRuns.PostPromotion ?? this.loadedRuns.PostPromotion;
      if (post?.status?.phase !== "Successful") return "";
    }
    return "Completed blue-green update";
  }

  async syncStatusBlueGreen(preview: Service | undefined, active: Service): Promise<void> {
    const status = this.calculateBaseStatus();
    status.stableRS = this.status.stableRS;
    if (this.podSpecChanged()) this.resetRolloutStatus(status);
    if (this.status.promoteFull) {
      this.pause.clearPauseConditions = true;
      this.pause.removeAbort = true;
    }
    const previewSelector = preview?.spec?.selector?.[POD_TEMPLATE_HASH_LABEL];
    const activeSelector = active.spec?.selector?.[POD_TEMPLATE_HASH_LABEL];
    status.blueGreen = { previewSelector, activeSelector };
    const promoteReason = this.shouldFullPromote(status);
    if (promoteReason) {
      this.promoteStable(status, promoteReason);
    } else {
      status.blueGreen.scaleUpPreviewCheckPoint = this.scaleUpPreviewCheckPoint();
    }
    const activeRS = this.allRSs.find((rs) => podTemplateHashOf(rs) === activeSelector);
    if (activeRS) {
      status.HPAReplicas = activeRS.status?.replicas ?? 0;
      status.selector = formatSelector(activeRS.spec.selector);
      status.availableReplicas = activeRS.status?.availableReplicas ?? 0;
      status.readyReplicas = activeRS.status?.readyReplicas ?? 0;
    } else {
      status.HPAReplicas = sumOf(this.allRSs, (rs) => rs.status?.replicas);
      status.selector = formatSelector(this.spec.selector);
      status.availableReplicas = sumOf(this.allRSs, (rs) => rs.status?.availableReplicas);
    }
    await this.persistStatus(status);
  }

  scaleUpPreviewCheckPoint(): boolean {
    const bg = this.bg;
    if (bg?.previewReplicaCount === undefined) return false;
    if (this.status.blueGreen?.scaleUpPreviewCheckPoint) return true;
    if (!this.completedBlueGreenPause()) return false;
    return bg.previewReplicaCount === (this.newRS?.status?.availableReplicas ?? 0);
  }

  async rolloutBlueGreen(): Promise<void> {
    const { active, preview } = await this.getServices();
    if (preview && !this.haltProgress() && this.newRS) {
      await this.switchServiceSelector(preview, podTemplateHashOf(this.newRS) ?? "");
    }
    if (this.podSpecChanged()) {
      await this.syncStatusBlueGreen(preview, active);
      return;
    }
    await this.reconcileRestart();
    await this.removeScaleDownDeadlines();
    if (this.stableRS) await this.scaleReplicaSet(this.stableRS, this.replicas);
    await this.reconcileNewReplicaSet();
    await this.reconcileOtherReplicaSets([active, preview]);
    await this.reconcileRevisionHistoryLimit();
    await this.loadAnalysisRuns();
    this.reconcileBlueGreenPause(active);
    await this.reconcileActiveService(active);
    await this.reconcileAnalysisRuns();
    await this.syncStatusBlueGreen(preview, active);
  }

  // ---------------------------------------------------------------- canary

  currentCanaryStep(): { step: CanaryStepLike | undefined; index: number | undefined } {
    const steps = this.canary?.steps ?? [];
    if (!this.canary || steps.length === 0) return { step: undefined, index: undefined };
    const index = this.status.currentStepIndex ?? 0;
    return { step: steps[index], index };
  }

  /** GetCurrentSetWeight: the last setWeight at or before the current step (0 once aborted). */
  currentSetWeight(): number {
    if (this.status.abort) return 0;
    const { step, index } = this.currentCanaryStep();
    if (!step || index === undefined) return 100;
    const steps = this.canary?.steps ?? [];
    for (let i = index; i >= 0; i--) {
      const w = steps[i]?.setWeight;
      if (typeof w === "number") return w;
    }
    return 0;
  }

  /** GetAbortScaleDownDelaySecondsOrDefault's wasSet: abortScaleDownDelaySeconds given and not 0. */
  hasExplicitAbortScaleDownDelay(): boolean {
    const set = this.bg ? this.bg.abortScaleDownDelaySeconds : this.canary?.abortScaleDownDelaySeconds;
    return set !== undefined && set !== 0 && (!!this.bg || !!this.canary?.trafficRouting);
  }

  /**
   * GetDesiredCanaryWeight: with dynamicStableScale, an abort steps the weight down through the setWeight steps in
   * reverse as the stable ReplicaSet comes back, instead of dropping to 0 at once.
   */
  desiredCanaryWeight(): number {
    const newRS = this.newRS;
    const stableRS = this.stableRS;
    if (this.status.abort && this.canary?.dynamicStableScale && newRS && stableRS) {
      const replicas = this.replicas;
      const expectedCanaryReplicas = replicas - (stableRS.status?.availableReplicas ?? 0);
      let canaryReplicas = Math.max(expectedCanaryReplicas, newRS.status?.availableReplicas ?? 0);
      // An explicit abortScaleDownDelaySeconds keeps the canary up until its deadline, so its size must not hold
      // the weight up (upstream issue #4898).
      if (this.hasExplicitAbortScaleDownDelay()) canaryReplicas = expectedCanaryReplicas;
      const steps = this.canary.steps ?? [];
      for (let i = steps.length - 1; i >= 0; i--) {
        const w = steps[i]?.setWeight;
        if (typeof w === "number" && trafficWeightToReplicas(replicas, w) < canaryReplicas) return w;
      }
      return 0;
    }
    return this.currentSetWeight();
  }

  /** UseSetCanaryScale: the setCanaryScale in force (traffic-routed canaries only), unless matchTrafficWeight. */
  useSetCanaryScale(): SetCanaryScale | undefined {
    const canary = this.canary;
    if (!canary?.trafficRouting) return undefined;
    // Aborted: the canary scale no longer applies, unless abortScaleDownDelaySeconds: 0 leaves the canary up.
    if (this.status.abort && this.abortScaleDownDelaySeconds() !== undefined) return undefined;
    const { step, index } = this.currentCanaryStep();
    if (!step || index === undefined) return undefined;
    const steps = canary.steps ?? [];
    for (let i = index; i >= 0; i--) {
      const scale = steps[i]?.setCanaryScale;
      if (!scale) continue;
      if (scale.matchTrafficWeight) return undefined;
      return scale;
    }
    return undefined;
  }

  /** GetCanaryReplicasOrWeight: an explicit canary replica count (setCanaryScale.replicas) or a weight. */
  canaryReplicasOrWeight(): { replicas?: number; weight: number } {
    const s = this.status;
    if (s.promoteFull || !s.stableRS || s.currentPodHash === s.stableRS) return { weight: 100 };
    const scale = this.useSetCanaryScale();
    if (scale?.replicas !== undefined) return { replicas: scale.replicas, weight: 0 };
    if (scale?.weight !== undefined) return { weight: scale.weight };
    return { weight: this.desiredCanaryWeight() };
  }

  /** CheckMinPodsPerReplicaSet (traffic-routed canaries), capped at spec.replicas. */
  minPods(count: number): number {
    const min = this.canary?.minPodsPerReplicaSet;
    if (count === 0 || min === undefined || !this.canary?.trafficRouting) return count;
    return Math.max(count, Math.min(min, this.replicas));
  }

  /**
   * Target sizes of the canary and stable ReplicaSets: CalculateReplicaCountsForBasicCanary (weight approximated
   * by replica counts within maxSurge/maxUnavailable) or, behind a traffic router,
   * CalculateReplicaCountsForTrafficRoutedCanary: the canary from setCanaryScale or ceil(replicas × weight); the
   * stable full, or with dynamicStableScale from the higher of its desired and its current traffic weight
   * (`weights`), keeping the canary up on abort until traffic has left it.
   */
  canaryReplicaCounts(weights: TrafficWeights | undefined): { newRS: number; stable: number } {
    const replicas = this.replicas;
    const { replicas: explicit, weight } = this.canaryReplicasOrWeight();
    const canary = this.canary;
    if (canary?.trafficRouting) {
      let canaryCount = explicit ?? this.minPods(trafficWeightToReplicas(replicas, weight));
      if (!canary.dynamicStableScale) return { newRS: canaryCount, stable: replicas };
      let stable = trafficWeightToReplicas(replicas, 100 - weight);
      if (weights) {
        stable = Math.max(stable, trafficWeightToReplicas(replicas, weights.stable.weight));
        if (this.status.abort)
          canaryCount = Math.max(trafficWeightToReplicas(replicas, weights.canary.weight), canaryCount);
      }
      return { newRS: this.minPods(canaryCount), stable: this.minPods(stable) };
    }
    const stableExists = !!this.stableRS && this.stableRS !== this.newRS;
    return basicCanaryReplicaCounts({
      replicas,
      desiredWeight: weight,
      maxSurge: canary?.maxSurge,
      maxUnavailable: canary?.maxUnavailable,
      newRS: countsOf(this.newRS),
      stableRS: stableExists ? countsOf(this.stableRS) : undefined,
      otherRSs: this.otherRSs.map((rs) => countsOf(rs) ?? { specReplicas: 0, availableReplicas: 0 }),
    });
  }

  /** AtDesiredReplicaCountsForCanary: the setWeight/setCanaryScale step is done once the counts are reached. */
  atDesiredCanaryCounts(weights: TrafficWeights | undefined): boolean {
    const { newRS, stable } = this.canaryReplicaCounts(weights);
    const n = this.newRS;
    if (!n || (n.spec.replicas ?? 0) !== newRS || (n.status?.availableReplicas ?? 0) !== newRS) return false;
    const routed = !!this.canary?.trafficRouting;
    if (!routed || !this.canary?.dynamicStableScale) {
      const s = this.stableRS;
      if (!s || (s.spec.replicas ?? 0) !== stable || (s.status?.replicas ?? 0) !== stable) return false;
    }
    if (!routed && sumOf(this.otherRSs, (rs) => rs.status?.availableReplicas) !== 0) return false;
    return true;
  }

  completedCanaryPauseStep(step: CanaryStepLike): boolean {
    const cond = this.pauseCondition("CanaryPauseStep");
    if (this.status.controllerPause && !cond) return true;
    const seconds = durationSeconds(step.pause?.duration);
    if (seconds !== undefined && cond) return this.now.getTime() > Date.parse(cond.startTime) + seconds * 1000;
    return false;
  }

  completedCurrentCanaryStep(): boolean {
    if (this.spec.paused) return false;
    const { step } = this.currentCanaryStep();
    if (!step) return false;
    if (step.pause) return this.completedCanaryPauseStep(step);
    if (step.setCanaryScale) return this.atDesiredCanaryCounts(this.newWeights);
    if (typeof step.setWeight === "number") return this.atDesiredCanaryCounts(this.newWeights);
    if (step.experiment) return this.currentEx?.status?.phase === "Successful";
    if (step.analysis) return this.currentRuns.Step?.status?.phase === "Successful";
    // Steps the simulation does not run (header and mirror routes, plugins) complete at once.
    return true;
  }

  /** reconcileCanaryPause: adds CanaryPauseStep; returns whether the step is a pause still running. */
  reconcileCanaryPause(): boolean {
    if (this.spec.paused || this.status.promoteFull) return false;
    const { step } = this.currentCanaryStep();
    if (!step?.pause) return false;
    const cond = this.pauseCondition("CanaryPauseStep");
    if (!cond) {
      if (!this.status.controllerPause) this.pause.addPauseReasons.push("CanaryPauseStep");
      return true;
    }
    const seconds = durationSeconds(step.pause.duration);
    if (seconds === undefined) return true;
    this.requeue(Date.parse(cond.startTime) + seconds * 1000 + 1000 - this.now.getTime());
    return true;
  }

  async reconcileCanaryServices(): Promise<void> {
    const canary = this.canary;
    if (!canary) return;
    const ensure = async (svcName: string | undefined, rs: ReplicaSet | undefined) => {
      if (!svcName || !rs) return;
      const svc = await this.world.getService(this.ns, svcName);
      if (!svc) return;
      const hash = podTemplateHashOf(rs) ?? "";
      const current = svc.spec?.selector?.[POD_TEMPLATE_HASH_LABEL];
      // Never point a Service at a ReplicaSet whose Pods are not all available.
      if (current !== hash && (rs.status?.availableReplicas ?? 0) < (rs.spec.replicas ?? 0)) return;
      await this.switchServiceSelector(svc, hash);
    };
    await ensure(canary.stableService, this.stableRS);
    if (this.pause.isAborted() && !canary.trafficRouting) {
      await ensure(canary.canaryService, this.stableRS);
      return;
    }
    // Aborted behind a router, reconcileTrafficRouting moves the canary Service.
    if (this.pause.isAborted() && canary.trafficRouting) return;
    await ensure(canary.canaryService, this.newRS);
  }

  async reconcileCanaryReplicaSets(): Promise<boolean> {
    if (this.haltProgress()) return false;
    await this.removeScaleDownDeadlines();
    if (this.stableRS && this.stableRS !== this.newRS) {
      // The stored weights, not this pass's: stable scaling lags one reconcile behind a weight change.
      const { stable } = this.canaryReplicaCounts(this.status.canary?.weights);
      if (await this.scaleReplicaSet(this.stableRS, stable)) return true;
    }
    if (await this.reconcileNewReplicaSet()) return true;
    const services = await Promise.all(
      [this.canary?.stableService, this.canary?.canaryService].map((n) =>
        n ? this.world.getService(this.ns, n) : Promise.resolve(undefined),
      ),
    );
    return this.reconcileOtherReplicaSets(services);
  }

  /** The Rollout's Experiments: the current one (by status.canary.currentExperiment) and the others. */
  async loadExperiments(): Promise<void> {
    const uid = this.rollout.metadata.uid;
    const owned = (await this.world.listExperiments(this.ns)).filter((ex) =>
      (ex.metadata.ownerReferences ?? []).some((o) => o.controller && o.uid === uid),
    );
    const current = this.status.canary?.currentExperiment;
    this.currentEx = current ? owned.find((ex) => ex.metadata.name === current) : undefined;
    this.otherExs = owned.filter((ex) => ex !== this.currentEx);
  }

  async cancelExperiments(exs: Array<Experiment | undefined>): Promise<void> {
    for (const ex of exs) {
      if (!ex || ex.spec.terminate || isCompleted(ex.status?.phase)) continue;
      await this.world.patchExperiment(this.ns, ex.metadata.name as string, { spec: { terminate: true } });
    }
  }

  /** GetExperimentFromTemplate: the Experiment a canary `experiment:` step runs, from the stable and canary RS. */
  experimentFromStep(step: RolloutExperimentStep): Experiment {
    const podHash = this.desiredHash();
    const revision = this.rollout.metadata.annotations?.[REVISION_ANNOTATION] ?? "";
    const index = this.status.currentStepIndex ?? 0;
    const templates = step.templates.map((t) => {
      const rs = t.specRef === "canary" ? this.newRS : this.stableRS;
      if (!rs) throw new Error(`no ${t.specRef} ReplicaSet for experiment template ${t.name}`);
      const template = structuredClone(rs.spec.template);
      const selector = structuredClone(t.selector ?? rs.spec.selector);
      if (t.metadata?.labels) {
        template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...t.metadata.labels } };
        selector.matchLabels = { ...selector.matchLabels, ...t.metadata.labels };
      }
      if (t.metadata?.annotations)
        template.metadata = {
          ...template.metadata,
          annotations: { ...template.metadata?.annotations, ...t.metadata.annotations },
        };
      return {
        name: t.name,
        ...(t.replicas !== undefined ? { replicas: t.replicas } : {}),
        minReadySeconds: rs.spec.minReadySeconds ?? 0,
        selector,
        template,
      };
    });
    // BuildArgumentsForRolloutAnalysisRun: podTemplateHashValue resolved now, `{{templates...}}` by the experiment.
    const analyses = (step.analyses ?? []).map((a) => ({
      name: a.name,
      templateName: a.templateName,
      ...(a.clusterScope ? { clusterScope: true } : {}),
      ...(a.requiredForCompletion ? { requiredForCompletion: true } : {}),
      args: (a.args ?? []).map((arg) => {
        let value = arg.value;
        if (arg.valueFrom?.podTemplateHashValue === "Stable") value = podTemplateHashOf(this.stableRS) ?? "";
        if (arg.valueFrom?.podTemplateHashValue === "Latest") value = podTemplateHashOf(this.newRS) ?? "";
        return { name: arg.name, ...(value !== undefined ? { value } : {}) };
      }),
    }));
    return {
      apiVersion: ROLLOUT_API_VERSION,
      kind: "Experiment",
      metadata: {
        name: `${this.name}-${podHash}-${revision}-${index}`,
        namespace: this.ns,
        labels: { ...this.rollout.metadata.labels, [POD_TEMPLATE_HASH_LABEL]: podHash },
        annotations: { [REVISION_ANNOTATION]: revision },
        ownerReferences: [this.ownerRef],
      },
      spec: {
        ...(step.duration !== undefined ? { duration: step.duration } : {}),
        ...(this.spec.progressDeadlineSeconds !== undefined
          ? { progressDeadlineSeconds: this.spec.progressDeadlineSeconds }
          : {}),
        ...(step.dryRun ? { dryRun: step.dryRun } : {}),
        ...(step.analysisRunMetadata ? { analysisRunMetadata: step.analysisRunMetadata } : {}),
        ...(step.scaleDownDelaySeconds !== undefined ? { scaleDownDelaySeconds: step.scaleDownDelaySeconds } : {}),
        templates,
        ...(analyses.length > 0 ? { analyses } : {}),
      },
    };
  }

  /** createExperimentWithCollisionHandling: our own unfinished one of that name is reused, else ".1", ".2" ... */
  async createExperiment(ex: Experiment): Promise<Experiment> {
    const base = ex.metadata.name as string;
    for (let i = 0; i < 100; i++) {
      ex.metadata.name = i === 0 ? base : `${base}.${i}`;
      const created = await this.world.createExperiment(this.ns, ex);
      if (created) return created;
      const existing = (await this.world.listExperiments(this.ns)).find((x) => x.metadata.name === ex.metadata.name);
      const ours = (existing?.metadata.ownerReferences ?? []).some(
        (o) => o.controller && o.uid === this.rollout.metadata.uid,
      );
      if (
        existing &&
        ours &&
        !isCompleted(existing.status?.phase) &&
        canonicalJson(existing.spec) === canonicalJson(ex.spec)
      )
        return existing;
    }
    throw new Error(`cannot find a free name for Experiment ${base}`);
  }

  /** reconcileExperiments */
  async reconcileExperiments(): Promise<void> {
    await this.loadExperiments();
    if (this.pause.isAborted() || this.status.promoteFull) {
      await this.cancelExperiments([...this.otherExs, this.currentEx]);
      return;
    }
    if (this.pauseCondition("InconclusiveAnalysisRun")) {
      this.newCurrentExperiment = this.status.canary?.currentExperiment;
      return;
    }
    const { step } = this.currentCanaryStep();
    let currentEx = this.currentEx;
    const experimentStep = step?.experiment as RolloutExperimentStep | undefined;
    if (experimentStep) {
      if (!currentEx) {
        if (!this.stableRS) return;
        currentEx = await this.createExperiment(this.experimentFromStep(experimentStep));
        this.currentEx = currentEx;
        this.world.event?.("Normal", "ExperimentCreated", `Created Experiment '${currentEx.metadata.name}'`);
      }
      const phase = currentEx.status?.phase;
      if (phase === "Inconclusive") this.pause.addPauseReasons.push("InconclusiveExperiment");
      else if (phase === "Error" || phase === "Failed") {
        this.pause.addAbort = true;
        const message = currentEx.status?.message;
        this.pause.abortMessage = `Experiment analysis phase is error/failed${message ? `: ${message}` : ""}`;
      } else if (phase !== "Successful") this.newCurrentExperiment = currentEx.metadata.name as string;
    }
    const others = [...this.otherExs];
    if (currentEx && !experimentStep) others.push(currentEx);
    await this.cancelExperiments(others);
  }

  /** IsDynamicallyRollingBackToStable: the hash traffic still goes to while a dynamic rollback brings stable up. */
  dynamicRollbackHash(): string | undefined {
    const prev = this.status.canary?.weights;
    if (!isFullyPromoted(this.status) || !this.canary?.trafficRouting || !this.canary.dynamicStableScale || !prev)
      return undefined;
    const hash = podTemplateHashOf(this.newRS);
    if (prev.canary.podTemplateHash === hash) return undefined;
    if ((this.newRS?.status?.availableReplicas ?? 0) >= this.replicas) return undefined;
    return prev.canary.podTemplateHash;
  }

  /** calculateDesiredWeightOnAbortOrStableRollback: shift traffic back only as fast as stable pods come up. */
  desiredWeightOnAbortOrStableRollback(): number {
    const replicas = this.replicas;
    if (!this.canary?.dynamicStableScale || !this.stableRS || !this.newRS || replicas === 0) return 0;
    const desired = this.desiredCanaryWeight();
    const stableWeight = Math.trunc((100 * (this.stableRS.status?.availableReplicas ?? 0)) / replicas);
    const expected = Math.max(0, 100 - stableWeight);
    const prev = this.status.canary?.weights;
    if (!prev) return Math.max(expected, desired);
    const current = prev.canary.weight;
    if (desired <= 0) return Math.min(expected, current);
    if (stableWeight < 100 - desired) return current;
    return Math.min(desired, current);
  }

  /**
   * reconcileTrafficRouting without a router object: the weights (status.canary.weights) a router would be set to,
   * and on abort the canary Service back on stable (with dynamicStableScale only once the canary weight is 0).
   */
  async reconcileTrafficRouting(): Promise<void> {
    const canary = this.canary;
    if (!canary?.trafficRouting) {
      this.newWeights = undefined;
      return;
    }
    const steps = canary.steps ?? [];
    const { index } = this.currentCanaryStep();
    let desired = 0;
    const stableHash = podTemplateHashOf(this.stableRS) ?? "";
    let canaryHash = podTemplateHashOf(this.newRS) ?? "";
    const rollbackHash = this.dynamicRollbackHash();
    const newAvailable = this.newRS?.status?.availableReplicas ?? 0;
    if (rollbackHash !== undefined) {
      desired = this.desiredWeightOnAbortOrStableRollback();
      canaryHash = rollbackHash;
    } else if (isFullyPromoted(this.status)) {
      desired = 0;
    } else if (this.pause.isAborted()) {
      desired = this.desiredWeightOnAbortOrStableRollback();
      if ((!canary.dynamicStableScale || desired === 0) && canary.canaryService && this.stableRS) {
        const svc = await this.world.getService(this.ns, canary.canaryService);
        if (svc) await this.switchServiceSelector(svc, stableHash);
      }
    } else if (!this.newRS || newAvailable === 0) {
      desired = 0;
    } else if (this.status.promoteFull) {
      if (canary.dynamicStableScale) desired = Math.trunc((100 * newAvailable) / this.replicas);
      else desired = this.status.canary?.weights?.canary.weight ?? 0;
    } else if (index !== undefined) {
      if (!this.atDesiredCanaryCounts(undefined)) {
        // The new ReplicaSet is not ready for the new weight: keep the previous step's.
        for (let i = index - 1; i >= 0; i--) {
          const w = steps[i]?.setWeight;
          if (typeof w === "number") {
            desired = w;
            break;
          }
        }
      } else if (index !== steps.length) desired = this.currentSetWeight();
      else desired = 100;
    }
    // checkReplicasAvailable: the stable ReplicaSet must hold its share before the weights change.
    const stableAvailable = this.stableRS?.status?.availableReplicas ?? 0;
    if (!this.stableRS || stableAvailable < Math.trunc(((100 - desired) * this.replicas) / 100)) return;
    this.newWeights = {
      canary: { weight: desired, serviceName: canary.canaryService, podTemplateHash: canaryHash },
      stable: { weight: 100 - desired, serviceName: canary.stableService, podTemplateHash: stableHash },
    };
  }

  applyWeights(status: RolloutStatus): void {
    if (this.newCurrentExperiment)
      status.canary = { ...(status.canary ?? {}), currentExperiment: this.newCurrentExperiment };
    if (!this.canary?.trafficRouting || !this.newWeights) return;
    status.canary = { ...(status.canary ?? {}), weights: this.newWeights };
  }

  async syncStatusCanary(): Promise<void> {
    const status = this.calculateBaseStatus();
    status.availableReplicas = sumOf(this.allRSs, (rs) => rs.status?.availableReplicas);
    status.HPAReplicas = sumOf(this.allRSs, (rs) => rs.status?.replicas);
    status.selector = formatSelector(this.spec.selector);
    status.stableRS = this.status.stableRS;
    status.currentStepHash = computeStepHash(this.spec);
    const stepCount = this.canary?.steps?.length ?? 0;
    const { step } = this.currentCanaryStep();
    let { index } = this.currentCanaryStep();

    if (this.podSpecChanged() || this.stepsChanged()) {
      this.resetRolloutStatus(status);
      if (this.newRS && stepCount > 0 && this.status.stableRS === podTemplateHashOf(this.newRS)) {
        status.currentStepIndex = stepCount;
      }
      this.applyWeights(status);
      await this.persistStatus(status);
      return;
    }
    if (this.status.promoteFull) {
      this.pause.clearPauseConditions = true;
      this.pause.removeAbort = true;
      if (stepCount > 0) index = stepCount;
    }
    const promoteReason = this.shouldFullPromote(status);
    if (promoteReason) {
      this.promoteStable(status, promoteReason);
      this.applyWeights(status);
      await this.persistStatus(status);
      return;
    }
    if (this.pause.isAborted()) {
      if (stepCount > 0) status.currentStepIndex = status.stableRS === status.currentPodHash ? stepCount : 0;
      this.applyWeights(status);
      await this.persistStatus(status);
      return;
    }
    if (step && index !== undefined && index < stepCount && this.completedCurrentCanaryStep()) {
      index += 1;
      this.world.event?.(
        "Normal",
        "RolloutStepCompleted",
        `Rollout step ${index}/${stepCount} completed (${canaryStepString(step)})`,
      );
      this.pause.removePauseReasons.push("CanaryPauseStep");
    }
    status.currentStepIndex = index;
    this.applyWeights(status);
    await this.persistStatus(status);
  }

  async rolloutCanary(): Promise<void> {
    if (this.podSpecChanged() || this.stepsChanged()) {
      await this.syncStatusCanary();
      return;
    }
    if ((await this.reconcileRestart()) > 0) return;
    await this.reconcileRevisionHistoryLimit();
    await this.reconcileCanaryServices();
    await this.reconcileTrafficRouting();
    await this.reconcileExperiments();
    await this.reconcileAnalysisRuns();
    if (await this.reconcileCanaryReplicaSets()) {
      await this.syncStatusCanary();
      return;
    }
    this.reconcileCanaryPause();
    await this.syncStatusCanary();
  }
}

type CanaryStepLike = NonNullable<NonNullable<RolloutSpec["strategy"]["canary"]>["steps"]>[number];

/** rolloututil.CanaryStepString */
function canaryStepString(step: CanaryStepLike): string {
  if (typeof step.setWeight === "number") return `setWeight: ${step.setWeight}`;
  if (step.pause) return step.pause.duration !== undefined ? `pause: ${String(step.pause.duration)}` : "pause";
  if (step.experiment) return "experiment";
  if (step.analysis) return "analysis";
  const scale = step.setCanaryScale as { weight?: number; matchTrafficWeight?: boolean; replicas?: number } | undefined;
  if (scale) {
    if (scale.weight !== undefined) return `setCanaryScale{weight: ${scale.weight}}`;
    if (scale.matchTrafficWeight) return "setCanaryScale{matchTrafficWeight: true}";
    if (scale.replicas !== undefined) return `setCanaryScale{replicas: ${scale.replicas}}`;
  }
  const named = (key: string) => (step[key] as { name?: string } | undefined)?.name;
  if (step.plugin) return `plugin: ${named("plugin")}`;
  if (step.setHeaderRoute) return `setHeaderRoute: ${named("setHeaderRoute")}`;
  if (step.setMirrorRoute) return `setMirrorRoute: ${named("setMirrorRoute")}`;
  return "invalid";
}

function templateWithoutHash(template: PodTemplate): PodTemplate {
  const copy = structuredClone(template);
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  }
  return copy;
}

function countsOf(rs: ReplicaSet | undefined): ReplicaCounts | undefined {
  return rs ? { specReplicas: rs.spec.replicas ?? 0, availableReplicas: rs.status?.availableReplicas ?? 0 } : undefined;
}

function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Drops the zero values Go's `omitempty` drops, so the stored status reads like the real one. */
function omitEmpty(status: RolloutStatus): RolloutStatus {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(status)) {
    if (value === undefined || value === null || value === false || value === "") continue;
    if (typeof value === "number" && value === 0 && key !== "currentStepIndex") continue;
    if (Array.isArray(value) && value.length === 0) continue;
    if (key === "blueGreen" || key === "canary") {
      const inner: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined || v === false || v === "") continue;
        inner[k] = v;
      }
      out[key] = inner;
      continue;
    }
    out[key] = value;
  }
  return out as RolloutStatus;
}

/** Runs one reconcile pass of the Rollout; returns when it must run again on the world's clock. */
export async function reconcileRollout(world: RolloutWorld, rollout: Rollout): Promise<ReconcileOutcome> {
  if (rollout.metadata.deletionTimestamp) return {};
  const pass = new RolloutPass(world, structuredClone(rollout));
  const invalid = await pass.resolve();
  if (invalid) {
    await pass.persistInvalidSpec(invalid);
    return {};
  }
  if (await pass.checkPausedConditions()) return {};
  await pass.loadReplicaSets();
  if (!pass.newRS) {
    if (!(await pass.createDesiredReplicaSet())) return {};
  } else await pass.syncReplicaSetRevision();
  if (isFullyPromoted(pass.status) && pass.pause.isAborted()) pass.pause.removeAbort = true;
  if (pass.bg) await pass.rolloutBlueGreen();
  else await pass.rolloutCanary();
  if (pass.scaleWorkloadToZero) await pass.scaleWorkload(0);
  return pass.requeueMs === undefined ? {} : { requeueAfterMs: pass.requeueMs };
}
