/**
 * The kinds rollout-client reads and writes, their API paths, and the loose object shapes it relies on. Only the
 * fields rollway uses are typed; everything else is passed through untouched.
 */

export type KindName = "Rollout" | "Deployment" | "ReplicaSet" | "Canary" | "Service" | "Pod";

interface KindInfo {
  /** `""` for the core group. */
  group: string;
  version: string;
  plural: string;
}

export const KINDS: Record<KindName, KindInfo> = {
  Rollout: { group: "argoproj.io", version: "v1alpha1", plural: "rollouts" },
  Deployment: { group: "apps", version: "v1", plural: "deployments" },
  ReplicaSet: { group: "apps", version: "v1", plural: "replicasets" },
  Canary: { group: "flagger.app", version: "v1beta1", plural: "canaries" },
  Service: { group: "", version: "v1", plural: "services" },
  Pod: { group: "", version: "v1", plural: "pods" },
};

/** `/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/status`, as kubectl builds it. */
export function resourcePath(kind: KindName, namespace: string, name?: string, subresource?: "status"): string {
  const { group, version, plural } = KINDS[kind];
  const prefix = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  let path = `${prefix}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
}

export interface Container {
  name: string;
  image?: string;
  [field: string]: unknown;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    [field: string]: unknown;
  };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export interface RolloutObject extends KubeObject {
  spec: {
    replicas?: number;
    paused?: boolean;
    restartAt?: string;
    selector?: LabelSelector;
    template?: PodTemplate;
    workloadRef?: { apiVersion?: string; kind: string; name: string };
    strategy?: {
      blueGreen?: {
        activeService?: string;
        previewService?: string;
        autoPromotionEnabled?: boolean;
        autoPromotionSeconds?: number;
        postPromotionAnalysis?: unknown;
      };
      canary?: {
        steps?: Record<string, unknown>[];
        stableService?: string;
        canaryService?: string;
        trafficRouting?: unknown;
      };
    };
  };
  status?: {
    phase?: string;
    message?: string;
    observedGeneration?: string;
    workloadObservedGeneration?: string;
    currentPodHash?: string;
    stableRS?: string;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    abort?: boolean;
    controllerPause?: boolean;
    pauseConditions?: { reason: string; startTime?: string }[] | null;
    currentStepIndex?: number;
    promoteFull?: boolean;
    restartedAt?: string;
    conditions?: Condition[];
    blueGreen?: {
      activeSelector?: string;
      previewSelector?: string;
      postPromotionAnalysisRunStatus?: { status?: string };
    };
    canary?: {
      currentStepAnalysisRunStatus?: { status?: string };
      weights?: { canary?: { weight?: number }; stable?: { weight?: number } };
    };
  };
}

export interface DeploymentObject extends KubeObject {
  spec: {
    replicas?: number;
    paused?: boolean;
    selector?: LabelSelector;
    template?: PodTemplate;
    strategy?: { type?: "RollingUpdate" | "Recreate" };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: Condition[];
  };
}

export interface ReplicaSetObject extends KubeObject {
  spec: { replicas?: number; selector?: LabelSelector; template?: PodTemplate };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

export interface CanaryWebhook {
  name: string;
  type?: string;
  url: string;
  [field: string]: unknown;
}

export interface CanaryObject extends KubeObject {
  spec: {
    targetRef: { apiVersion?: string; kind: string; name: string };
    service?: { name?: string; port?: number };
    analysis?: { webhooks?: CanaryWebhook[]; iterations?: number; maxWeight?: number; stepWeight?: number };
    skipAnalysis?: boolean;
  };
  status?: {
    phase?: string;
    canaryWeight?: number;
    iterations?: number;
    failedChecks?: number;
    lastAppliedSpec?: string;
    lastPromotedSpec?: string;
    lastTransitionTime?: string;
    conditions?: Condition[];
  };
}

export interface ListObject<T> {
  metadata: { resourceVersion?: string };
  items: T[];
}

/** The label both Argo Rollouts and Deployments put on their ReplicaSets and pods. */
export const ROLLOUT_HASH_LABEL = "rollouts-pod-template-hash";
export const DEPLOYMENT_HASH_LABEL = "pod-template-hash";
export const ROLLOUT_REVISION_ANNOTATION = "rollout.argoproj.io/revision";
export const DEPLOYMENT_REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";

/**
 * What makes a LabelSelector one the API server cannot use, as apimachinery's LabelSelectorAsSelector says it (an
 * operator other than In, NotIn, Exists and DoesNotExist; In or NotIn without values; Exists or DoesNotExist with
 * values), naming the expression; undefined when it is valid. A Rollout's selector is not checked when it is stored
 * (the CRD types the operator as any string), and one rollway read past would select the wrong ReplicaSets.
 */
export function selectorProblem(selector: LabelSelector | undefined): string | undefined {
  for (const [i, expr] of (selector?.matchExpressions ?? []).entries()) {
    const at = `selector.matchExpressions[${i}] (key "${expr.key}")`;
    const values = expr.values?.length ?? 0;
    if (expr.operator === "In" || expr.operator === "NotIn") {
      if (values === 0) return `${at}: operator ${expr.operator} needs at least one value`;
    } else if (expr.operator === "Exists" || expr.operator === "DoesNotExist") {
      if (values > 0) return `${at}: operator ${expr.operator} takes no values`;
    } else {
      return `${at}: "${expr.operator}" is not a label selector operator (In, NotIn, Exists or DoesNotExist)`;
    }
  }
  return undefined;
}

/** `app=web,tier in (front)` from a LabelSelector, for `?labelSelector=`. */
export function selectorToString(selector: LabelSelector | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) parts.push(`${key}=${value}`);
  for (const expr of selector?.matchExpressions ?? []) {
    const values = (expr.values ?? []).join(",");
    if (expr.operator === "In") parts.push(`${expr.key} in (${values})`);
    else if (expr.operator === "NotIn") parts.push(`${expr.key} notin (${values})`);
    else if (expr.operator === "Exists") parts.push(expr.key);
    else if (expr.operator === "DoesNotExist") parts.push(`!${expr.key}`);
  }
  return parts.join(",");
}
