/**
 * One status shape for Rollouts, Deployments and Flagger Canaries, computed by pure functions from the objects the
 * API server returns. The decisions follow the tools users already trust:
 * - Rollout: `GetRolloutPhase` of argo-rollouts (utils/rollout/rolloututil.go), which the kubectl plugin's `status`
 *   and `get` print;
 * - Deployment: `DeploymentStatusViewer.Status` of kubectl (pkg/polymorphichelpers/rollout_status.go);
 * - Canary: Flagger's own `status.phase` (pkg/apis/flagger/v1beta1/status.go).
 */
import {
  type CanaryObject,
  type Container,
  DEPLOYMENT_HASH_LABEL,
  DEPLOYMENT_REVISION_ANNOTATION,
  type DeploymentObject,
  type PodTemplate,
  type ReplicaSetObject,
  ROLLOUT_HASH_LABEL,
  ROLLOUT_REVISION_ANNOTATION,
  type RolloutObject,
} from "./resources.js";

/**
 * - Healthy: the desired version is fully rolled out and serving.
 * - Progressing: the controller is moving towards the desired version.
 * - Paused: waiting for a person or a gate (blue-green promotion, a canary pause step, a Flagger confirm gate,
 *   `spec.paused`).
 * - Degraded: the rollout cannot make progress (progress deadline exceeded, invalid spec).
 * - Aborted: the update was stopped and traffic is back on the stable version (Argo abort, Flagger Failed).
 */
export type Phase = "Healthy" | "Progressing" | "Paused" | "Degraded" | "Aborted";

export type WorkloadKind = "Rollout" | "Deployment" | "Canary";

export interface ContainerImage {
  container: string;
  image: string;
}

export interface Endpoint {
  /** The Service name. */
  service: string;
  /** The pod-template hash the Service selects now, when the controller publishes it. */
  podTemplateHash?: string;
}

export interface WorkloadStatus {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  phase: Phase;
  /** Why, in the controller's own words (empty when Healthy). */
  message: string;
  /** Revision (1, 2, ...) of the version that serves users; undefined until its ReplicaSet has been seen. */
  stableRevision?: number;
  /** Revision of the version the spec asks for. */
  desiredRevision?: number;
  /** Images of the pod template the spec asks for, init containers first. */
  images: ContainerImage[];
  /** Images of the stable version, when known. */
  stableImages?: ContainerImage[];
  readyReplicas: number;
  desiredReplicas: number;
  updatedReplicas: number;
  /**
   * Ready pods of the version the spec asks for (its ReplicaSet's), when that ReplicaSet was seen. `readyReplicas`
   * counts every version's pods: during a blue-green update it still counts the old active ones.
   */
  updatedReadyReplicas?: number;
  /** Where users are sent (active Service) and where the new version can be tried (preview/canary Service). */
  endpoints: { active?: Endpoint; preview?: Endpoint };
  /** For canaries: the step reached and the traffic weight sent to the new version. */
  canary?: { stepIndex?: number; steps?: number; weight?: number };
}

/** Inputs beside the main object: the ReplicaSets it owns, for revisions and stable images. */
export interface RolloutStatusInput {
  rollout: RolloutObject;
  replicaSets?: ReplicaSetObject[];
  /** The Deployment a `workloadRef` names, to know whether the controller has seen its latest change. */
  workload?: DeploymentObject;
}

export function rolloutStatus({ rollout, replicaSets = [], workload }: RolloutStatusInput): WorkloadStatus {
  const { phase, message } = rolloutPhase(rollout, workload);
  const status = rollout.status ?? {};
  const stableRS = replicaSets.find(
    (rs) => rs.metadata.labels?.[ROLLOUT_HASH_LABEL] === status.stableRS && status.stableRS,
  );
  const blueGreen = rollout.spec.strategy?.blueGreen;
  const canary = rollout.spec.strategy?.canary;
  const endpoints: WorkloadStatus["endpoints"] = {};
  if (blueGreen?.activeService) {
    endpoints.active = withHash(blueGreen.activeService, status.blueGreen?.activeSelector);
  }
  if (blueGreen?.previewService) {
    endpoints.preview = withHash(blueGreen.previewService, status.blueGreen?.previewSelector);
  }
  if (canary?.stableService) endpoints.active = withHash(canary.stableService, status.stableRS);
  if (canary?.canaryService) endpoints.preview = withHash(canary.canaryService, status.currentPodHash);
  const result: WorkloadStatus = {
    kind: "Rollout",
    name: rollout.metadata.name,
    namespace: rollout.metadata.namespace ?? "",
    phase,
    message,
    images: templateImages(rollout.spec.template ?? workload?.spec.template),
    readyReplicas: num(status.readyReplicas, 0),
    desiredReplicas: num(rollout.spec.replicas, 1),
    updatedReplicas: num(status.updatedReplicas, 0),
    endpoints,
  };
  const desiredRevision = revisionOf(rollout.metadata.annotations?.[ROLLOUT_REVISION_ANNOTATION]);
  if (desiredRevision !== undefined) result.desiredRevision = desiredRevision;
  if (stableRS) {
    const stableRevision = revisionOf(stableRS.metadata.annotations?.[ROLLOUT_REVISION_ANNOTATION]);
    if (stableRevision !== undefined) result.stableRevision = stableRevision;
    result.stableImages = templateImages(stableRS.spec.template);
  } else if (status.stableRS && status.stableRS === status.currentPodHash && desiredRevision !== undefined) {
    result.stableRevision = desiredRevision;
    result.stableImages = result.images;
  }
  const currentRS = status.currentPodHash
    ? replicaSets.find((rs) => rs.metadata.labels?.[ROLLOUT_HASH_LABEL] === status.currentPodHash)
    : undefined;
  if (currentRS) result.updatedReadyReplicas = num(currentRS.status?.readyReplicas, 0);
  if (canary) {
    const steps = list(canary.steps).length;
    result.canary = { steps };
    if (typeof status.currentStepIndex === "number") result.canary.stepIndex = status.currentStepIndex;
    const routed = status.canary?.weights?.canary?.weight;
    const weight = typeof routed === "number" ? routed : currentSetWeight(rollout);
    if (weight !== undefined) result.canary.weight = weight;
  }
  return result;
}

/**
 * `GetRolloutPhase` then `CalculateRolloutPhase` from argo-rollouts, mapped to our phases: the plugin reports an
 * abort as Degraded with the message `RolloutAborted: ...`; we call it Aborted because the stable version is
 * serving and the remedy (retry or a new version) differs from a stuck rollout's.
 */
export function rolloutPhase(rollout: RolloutObject, workload?: DeploymentObject): { phase: Phase; message: string } {
  const { phase, message } = argoRolloutPhase(rollout, workload);
  if (phase === "Degraded" && (rollout.status?.abort || message.startsWith("RolloutAborted"))) {
    return { phase: "Aborted", message };
  }
  return { phase, message };
}

type ArgoPhase = "Healthy" | "Progressing" | "Paused" | "Degraded";

function argoRolloutPhase(ro: RolloutObject, workload?: DeploymentObject): { phase: ArgoPhase; message: string } {
  const status = ro.status ?? {};
  if (!isGenerationObserved(ro)) {
    return { phase: "Progressing", message: "waiting for rollout spec update to be observed" };
  }
  if (status.controllerPause && list(status.pauseConditions).length === 0) {
    return { phase: "Progressing", message: "waiting for rollout to unpause" };
  }
  if (ro.spec.workloadRef && !isWorkloadGenerationObserved(ro, workload)) {
    return {
      phase: "Progressing",
      message: "waiting for rollout spec update to be observed for the reference workload",
    };
  }
  if (isArgoPhase(status.phase)) {
    // Controllers 1.0+ compute phase and message themselves.
    return { phase: status.phase, message: text(status.message) };
  }
  return calculateRolloutPhase(ro);
}

function isArgoPhase(phase: string | undefined): phase is ArgoPhase {
  return phase === "Healthy" || phase === "Progressing" || phase === "Paused" || phase === "Degraded";
}

function isGenerationObserved(ro: RolloutObject): boolean {
  const observed = ro.status?.observedGeneration;
  // Rollouts v0.9 stored a hash here: anything not numeric counts as observed, as in the plugin.
  if (typeof observed !== "string" || !/^\d+$/.test(observed)) return true;
  const generation = num(ro.metadata.generation, 0);
  return Number(observed) >= generation;
}

/**
 * The plugin compares the workload generation the controller last resolved (annotation) with the one it reports
 * observed. We also compare it with the Deployment's own generation when we have the Deployment, because right
 * after rollway patches the Deployment neither field has moved yet.
 */
function isWorkloadGenerationObserved(ro: RolloutObject, workload: DeploymentObject | undefined): boolean {
  const annotation = ro.metadata.annotations?.["rollout.argoproj.io/workload-generation"];
  if (typeof annotation !== "string" || !/^\d+$/.test(annotation)) return true;
  const resolved = Number(annotation);
  const observed = ro.status?.workloadObservedGeneration;
  if (typeof observed === "string" && /^\d+$/.test(observed) && Number(observed) !== resolved) return false;
  const current = workload?.metadata.generation;
  return typeof current !== "number" || current <= resolved;
}

/** `CalculateRolloutPhase`, for controllers older than 1.0 that do not write `status.phase`. */
export function calculateRolloutPhase(ro: RolloutObject): { phase: ArgoPhase; message: string } {
  const status = ro.status ?? {};
  for (const cond of list(status.conditions)) {
    if (cond.type === "InvalidSpec") return { phase: "Degraded", message: `InvalidSpec: ${text(cond.message)}` };
    if (cond.reason === "RolloutAborted" || cond.reason === "ProgressDeadlineExceeded") {
      return { phase: "Degraded", message: `${cond.reason}: ${text(cond.message)}` };
    }
  }
  if (ro.spec.paused) return { phase: "Paused", message: "manually paused" };
  const firstPause = list(status.pauseConditions)[0];
  if (firstPause) return { phase: "Paused", message: text(firstPause.reason) };
  if (
    ro.spec.restartAt &&
    (!status.restartedAt || Date.parse(text(ro.spec.restartAt)) !== Date.parse(text(status.restartedAt)))
  ) {
    return { phase: "Progressing", message: "rollout is restarting" };
  }
  const replicas = num(ro.spec.replicas, 1);
  const updated = num(status.updatedReplicas, 0);
  if (updated < replicas) return { phase: "Progressing", message: "more replicas need to be updated" };
  if (num(status.availableReplicas, 0) < updated) {
    return { phase: "Progressing", message: "updated replicas are still becoming available" };
  }
  const fullyPromoted = status.stableRS === status.currentPodHash;
  const blueGreen = ro.spec.strategy?.blueGreen;
  if (blueGreen) {
    const active = status.blueGreen?.activeSelector;
    if (!active || active !== status.currentPodHash) {
      return { phase: "Progressing", message: "active service cutover pending" };
    }
    if (!status.stableRS || !fullyPromoted) {
      const analysis = status.blueGreen?.postPromotionAnalysisRunStatus?.status;
      if (
        blueGreen.postPromotionAnalysis &&
        !["Successful", "Failed", "Error", "Inconclusive"].includes(analysis ?? "")
      ) {
        return { phase: "Progressing", message: "waiting for analysis to complete" };
      }
      return { phase: "Progressing", message: "waiting for post-promotion verification to complete" };
    }
  } else if (ro.spec.strategy?.canary) {
    if (!ro.spec.strategy.canary.trafficRouting && num(status.replicas, 0) > updated) {
      return { phase: "Progressing", message: "old replicas are pending termination" };
    }
    if (!status.stableRS || !fullyPromoted)
      return { phase: "Progressing", message: "waiting for all steps to complete" };
  }
  return { phase: "Healthy", message: "" };
}

export interface DeploymentStatusInput {
  deployment: DeploymentObject;
  replicaSets?: ReplicaSetObject[];
}

export function deploymentStatus({ deployment, replicaSets = [] }: DeploymentStatusInput): WorkloadStatus {
  const { phase, message } = deploymentPhase(deployment);
  const status = deployment.status ?? {};
  const desiredRevision = revisionOf(deployment.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION]);
  const result: WorkloadStatus = {
    kind: "Deployment",
    name: deployment.metadata.name,
    namespace: deployment.metadata.namespace ?? "",
    phase,
    message,
    images: templateImages(deployment.spec.template),
    readyReplicas: num(status.readyReplicas, 0),
    desiredReplicas: num(deployment.spec.replicas, 1),
    updatedReplicas: num(status.updatedReplicas, 0),
    endpoints: {},
  };
  if (desiredRevision !== undefined) result.desiredRevision = desiredRevision;
  const desiredRS = replicaSets.find(
    (rs) =>
      rs.metadata.labels?.[DEPLOYMENT_HASH_LABEL] !== undefined &&
      rs.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION] ===
        deployment.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION],
  );
  if (desiredRS && desiredRevision !== undefined) result.updatedReadyReplicas = num(desiredRS.status?.readyReplicas, 0);
  const stable = stableDeploymentReplicaSet(deployment, replicaSets, phase === "Healthy");
  if (stable) {
    const stableRevision = revisionOf(stable.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION]);
    if (stableRevision !== undefined) result.stableRevision = stableRevision;
    result.stableImages = templateImages(stable.spec.template);
  } else if (phase === "Healthy" && desiredRevision !== undefined) {
    result.stableRevision = desiredRevision;
    result.stableImages = result.images;
  }
  return result;
}

/**
 * For a Deployment the "stable" version is the one users were on before this update: the newest ReplicaSet with
 * available pods other than the desired one, or the desired one once the rollout is complete.
 */
function stableDeploymentReplicaSet(
  deployment: DeploymentObject,
  replicaSets: ReplicaSetObject[],
  complete: boolean,
): ReplicaSetObject | undefined {
  const desired = deployment.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION];
  const owned = replicaSets.filter((rs) => rs.metadata.labels?.[DEPLOYMENT_HASH_LABEL] !== undefined);
  if (complete) return owned.find((rs) => rs.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION] === desired);
  return owned
    .filter(
      (rs) =>
        rs.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION] !== desired &&
        num(rs.status?.availableReplicas, 0) > 0,
    )
    .sort(
      (a, b) =>
        (revisionOf(b.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION]) ?? 0) -
        (revisionOf(a.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION]) ?? 0),
    )[0];
}

/**
 * kubectl's `rollout status` decision, word for word. kubectl has no notion of a paused Deployment (it waits); we
 * report an unfinished paused Deployment as Paused so callers do not wait for a rollout nobody will resume.
 */
export function deploymentPhase(deployment: DeploymentObject): { phase: Phase; message: string } {
  const name = deployment.metadata.name;
  const status = deployment.status ?? {};
  const generation = num(deployment.metadata.generation, 0);
  let waiting: string;
  if (generation <= num(status.observedGeneration, 0)) {
    const progressing = list(status.conditions).find((c) => c.type === "Progressing");
    if (progressing?.reason === "ProgressDeadlineExceeded") {
      return { phase: "Degraded", message: `deployment "${name}" exceeded its progress deadline` };
    }
    const replicas = typeof deployment.spec.replicas === "number" ? deployment.spec.replicas : undefined;
    const updated = num(status.updatedReplicas, 0);
    const current = num(status.replicas, 0);
    const available = num(status.availableReplicas, 0);
    if (replicas !== undefined && updated < replicas) {
      waiting = `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${replicas} new replicas have been updated...`;
    } else if (current > updated) {
      waiting = `Waiting for deployment "${name}" rollout to finish: ${current - updated} old replicas are pending termination...`;
    } else if (available < updated) {
      waiting = `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`;
    } else {
      return { phase: "Healthy", message: "" };
    }
  } else {
    waiting = "Waiting for deployment spec update to be observed...";
  }
  if (deployment.spec.paused) return { phase: "Paused", message: `manually paused; ${waiting}` };
  return { phase: "Progressing", message: waiting };
}

export interface CanaryStatusInput {
  canary: CanaryObject;
  /** The Deployment the Canary targets (the desired version). */
  target?: DeploymentObject;
  /** `<target>-primary`, which Flagger keeps serving users (the stable version). */
  primary?: DeploymentObject;
}

/** Flagger's phases (pkg/apis/flagger/v1beta1/status.go) in our vocabulary. */
const CANARY_PHASES: Record<string, { phase: Phase; message: string }> = {
  Initializing: { phase: "Progressing", message: "Flagger is creating the primary Deployment and Services" },
  Initialized: { phase: "Healthy", message: "" },
  Waiting: { phase: "Paused", message: "waiting for the confirm-rollout gate" },
  Progressing: { phase: "Progressing", message: "canary analysis is running" },
  WaitingPromotion: { phase: "Paused", message: "waiting for the confirm-promotion gate" },
  Promoting: { phase: "Progressing", message: "copying the canary spec to the primary" },
  Finalising: { phase: "Progressing", message: "routing all traffic back to the primary" },
  Succeeded: { phase: "Healthy", message: "" },
  Failed: { phase: "Aborted", message: "canary analysis failed; the primary keeps serving" },
  Terminating: { phase: "Progressing", message: "the Canary is being deleted" },
  Terminated: { phase: "Degraded", message: "the Canary was deleted" },
};

export function canaryStatus({ canary, target, primary }: CanaryStatusInput): WorkloadStatus {
  const status = canary.status ?? {};
  const known =
    typeof status.phase === "string" && Object.hasOwn(CANARY_PHASES, status.phase)
      ? CANARY_PHASES[status.phase]
      : undefined;
  const promoted = list(status.conditions).find((c) => c.type === "Promoted");
  let phase: Phase = known?.phase ?? "Progressing";
  let message = known ? known.message : "waiting for Flagger to initialise the Canary";
  if (promoted?.message && phase !== "Healthy") message = `${message} (${text(promoted.message)})`;
  if (phase === "Healthy" && target && primary && !sameImages(target, primary)) {
    // Flagger only notices a change of the target at its next analysis interval; until then it still says
    // Succeeded, which must not satisfy someone waiting for the new version.
    phase = "Progressing";
    message = "waiting for Flagger to detect the new revision of the target";
  }
  const apex = canary.spec.service?.name ?? canary.spec.targetRef.name;
  const result: WorkloadStatus = {
    kind: "Canary",
    name: canary.metadata.name,
    namespace: canary.metadata.namespace ?? "",
    phase,
    message,
    images: templateImages(target?.spec.template),
    readyReplicas: num(primary?.status?.readyReplicas, 0),
    desiredReplicas: num(primary?.spec.replicas ?? target?.spec.replicas, 1),
    updatedReplicas: num(primary?.status?.updatedReplicas, 0),
    endpoints: { active: { service: apex }, preview: { service: `${apex}-canary` } },
    canary: { weight: num(status.canaryWeight, 0) },
  };
  if (primary) result.stableImages = templateImages(primary.spec.template);
  const targetRevision = revisionOf(target?.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION]);
  if (targetRevision !== undefined) result.desiredRevision = targetRevision;
  return result;
}

function sameImages(a: DeploymentObject, b: DeploymentObject): boolean {
  const left = templateImages(a.spec.template);
  const right = templateImages(b.spec.template);
  return left.length === right.length && left.every((image, i) => image.image === right[i]?.image);
}

export function templateImages(template: PodTemplate | undefined): ContainerImage[] {
  const containers: Container[] = [...list(template?.spec?.initContainers), ...list(template?.spec?.containers)];
  return containers.map((c) => ({ container: c.name, image: c.image ?? "" }));
}

/** A list field as sent by a controller we do not control: anything that is not an array counts as empty. */
function list<T>(value: T[] | null | undefined): T[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === "object" && item !== null) : [];
}

/** A count as sent by a controller: anything but a finite number counts as the default. */
function num(value: unknown, otherwise: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : otherwise;
}

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value) ?? "";
  return String(value);
}

function withHash(service: string, hash: string | undefined): Endpoint {
  return hash ? { service, podTemplateHash: hash } : { service };
}

function revisionOf(value: string | undefined): number | undefined {
  if (typeof value !== "string" || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** The weight of the last `setWeight` step at or before the current step, as the plugin shows it without traffic routing. */
function currentSetWeight(rollout: RolloutObject): number | undefined {
  const steps = list(rollout.spec.strategy?.canary?.steps);
  const index = typeof rollout.status?.currentStepIndex === "number" ? rollout.status.currentStepIndex : undefined;
  if (rollout.status?.stableRS && rollout.status.stableRS === rollout.status.currentPodHash) return 100;
  if (index === undefined) return undefined;
  let weight = 0;
  for (let i = 0; i < Math.min(index, steps.length); i++) {
    const setWeight = steps[i]?.setWeight;
    if (typeof setWeight === "number") weight = setWeight;
  }
  return weight;
}
