import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  analysisIntervalMs,
  type Canary,
  deploymentStrategy,
  hasSpecChanged,
  makeStatusConditions,
  maxWeight,
  nextStepWeight,
  parseGoDuration,
  selectorLabel,
  serviceNames,
  templateHash,
} from "./flagger-model.js";

function canary(spec: Partial<Canary["spec"]> = {}, status?: Canary["status"]): Canary {
  return {
    metadata: { name: "podinfo", namespace: "test" },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
      service: { port: 9898 },
      ...spec,
    },
    status,
  };
}

describe("analysis interval", () => {
  it.each([
    [undefined, 60_000],
    ["1m", 60_000],
    ["30s", 30_000],
    ["5s", 10_000],
    ["1m30s", 90_000],
    ["nonsense", 60_000],
  ])("interval %s is %d ms", (interval, ms) => {
    expect(analysisIntervalMs(canary({ analysis: { interval } }))).toBe(ms);
  });
  it("reads any whole number of s, m, h and ms, and never throws on other text", () => {
    fc.assert(
      fc.property(
        fc.nat(100_000),
        fc.constantFrom(["ms", 1], ["s", 1000], ["m", 60_000], ["h", 3_600_000]),
        (n, [unit, ms]) => {
          expect(parseGoDuration(`${n}${unit}`)).toBe(n * (ms as number));
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ms = parseGoDuration(text);
        expect(ms === undefined || Number.isFinite(ms)).toBe(true);
      }),
    );
  });
  it("parses Go durations and rejects garbage", () => {
    expect(parseGoDuration("500ms")).toBe(500);
    expect(parseGoDuration("2h")).toBe(7_200_000);
    expect(parseGoDuration("10 s")).toBeUndefined();
  });
});

describe("Promoted condition per phase (pkg/canary/status.go)", () => {
  const table: Array<[Parameters<typeof makeStatusConditions>[1], string, string]> = [
    ["Initializing", "Unknown", "New Deployment detected, starting initialization."],
    ["Initialized", "True", "Deployment initialization completed."],
    ["Waiting", "Unknown", "Waiting for approval."],
    ["WaitingPromotion", "Unknown", "Waiting for approval."],
    ["Progressing", "Unknown", "New revision detected, progressing canary analysis."],
    ["Promoting", "Unknown", "Canary analysis completed, starting primary rolling update."],
    ["Finalising", "Unknown", "Canary analysis completed, routing all traffic to primary."],
    ["Succeeded", "True", "Canary analysis completed successfully, promotion finished."],
    ["Failed", "False", "Canary analysis failed, Deployment scaled to zero."],
  ];
  for (const [phase, status, message] of table) {
    it(`${phase}: ${status}`, () => {
      expect(makeStatusConditions(canary(), phase, "now")).toEqual([
        { type: "Promoted", status, reason: phase, message, lastUpdateTime: "now", lastTransitionTime: "now" },
      ]);
    });
  }
  it("is unchanged for the same status and reason, and keeps the transition time for the same status", () => {
    const current = makeStatusConditions(canary(), "Progressing", "t0");
    expect(makeStatusConditions(canary({}, { conditions: current }), "Progressing", "t1")).toBeUndefined();
    const next = makeStatusConditions(canary({}, { conditions: current }), "Promoting", "t1");
    expect(next?.[0]).toMatchObject({ reason: "Promoting", lastTransitionTime: "t0", lastUpdateTime: "t1" });
  });
});

describe("step weights (scheduler.go nextStepWeight/maxWeight)", () => {
  it.each([
    [{ stepWeight: 10, maxWeight: 50 }, 0, 10, 50],
    [{ stepWeights: [1, 2, 10, 80] }, 0, 1, 80],
    [{ stepWeights: [1, 2, 10, 80] }, 2, 8, 80],
    [{ stepWeights: [1, 2, 10, 80] }, 80, 20, 80],
    [{}, 0, 0, 100],
  ])("analysis %j at weight %d steps by %d up to %d", (analysis, weight, step, max) => {
    expect(nextStepWeight(analysis, weight)).toBe(step);
    expect(maxWeight(analysis)).toBe(max);
  });
});

describe("targets and strategies", () => {
  it("picks the selector label Flagger looks for, and names the three services", () => {
    expect(
      selectorLabel({ metadata: { name: "d" }, spec: { selector: { matchLabels: { tier: "x", app: "podinfo" } } } }),
    ).toEqual({
      label: "app",
      value: "podinfo",
    });
    expect(
      selectorLabel({ metadata: { name: "d" }, spec: { selector: { matchLabels: { tier: "x" } } } }),
    ).toBeUndefined();
    expect(serviceNames(canary())).toEqual({ apex: "podinfo", primary: "podinfo-primary", canary: "podinfo-canary" });
    expect(serviceNames(canary({ service: { port: 80, name: "front" } }))).toEqual({
      apex: "front",
      primary: "front-primary",
      canary: "front-canary",
    });
  });
  it("derives the deployment strategy from the analysis", () => {
    expect(deploymentStrategy(canary({ analysis: { iterations: 5 } }))).toBe("blue-green");
    expect(deploymentStrategy(canary({ analysis: { iterations: 5, match: [{}] } }))).toBe("ab-testing");
    expect(deploymentStrategy(canary({ analysis: { stepWeight: 10 } }))).toBe("canary");
  });
  it("sees a new template, but not a manual rollback to the last promoted one", () => {
    const v1 = { spec: { containers: [{ name: "a", image: "a:1" }] } };
    const v2 = { spec: { containers: [{ name: "a", image: "a:2" }] } };
    expect(hasSpecChanged(canary(), v1)).toBe(true);
    const applied = canary({}, { lastAppliedSpec: templateHash(v2), lastPromotedSpec: templateHash(v1) });
    expect(hasSpecChanged(applied, v2)).toBe(false);
    expect(hasSpecChanged(applied, v1)).toBe(false);
    expect(
      hasSpecChanged(canary({}, { lastAppliedSpec: templateHash(v1), lastPromotedSpec: templateHash(v1) }), v2),
    ).toBe(true);
  });
});
