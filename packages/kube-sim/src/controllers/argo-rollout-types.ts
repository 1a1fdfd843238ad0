// Shapes of the Argo Rollouts objects the simulated controller reads and writes, with the field names
// and constants of argoproj/argo-rollouts (pkg/apis/rollouts/v1alpha1/types.go, utils/conditions,
// utils/annotations). Only the fields the simulation uses are typed; everything else passes through.

export const ROLLOUT_API_VERSION = "argoproj.io/v1alpha1";
export const ROLLOUT_KIND = "Rollout";

/** Label and service selector key the controller adds to ReplicaSets, Pods and Services. */
export const POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash";
export const REVISION_ANNOTATION = "rollout.argoproj.io/revision";
export const DESIRED_REPLICAS_ANNOTATION = "rollout.argoproj.io/desired-replicas";
export const WORKLOAD_GENERATION_ANNOTATION = "rollout.argoproj.io/workload-generation";
export const SCALE_DOWN_DEADLINE_ANNOTATION = "scale-down-deadline";
export const MANAGED_BY_ROLLOUTS_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts";

export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30;
export const DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS = 30;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;

export type PauseReason = "BlueGreenPause" | "CanaryPauseStep" | "InconclusiveAnalysisRun" | "InconclusiveExperiment";

/** RolloutExperimentStep: a canary step that runs an Experiment. */
export interface RolloutExperimentStep {
  duration?: string;
  templates: Array<{
    name: string;
    specRef: "canary" | "stable";
    replicas?: number;
    selector?: LabelSelector;
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  }>;
  analyses?: Array<{
    name: string;
    templateName: string;
    clusterScope?: boolean;
    requiredForCompletion?: boolean;
    args?: RolloutAnalysis["args"];
  }>;
  dryRun?: Array<{ metricName: string }>;
  analysisRunMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  scaleDownDelaySeconds?: number;
}
export type RolloutPhase = "Healthy" | "Degraded" | "Progressing" | "Paused";
export type ConditionStatus = "True" | "False" | "Unknown";
export type RolloutConditionType =
  | "InvalidSpec"
  | "Available"
  | "Progressing"
  | "ReplicaFailure"
  | "Paused"
  | "Completed"
  | "Healthy";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}

export interface ReplicaSet {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: { replicas?: number; minReadySeconds?: number; selector: LabelSelector; template: PodTemplate };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number; observedGeneration?: number };
}

export interface Service {
  metadata: ObjectMeta;
  spec?: { selector?: Record<string, string> };
}

export interface Deployment {
  metadata: ObjectMeta;
  spec?: { replicas?: number; selector?: LabelSelector; template?: PodTemplate };
}

export interface Pod {
  metadata: ObjectMeta;
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

export interface PauseCondition {
  reason: PauseReason;
  startTime: string;
}

export interface RolloutCondition {
  type: RolloutConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
}

export interface SetCanaryScale {
  weight?: number;
  replicas?: number;
  matchTrafficWeight?: boolean;
}

export interface CanaryStep {
  setWeight?: number;
  pause?: { duration?: string | number };
  setCanaryScale?: SetCanaryScale;
  [other: string]: unknown;
}

export interface BlueGreenStrategy {
  activeService: string;
  previewService?: string;
  autoPromotionEnabled?: boolean;
  autoPromotionSeconds?: number;
  previewReplicaCount?: number;
  scaleDownDelaySeconds?: number;
  scaleDownDelayRevisionLimit?: number;
  abortScaleDownDelaySeconds?: number;
  [other: string]: unknown;
}

export interface CanaryStrategy {
  steps?: CanaryStep[];
  canaryService?: string;
  stableService?: string;
  trafficRouting?: Record<string, unknown>;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  abortScaleDownDelaySeconds?: number;
  scaleDownDelaySeconds?: number;
  scaleDownDelayRevisionLimit?: number;
  dynamicStableScale?: boolean;
  minPodsPerReplicaSet?: number;
  [other: string]: unknown;
}

export interface RolloutSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplate;
  workloadRef?: { apiVersion?: string; kind?: string; name: string; scaleDown?: string };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  restartAt?: string;
  progressDeadlineSeconds?: number;
  progressDeadlineAbort?: boolean;
  strategy: { blueGreen?: BlueGreenStrategy; canary?: CanaryStrategy };
}

/** RolloutAnalysisRunStatus: the run a Rollout waits on, as in status.canary/status.blueGreen. */
export interface RolloutAnalysisRunStatus {
  name: string;
  status: string;
  message?: string;
}

/** RolloutAnalysis: what a step, background or pre/post-promotion analysis names. */
export interface RolloutAnalysis {
  templates?: Array<{ templateName: string; clusterScope?: boolean }>;
  args?: Array<{
    name: string;
    value?: string;
    valueFrom?: { podTemplateHashValue?: "Stable" | "Latest"; fieldRef?: { fieldPath: string } };
  }>;
  dryRun?: Array<{ metricName: string }>;
  analysisRunMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  startingStep?: number;
}

export interface TrafficWeights {
  canary: WeightDestination;
  stable: WeightDestination;
}

export interface WeightDestination {
  weight: number;
  serviceName?: string;
  podTemplateHash?: string;
}

export interface RolloutStatus {
  abort?: boolean;
  pauseConditions?: PauseCondition[] | null;
  controllerPause?: boolean;
  abortedAt?: string;
  currentPodHash?: string;
  currentStepHash?: string;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  currentStepIndex?: number;
  collisionCount?: number;
  observedGeneration?: string;
  conditions?: RolloutCondition[];
  canary?: {
    weights?: TrafficWeights;
    currentStepAnalysisRunStatus?: RolloutAnalysisRunStatus;
    currentBackgroundAnalysisRunStatus?: RolloutAnalysisRunStatus;
    currentExperiment?: string;
  };
  blueGreen?: {
    previewSelector?: string;
    activeSelector?: string;
    scaleUpPreviewCheckPoint?: boolean;
    prePromotionAnalysisRunStatus?: RolloutAnalysisRunStatus;
    postPromotionAnalysisRunStatus?: RolloutAnalysisRunStatus;
  };
  HPAReplicas?: number;
  selector?: string;
  stableRS?: string;
  restartedAt?: string;
  promoteFull?: boolean;
  phase?: RolloutPhase;
  message?: string;
  workloadObservedGeneration?: string;
}

export interface Rollout {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: RolloutSpec;
  status?: RolloutStatus;
}

// Condition reasons and messages, verbatim from utils/conditions/conditions.go.
export const REASONS = {
  available: "AvailableReason",
  replicaSetUpdated: "ReplicaSetUpdated",
  newReplicaSetCreated: "NewReplicaSetCreated",
  foundNewReplicaSet: "FoundNewReplicaSet",
  rolloutCompleted: "RolloutCompleted",
  rolloutHealthy: "RolloutHealthy",
  rolloutAborted: "RolloutAborted",
  rolloutRetry: "RolloutRetry",
  rolloutPaused: "RolloutPaused",
  rolloutResumed: "RolloutResumed",
  replicaSetNotAvailable: "ReplicaSetNotAvailable",
  newReplicaSetAvailable: "NewReplicaSetAvailable",
  timedOut: "ProgressDeadlineExceeded",
  invalidSpec: "InvalidSpec",
} as const;

export const MESSAGES = {
  notAvailable: "Rollout does not have minimum availability",
  available: "Rollout has minimum availability",
  replicaSetProgressing: (rs: string) => `ReplicaSet "${rs}" is progressing.`,
  rolloutProgressing: (ro: string) => `Rollout "${ro}" is progressing.`,
  newReplicaSet: (rs: string) => `Created new replica set "${rs}"`,
  foundNewReplicaSet: (rs: string) => `Found new replica set "${rs}"`,
  rolloutHealthy: "Rollout is healthy",
  rolloutNotHealthy: "Rollout is not healthy",
  rolloutAborted: (revision: number) => `Rollout aborted update to revision ${revision}`,
  rolloutRetry: "Retrying Rollout after abort",
  rolloutPaused: "Rollout is paused",
  rolloutResumed: "Rollout is resumed",
  replicaSetCompleted: (rs: string) => `ReplicaSet "${rs}" has successfully progressed.`,
  replicaSetTimedOut: (rs: string) => `ReplicaSet "${rs}" has timed out progressing.`,
  missingField: (field: string) => `Rollout has missing field '${field}'`,
} as const;
