// Replica arithmetic of a basic (no traffic router) Argo Rollouts canary, ported from
// utils/replicaset/canary.go CalculateReplicaCountsForBasicCanary and replicaset.go resolveFenceposts:
// the weight is approximated by replica counts within maxSurge and maxUnavailable.

/** The parts of a ReplicaSet the arithmetic reads. */
export interface ReplicaCounts {
  specReplicas: number;
  availableReplicas: number;
}

/** intstr.GetValueFromIntOrPercent: an int, or a percentage of `total` rounded up or down. */
export function valueFromIntOrPercent(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0;
  if (typeof value === "number") return value;
  const match = /^(\d+)%$/.exec(value.trim());
  if (!match) return Number(value) || 0;
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** resolveFenceposts: maxSurge (rounded up) and maxUnavailable (rounded down); both 0 makes maxUnavailable 1. */
export function resolveFenceposts(
  maxSurge: number | string | undefined,
  maxUnavailable: number | string | undefined,
  desired: number,
): { surge: number; unavailable: number } {
  const surge = valueFromIntOrPercent(maxSurge, desired, true);
  let unavailable = valueFromIntOrPercent(maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, desired) };
}

function floorCeilingTied(desiredWeight: number, maxWeight: number, total: number): boolean {
  const product = total * (desiredWeight / maxWeight);
  return product - Math.trunc(product) === 0.5;
}

function weightDelta(desiredWeight: number, maxWeight: number, canary: number, total: number): number {
  return Math.abs((canary * maxWeight) / total - desiredWeight);
}

/** approximateWeightedCanaryStableReplicaCounts: the canary/stable split (maybe one surge pod) nearest the weight. */
export function approximateWeightedCounts(
  specReplicas: number,
  desiredWeight: number,
  maxWeight: number,
  maxSurge: number,
): { canary: number; stable: number } {
  if (specReplicas === 0) return { canary: 0, stable: 0 };
  const ceil = Math.ceil((specReplicas * desiredWeight) / maxWeight);
  const floor = Math.floor((specReplicas * desiredWeight) / maxWeight);
  const tied = floorCeilingTied(desiredWeight, maxWeight, specReplicas);
  const zeroAllowed = desiredWeight === maxWeight || desiredWeight === 0 || (specReplicas === 1 && maxSurge === 0);
  const options: Array<{ canary: number; total: number }> = [];
  if (ceil < specReplicas || zeroAllowed) options.push({ canary: ceil, total: specReplicas });
  if (!tied && (floor !== 0 || zeroAllowed)) options.push({ canary: floor, total: specReplicas });
  if (maxSurge > 0) {
    options.push({ canary: ceil, total: specReplicas + 1 });
    const surgeTied = floorCeilingTied(desiredWeight, maxWeight, specReplicas + 1);
    if (!surgeTied && (floor !== 0 || zeroAllowed)) options.push({ canary: floor, total: specReplicas + 1 });
  }
  const first = options[0];
  if (!first) return { canary: 0, stable: specReplicas };
  let best = first;
  let bestDelta = weightDelta(desiredWeight, maxWeight, best.canary, best.total);
  for (const option of options.slice(1)) {
    const delta = weightDelta(desiredWeight, maxWeight, option.canary, option.total);
    if (delta < bestDelta) {
      best = option;
      bestDelta = delta;
    }
  }
  return { canary: best.canary, stable: best.total - best.canary };
}

function replicasForScaleDown(rs: ReplicaCounts | undefined, ignoreAvailability: boolean): number {
  if (!rs) return 0;
  if (rs.specReplicas < rs.availableReplicas) return rs.specReplicas;
  return ignoreAvailability ? rs.specReplicas : rs.availableReplicas;
}

function scaleDownCount(drain: ReplicaCounts | undefined, desired: number, count: number, current: number): number {
  if (drain && drain.specReplicas > desired) return Math.max(desired, drain.specReplicas - count);
  return current;
}

function adjustWithinLimits(
  drain: ReplicaCounts | undefined,
  adjust: ReplicaCounts | undefined,
  drainCount: number,
  adjustCount: number,
  maxAllowed: number,
  minAvailable: number,
): [number, number] {
  let total = 0;
  let over = Math.max(0, adjustCount + drainCount - maxAllowed);
  if (drain) total += Math.min(drain.availableReplicas, drainCount);
  if (adjust) {
    adjustCount -= over;
    total += Math.min(adjust.availableReplicas, adjustCount);
    const extra = Math.max(0, adjust.availableReplicas - adjustCount);
    const needed = Math.max(0, minAvailable - total);
    adjustCount += Math.min(extra, needed);
    over = Math.max(0, adjustCount + drainCount - maxAllowed);
    drainCount -= over;
  }
  return [drainCount, adjustCount];
}

export interface BasicCanaryInput {
  replicas: number;
  /** The weight the canary should have now (GetCanaryReplicasOrWeight). */
  desiredWeight: number;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  newRS: ReplicaCounts | undefined;
  /** The stable ReplicaSet when it exists and is not the new one (CheckStableRSExists). */
  stableRS: ReplicaCounts | undefined;
  /** ReplicaSets that are neither new nor stable. */
  otherRSs: ReplicaCounts[];
}

/** CalculateReplicaCountsForBasicCanary: the next sizes of the canary and stable ReplicaSets. */
export function basicCanaryReplicaCounts(input: BasicCanaryInput): { newRS: number; stable: number } {
  const { replicas, newRS, stableRS, otherRSs } = input;
  const { surge, unavailable } = resolveFenceposts(input.maxSurge ?? "25%", input.maxUnavailable ?? "25%", replicas);
  const approx = approximateWeightedCounts(replicas, input.desiredWeight, 100, surge);
  let desiredNew = approx.canary;
  let desiredStable = approx.stable;
  let stableCount = 0;
  let newCount = newRS?.specReplicas ?? 0;
  const scaleStable = stableRS !== undefined;
  if (scaleStable) stableCount = stableRS.specReplicas;
  else {
    desiredNew = replicas;
    desiredStable = 0;
  }
  const maxAllowed = replicas + surge;
  const counted = [...otherRSs, newRS, ...(scaleStable ? [stableRS] : [])];
  const totalCurrent = counted.reduce((sum, rs) => sum + (rs?.specReplicas ?? 0), 0);
  let scaleUp = maxAllowed - totalCurrent;
  if (scaleStable && stableRS.specReplicas < desiredStable && scaleUp > 0) {
    if (stableRS.specReplicas + scaleUp < desiredStable) {
      stableCount = stableRS.specReplicas + scaleUp;
      scaleUp = 0;
    } else {
      stableCount = desiredStable;
      scaleUp -= desiredStable - stableRS.specReplicas;
    }
  }
  if (newRS && newRS.specReplicas < desiredNew && scaleUp > 0) {
    newCount = Math.min(newRS.specReplicas + scaleUp, desiredNew);
  }
  if (otherRSs.reduce((sum, rs) => sum + rs.specReplicas, 0) > 0) return { newRS: newCount, stable: stableCount };

  const minAvailable = replicas - unavailable;
  const increasing = newRS === undefined || desiredNew >= newRS.specReplicas;
  const toScaleDown = replicasForScaleDown(newRS, !increasing) + replicasForScaleDown(stableRS, increasing);
  if (toScaleDown <= minAvailable) return { newRS: newCount, stable: stableCount };
  const down = toScaleDown - minAvailable;
  if (!increasing) {
    newCount = scaleDownCount(newRS, desiredNew, down, newCount);
    [newCount, stableCount] = adjustWithinLimits(newRS, stableRS, newCount, stableCount, maxAllowed, minAvailable);
  } else if (scaleStable) {
    stableCount = scaleDownCount(stableRS, desiredStable, down, stableCount);
    [stableCount, newCount] = adjustWithinLimits(stableRS, newRS, stableCount, newCount, maxAllowed, minAvailable);
  }
  return { newRS: newCount, stable: stableCount };
}

/** trafficWeightToReplicas: replicas the canary needs for a weight behind a traffic router. */
export function trafficWeightToReplicas(replicas: number, weight: number): number {
  return Math.ceil((weight * replicas) / 100);
}
