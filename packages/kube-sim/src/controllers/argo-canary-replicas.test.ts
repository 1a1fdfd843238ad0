import { describe, expect, it } from "vitest";
import { approximateWeightedCounts, basicCanaryReplicaCounts, resolveFenceposts } from "./argo-canary-replicas.js";

// The cases of argo-rollouts utils/replicaset/canary_test.go TestCalculateReplicaCountsForCanary that use a basic
// canary (no traffic routing, no older ReplicaSets; argoproj/argo-rollouts@9f8d111d): name, replicas, setWeight, maxSurge, maxUnavailable,
// stable [spec, available], canary [spec, available], expected [stable, canary].
type Case = [
  string,
  number,
  number,
  number | string,
  number | string,
  [number, number],
  [number, number],
  [number, number],
];
const UPSTREAM: Case[] = [
  [
    "Do not add extra RSs in scaleDownCount when .Spec.Replica < AvailableReplicas",
    10,
    100,
    3,
    0,
    [7, 8],
    [6, 3],
    [7, 6],
  ],
  ["Use max surge int to scale up canary", 10, 20, 2, 0, [10, 10], [0, 0], [10, 2]],
  ["Use max surge percentage to scale up canary", 10, 20, "20%", 0, [10, 10], [0, 0], [10, 2]],
  ["Scale down extra stable replicas", 10, 20, "20%", 0, [10, 10], [2, 2], [8, 2]],
  ["Do not go past max surge", 10, 30, 2, 0, [10, 10], [0, 0], [10, 2]],
  ["Use max unavailable int to scale down stableRS", 10, 20, 0, 2, [10, 10], [0, 0], [8, 0]],
  ["Use max surge percentage to scale down stableRS", 10, 20, 0, "20%", [10, 10], [0, 0], [8, 0]],
  ["Do not go past max unavailable", 10, 30, 0, 2, [10, 10], [0, 0], [8, 0]],
  ["Use Max Surge and Max Unavailable", 10, 50, 2, 1, [10, 10], [0, 0], [9, 2]],
  ["Scale canaryRS to zero on setWeight of 0%", 10, 0, 1, 1, [10, 10], [1, 1], [10, 0]],
  ["Scale stable to zero on setWeight of 100%", 10, 100, 1, 1, [1, 1], [10, 10], [0, 10]],
  ["Do not scale canaryRS down to zero on non-zero weight", 1, 20, 1, 0, [1, 1], [0, 0], [1, 1]],
  ["Do not scale canaryRS down to zero on non-100 weight", 1, 90, 1, 0, [1, 1], [0, 0], [1, 1]],
  ["Scale canaryRS to zero on <50 weight without surge", 1, 49, 0, 1, [1, 1], [0, 0], [1, 0]],
  ["Scale stableRS down to zero on >=50 weight without surge", 1, 51, 0, 1, [1, 1], [0, 0], [0, 0]],
  ["Scale canaryRS to one on >=50 weight without surge and stable replicas", 1, 51, 0, 1, [0, 0], [0, 0], [0, 1]],
  ["Scale down canaryRS and stable", 10, 30, 0, 3, [8, 5], [4, 4], [7, 3]],
  ["Scale down stable and canary available", 10, 100, 1, 0, [10, 2], [10, 8], [2, 9]],
  ["Do not round past maxSurge with uneven setWeight divisor", 10, 5, 0, 1, [10, 10], [0, 0], [9, 0]],
  ["Do not round past maxSurge with uneven setWeight divisor (part 2)", 10, 5, 0, 1, [9, 9], [0, 0], [9, 1]],
  [
    "Use maxUnavailable of 1 when percentage of maxUnavailable and maxSurge result in 0 replicas",
    10,
    10,
    "0%",
    "0%",
    [10, 10],
    [0, 0],
    [9, 0],
  ],
  ["honor maxSurge during scale up when stableRS unavailable", 4, 100, 1, 0, [4, 1], [0, 0], [4, 1]],
  ["scale down to maxunavailable without exceeding maxSurge", 3, 99, 0, 2, [3, 3], [0, 0], [1, 0]],
  ["scale down to maxunavailable without exceeding maxSurge (part 2)", 3, 99, 0, 2, [1, 1], [0, 0], [1, 2]],
  ["honor maxUnavailable when aborting or reducing weight part 1", 4, 0, 1, 0, [0, 0], [4, 4], [1, 4]],
  ["honor maxUnavailable when aborting or reducing weight part 2", 4, 0, 1, 0, [1, 0], [4, 4], [1, 4]],
  ["honor maxUnavailable when aborting or reducing weight part 3", 4, 0, 1, 0, [1, 1], [4, 4], [1, 3]],
];

/** [stable, canary] as basicCanaryReplicaCounts sizes them for a row of the table, beside `otherRSs`. */
function countsFor(row: Case, otherRSs: { specReplicas: number; availableReplicas: number }[]): [number, number] {
  const [, replicas, weight, maxSurge, maxUnavailable, stable, canary] = row;
  const result = basicCanaryReplicaCounts({
    replicas,
    desiredWeight: weight,
    maxSurge,
    maxUnavailable,
    stableRS: { specReplicas: stable[0], availableReplicas: stable[1] },
    newRS: { specReplicas: canary[0], availableReplicas: canary[1] },
    otherRSs,
  });
  return [result.stable, result.newRS];
}

describe("basicCanaryReplicaCounts (upstream cases)", () => {
  for (const row of UPSTREAM) it(row[0], () => expect(countsFor(row, [])).toEqual(row[7]));
  it("runs everything on the new ReplicaSet when there is no stable one", () => {
    expect(
      basicCanaryReplicaCounts({
        replicas: 4,
        desiredWeight: 10,
        newRS: { specReplicas: 0, availableReplicas: 0 },
        stableRS: undefined,
        otherRSs: [],
      }),
    ).toEqual({ newRS: 4, stable: 0 });
  });
});

// The cases of the same table with an older (neither stable nor canary) ReplicaSet `newRS("older", 3, 3)`:
// older ReplicaSets hold part of the surge budget and are scaled down before the canary or stable.
const WITH_OLDER: Case[] = [
  ["Scale up Stable before canaryRS", 10, 30, 1, 0, [1, 1], [0, 0], [7, 1]],
  ["Do not scale down canaryRS or stable when older RS count >= scaleDownCount", 10, 30, 0, 1, [8, 6], [4, 2], [8, 4]],
];

describe("basicCanaryReplicaCounts with an older ReplicaSet (upstream cases)", () => {
  const older = { specReplicas: 3, availableReplicas: 3 };
  for (const row of WITH_OLDER) it(row[0], () => expect(countsFor(row, [older])).toEqual(row[7]));
});

describe("fenceposts and weight approximation", () => {
  it("rounds surge up and unavailability down, never both zero", () => {
    expect(resolveFenceposts("25%", "25%", 10)).toEqual({ surge: 3, unavailable: 2 });
    expect(resolveFenceposts(0, "10%", 5)).toEqual({ surge: 0, unavailable: 1 });
  });
  it("picks the split nearest the weight, using one surge pod when it helps", () => {
    expect(approximateWeightedCounts(10, 10, 100, 3)).toEqual({ canary: 1, stable: 9 });
    expect(approximateWeightedCounts(3, 50, 100, 1)).toEqual({ canary: 2, stable: 2 });
    expect(approximateWeightedCounts(4, 100, 100, 1)).toEqual({ canary: 4, stable: 0 });
  });
});
