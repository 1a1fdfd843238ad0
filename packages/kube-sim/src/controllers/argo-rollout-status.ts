// Pure status logic of the Argo Rollouts controller: pod template hash, condition bookkeeping and the
// phase/message the controller writes (utils/rollout/rolloututil.go CalculateRolloutPhase,
// utils/conditions/conditions.go). No I/O here, so every rule has a table test.
import {
  type ConditionStatus,
  POD_TEMPLATE_HASH_LABEL,
  type PodTemplate,
  REASONS,
  type ReplicaSet,
  type Rollout,
  type RolloutCondition,
  type RolloutConditionType,
  type RolloutPhase,
  type RolloutSpec,
  type RolloutStatus,
} from "./argo-rollout-types.js";

const SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** k8s.io/apimachinery rand.SafeEncodeString: maps each character to a vowel-free alphabet. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (const ch of s) out += SAFE_ALPHANUMS[(ch.codePointAt(0) ?? 0) % SAFE_ALPHANUMS.length];
  return out;
}

/** 32-bit FNV-1a over UTF-8 bytes, as Go's hash/fnv New32a. */
export function fnv32a(input: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(input, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** JSON with object keys sorted, so equal templates hash equally whatever order a client sent. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * The `rollouts-pod-template-hash` of a template: FNV-1a of the template's JSON, safe-encoded, as
 * utils/hash ComputePodTemplateHash. Go marshals struct fields in declaration order; we sort keys,
 * so the value differs from a real controller's for the same template but is stable and unique alike.
 */
export function computePodTemplateHash(template: PodTemplate, collisionCount?: number): string {
  let input = canonicalJson(template);
  if (collisionCount !== undefined) input += `#${collisionCount}`;
  return safeEncodeString(String(fnv32a(input)));
}

/** The same hash over the canary steps (conditions.ComputeStepHash), written to status.currentStepHash. */
export function computeStepHash(spec: RolloutSpec): string | undefined {
  if (spec.strategy.blueGreen || !spec.strategy.canary) return undefined;
  return safeEncodeString(String(fnv32a(canonicalJson(spec.strategy.canary.steps ?? []))));
}

export function podTemplateHashOf(rs: ReplicaSet | undefined): string | undefined {
  return rs?.metadata.labels?.[POD_TEMPLATE_HASH_LABEL];
}

export function getCondition(status: RolloutStatus, type: RolloutConditionType): RolloutCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

export function newCondition(
  type: RolloutConditionType,
  status: ConditionStatus,
  reason: string,
  message: string,
  now: string,
): RolloutCondition {
  return { type, status, reason, message, lastUpdateTime: now, lastTransitionTime: now };
}

/**
 * conditions.SetRolloutCondition: replaces the condition of that type unless status and reason are
 * unchanged; keeps lastTransitionTime when only the reason changes. Returns whether it changed.
 */
export function setCondition(status: RolloutStatus, condition: RolloutCondition): boolean {
  const current = getCondition(status, condition.type);
  if (current && current.status === condition.status && current.reason === condition.reason) return false;
  const next = { ...condition };
  if (current && current.status === condition.status) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), next];
  return true;
}

export function removeCondition(status: RolloutStatus, type: RolloutConditionType): void {
  status.conditions = (status.conditions ?? []).filter((c) => c.type !== type);
}

export function replicasOf(spec: RolloutSpec): number {
  return spec.replicas ?? 1;
}

export function isFullyPromoted(status: RolloutStatus): boolean {
  return (status.stableRS ?? "") === (status.currentPodHash ?? "");
}

/** conditions.RolloutCompleted */
export function rolloutCompleted(status: RolloutStatus): boolean {
  return !!status.stableRS && status.stableRS === status.currentPodHash;
}

/** conditions.RolloutHealthy */
export function rolloutHealthy(rollout: Rollout, newStatus: RolloutStatus): boolean {
  const replicas = replicasOf(rollout.spec);
  let completedStrategy = true;
  const bg = rollout.spec.strategy.blueGreen;
  const canary = rollout.spec.strategy.canary;
  if (bg) {
    const activeComplete = newStatus.blueGreen?.activeSelector === newStatus.currentPodHash;
    const previewComplete = !bg.previewService || newStatus.blueGreen?.previewSelector === newStatus.currentPodHash;
    completedStrategy = activeComplete && previewComplete;
  }
  if (canary) {
    const stepCount = canary.steps?.length ?? 0;
    const executedAllSteps =
      stepCount === 0 || newStatus.currentStepIndex === undefined || newStatus.currentStepIndex === stepCount;
    const currentIsStable = !!newStatus.stableRS && newStatus.stableRS === newStatus.currentPodHash;
    completedStrategy = executedAllSteps && currentIsStable && (newStatus.replicas ?? 0) === replicas;
  }
  return (
    (newStatus.updatedReplicas ?? 0) === replicas &&
    (newStatus.availableReplicas ?? 0) === replicas &&
    rollout.status?.observedGeneration === String(rollout.metadata.generation ?? 1) &&
    completedStrategy
  );
}

/** conditions.RolloutProgressing: did anything move since the previous status? */
export function rolloutProgressing(rollout: Rollout, newStatus: RolloutStatus): boolean {
  const old = rollout.status ?? {};
  let strategyProgress = false;
  if (rollout.spec.strategy.blueGreen) {
    strategyProgress =
      old.blueGreen?.activeSelector !== newStatus.blueGreen?.activeSelector ||
      old.blueGreen?.previewSelector !== newStatus.blueGreen?.previewSelector;
  }
  if (rollout.spec.strategy.canary) {
    const stepMoved =
      newStatus.currentStepIndex !== undefined &&
      old.currentStepIndex !== undefined &&
      newStatus.currentStepIndex !== old.currentStepIndex;
    strategyProgress =
      newStatus.stableRS !== old.stableRS || stepMoved || newStatus.currentStepHash !== old.currentStepHash;
  }
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (newStatus.replicas ?? 0) - (newStatus.updatedReplicas ?? 0);
  return (
    (newStatus.updatedReplicas ?? 0) !== (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (newStatus.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (newStatus.availableReplicas ?? 0) > (old.availableReplicas ?? 0) ||
    strategyProgress
  );
}

/**
 * CalculateRolloutPhase: the phase and message the controller writes to status.phase and
 * status.message (and what `kubectl argo rollouts get` shows).
 */
export function calculateRolloutPhase(
  spec: RolloutSpec,
  status: RolloutStatus,
): { phase: RolloutPhase; message: string } {
  for (const cond of status.conditions ?? []) {
    if (cond.type === "InvalidSpec") return { phase: "Degraded", message: `InvalidSpec: ${cond.message}` };
    if (cond.reason === REASONS.rolloutAborted || cond.reason === REASONS.timedOut) {
      return { phase: "Degraded", message: `${cond.reason}: ${cond.message}` };
    }
  }
  if (spec.paused) return { phase: "Paused", message: "manually paused" };
  const firstPause = status.pauseConditions?.[0];
  if (firstPause) return { phase: "Paused", message: firstPause.reason };
  if (spec.restartAt && spec.restartAt !== status.restartedAt) {
    return { phase: "Progressing", message: "rollout is restarting" };
  }
  if ((status.updatedReplicas ?? 0) < replicasOf(spec)) {
    return { phase: "Progressing", message: "more replicas need to be updated" };
  }
  if ((status.availableReplicas ?? 0) < (status.updatedReplicas ?? 0)) {
    return { phase: "Progressing", message: "updated replicas are still becoming available" };
  }
  if (spec.strategy.blueGreen) {
    const active = status.blueGreen?.activeSelector ?? "";
    if (active === "" || active !== status.currentPodHash) {
      return { phase: "Progressing", message: "active service cutover pending" };
    }
    if (!status.stableRS || !isFullyPromoted(status)) {
      return { phase: "Progressing", message: "waiting for post-promotion verification to complete" };
    }
  } else if (spec.strategy.canary) {
    if (!spec.strategy.canary.trafficRouting && (status.replicas ?? 0) > (status.updatedReplicas ?? 0)) {
      return { phase: "Progressing", message: "old replicas are pending termination" };
    }
    if (!status.stableRS || !isFullyPromoted(status)) {
      return { phase: "Progressing", message: "waiting for all steps to complete" };
    }
  }
  return { phase: "Healthy", message: "" };
}

/**
 * A JSON merge patch (RFC 7386) turning `prev` into `next`: removed keys become null, arrays are
 * replaced whole. Mirrors the two-way merge patch the controller sends to the status subresource.
 */
export function mergePatchBetween(prev: unknown, next: unknown): Record<string, unknown> | undefined {
  if (!isPlainObject(prev) || !isPlainObject(next)) return undefined;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(prev)) {
    if (prev[key] !== undefined && next[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(next)) {
    if (value === undefined) continue;
    const before = prev[key];
    if (isPlainObject(before) && isPlainObject(value)) {
      const inner = mergePatchBetween(before, value);
      if (inner && Object.keys(inner).length > 0) patch[key] = inner;
    } else if (canonicalJson(before) !== canonicalJson(value)) {
      patch[key] = value;
    }
  }
  return patch;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Argo pause durations: an integer (seconds) or a Go-like duration string ("30s", "5m", "1h"). */
export function durationSeconds(duration: string | number | undefined): number | undefined {
  if (duration === undefined) return undefined;
  if (typeof duration === "number") return duration;
  const match = /^(\d+)(s|m|h)?$/.exec(duration.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  const unit = match[2] ?? "s";
  return unit === "h" ? n * 3600 : unit === "m" ? n * 60 : n;
}
