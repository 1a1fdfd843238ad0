import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyMergePatch } from "../patch/index.js";
import {
  calculateRolloutPhase,
  canonicalJson,
  computePodTemplateHash,
  durationSeconds,
  fnv32a,
  mergePatchBetween,
  safeEncodeString,
  setCondition,
} from "./argo-rollout-status.js";
import type { RolloutCondition, RolloutSpec, RolloutStatus } from "./argo-rollout-types.js";

const template = { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "web:1" }] } };
const bg: RolloutSpec = { replicas: 3, strategy: { blueGreen: { activeService: "web" } } };
const canary: RolloutSpec = { replicas: 3, strategy: { canary: { steps: [{ setWeight: 50 }] } } };

function cond(
  type: RolloutCondition["type"],
  status: RolloutCondition["status"],
  reason: string,
  message = "",
): RolloutCondition {
  return { type, status, reason, message, lastUpdateTime: "t0", lastTransitionTime: "t0" };
}

describe("calculateRolloutPhase (the phase and message kubectl argo rollouts shows)", () => {
  const healthyBg: RolloutStatus = {
    updatedReplicas: 3,
    availableReplicas: 3,
    currentPodHash: "abc",
    stableRS: "abc",
    blueGreen: { activeSelector: "abc" },
  };
  const table: Array<[string, RolloutSpec, RolloutStatus, string, string]> = [
    ["healthy blue-green", bg, healthyBg, "Healthy", ""],
    [
      "aborted",
      bg,
      {
        ...healthyBg,
        conditions: [cond("Progressing", "False", "RolloutAborted", "Rollout aborted update to revision 2")],
      },
      "Degraded",
      "RolloutAborted: Rollout aborted update to revision 2",
    ],
    [
      "progress deadline exceeded",
      bg,
      {
        ...healthyBg,
        conditions: [
          cond("Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "x" has timed out progressing.'),
        ],
      },
      "Degraded",
      'ProgressDeadlineExceeded: ReplicaSet "x" has timed out progressing.',
    ],
    [
      "invalid spec",
      bg,
      { conditions: [cond("InvalidSpec", "True", "InvalidSpec", "boom")] },
      "Degraded",
      "InvalidSpec: boom",
    ],
    ["manually paused", { ...bg, paused: true }, healthyBg, "Paused", "manually paused"],
    [
      "blue-green pause",
      bg,
      { ...healthyBg, pauseConditions: [{ reason: "BlueGreenPause", startTime: "t0" }] },
      "Paused",
      "BlueGreenPause",
    ],
    ["restarting", { ...bg, restartAt: "2026-01-01T00:00:00Z" }, healthyBg, "Progressing", "rollout is restarting"],
    ["scaling up", bg, { ...healthyBg, updatedReplicas: 1 }, "Progressing", "more replicas need to be updated"],
    [
      "becoming available",
      bg,
      { ...healthyBg, availableReplicas: 1 },
      "Progressing",
      "updated replicas are still becoming available",
    ],
    [
      "active not switched",
      bg,
      { ...healthyBg, currentPodHash: "new", blueGreen: { activeSelector: "abc" } },
      "Progressing",
      "active service cutover pending",
    ],
    [
      "canary steps to go",
      canary,
      { updatedReplicas: 3, availableReplicas: 3, replicas: 3, currentPodHash: "new", stableRS: "old" },
      "Progressing",
      "waiting for all steps to complete",
    ],
    [
      "canary old replicas up",
      canary,
      { updatedReplicas: 3, availableReplicas: 3, replicas: 5, currentPodHash: "a", stableRS: "a" },
      "Progressing",
      "old replicas are pending termination",
    ],
  ];
  for (const [name, spec, status, phase, message] of table) {
    it(name, () => {
      expect(calculateRolloutPhase(spec, status)).toEqual({ phase, message });
    });
  }
});

describe("pod template hash", () => {
  it("maps digits through Kubernetes' safe alphabet", () => {
    expect(safeEncodeString("0123456789")).toBe("456789bcdf");
  });
  it("is FNV-1a 32", () => {
    expect(fnv32a("")).toBe(0x811c9dc5);
    expect(fnv32a("a")).toBe(0xe40c292c);
  });
  it("is the same whatever the key order, and changes with the image", () => {
    const reordered = { spec: { containers: [{ image: "web:1", name: "web" }] }, metadata: { labels: { app: "web" } } };
    expect(computePodTemplateHash(reordered)).toBe(computePodTemplateHash(template));
    const other = structuredClone(template);
    other.spec.containers[0] = { name: "web", image: "web:2" };
    expect(computePodTemplateHash(other)).not.toBe(computePodTemplateHash(template));
    expect(computePodTemplateHash(template)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
  });
});

describe("setCondition", () => {
  it("keeps lastTransitionTime when only the reason changes, and reports no change for the same reason", () => {
    const status: RolloutStatus = { conditions: [cond("Progressing", "True", "ReplicaSetUpdated")] };
    expect(
      setCondition(status, { ...cond("Progressing", "True", "ReplicaSetUpdated"), lastTransitionTime: "t9" }),
    ).toBe(false);
    expect(
      setCondition(status, { ...cond("Progressing", "True", "NewReplicaSetAvailable"), lastTransitionTime: "t1" }),
    ).toBe(true);
    expect(status.conditions).toEqual([
      { ...cond("Progressing", "True", "NewReplicaSetAvailable"), lastTransitionTime: "t0" },
    ]);
  });
});

describe("mergePatchBetween", () => {
  it("nulls removed keys, recurses into objects and replaces arrays whole", () => {
    expect(
      mergePatchBetween(
        {
          abort: true,
          pauseConditions: [{ reason: "BlueGreenPause" }],
          blueGreen: { activeSelector: "a", previewSelector: "b" },
        },
        { pauseConditions: [], blueGreen: { activeSelector: "b", previewSelector: "b" } },
      ),
    ).toEqual({ abort: null, pauseConditions: [], blueGreen: { activeSelector: "b" } });
  });
});

describe("durationSeconds", () => {
  it.each([
    [10, 10],
    ["30s", 30],
    ["5m", 300],
    ["1h", 3600],
    ["45", 45],
    [undefined, undefined],
    ["soon", undefined],
  ])("%s -> %s", (input, out) => {
    expect(durationSeconds(input as string | number | undefined)).toBe(out);
  });
});

describe("mergePatchBetween (property)", () => {
  // JSON-like objects without nulls (a merge patch cannot set a null) and without empty objects at leaves.
  const leaf = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }));
  const obj = fc.letrec((tie) => ({
    node: fc.dictionary(fc.constantFrom("a", "b", "c", "status", "x"), fc.oneof(leaf, tie("node")), { maxKeys: 4 }),
  })).node;
  it("turns prev into next when applied as a JSON merge patch", () => {
    fc.assert(
      fc.property(obj, obj, (prev, next) => {
        const patch = mergePatchBetween(prev, next);
        const applied = applyMergePatch(structuredClone(prev), patch);
        expect(canonicalJson(prune(applied))).toBe(canonicalJson(prune(next)));
      }),
    );
  });
});

/** Empty objects are indistinguishable from absent ones after a merge patch. */
function prune(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const p = prune(v);
    if (p !== null && typeof p === "object" && !Array.isArray(p) && Object.keys(p).length === 0) continue;
    out[k] = p;
  }
  return out;
}
