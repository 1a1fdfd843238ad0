import { describe, expect, it } from "vitest";
import { evalCondition, evaluateResult } from "./analysis-condition.js";

// Conditions as argo-rollouts' own docs and tests write them (docs/features/analysis.md, utils/evaluate/evaluate_test.go).
describe("evalCondition (expr-lang forms used by AnalysisTemplates)", () => {
  const cases: Array<[string, unknown, boolean]> = [
    ["result[0] >= 0.95", [0.97], true],
    ["result[0] >= 0.95", [0.9], false],
    ["result == true", true, true],
    ["result == true", false, false],
    ["len(result) == 0", [], true],
    ["len(result) > 0 && result[0] < 100", [50], true],
    ["result > 0.5 and result < 1", 0.7, true],
    ["not (result > 2)", 1, true],
    ["result.ok == true", { ok: true }, true],
    ['result.status == "healthy"', { status: "healthy" }, true],
    ["isNaN(result) || result >= 0.95", Number.NaN, true],
    ["default(result, 0) > 1", null, false],
    ["asInt(result) == 3", "3", true],
    ["result in [1, 2, 3]", 2, true],
  ];
  for (const [condition, result, expected] of cases) {
    it(`${condition} with ${JSON.stringify(result)} is ${expected}`, () => {
      expect(evalCondition(result, condition)).toBe(expected);
    });
  }
  it("refuses a condition that is not a boolean, and an index out of range", () => {
    expect(() => evalCondition(3, "result + 1")).toThrow("expected bool, but got int");
    expect(() => evalCondition([], "result[0] > 1")).toThrow("index out of range: 0 (array length is 0)");
  });
});

describe("evaluateResult (utils/evaluate EvaluateResult)", () => {
  it("without conditions is Successful; success only: not success is Failed; failure only: not failure is Successful", () => {
    expect(evaluateResult(1, {}).phase).toBe("Successful");
    expect(evaluateResult(1, { successCondition: "result > 2" }).phase).toBe("Failed");
    expect(evaluateResult(1, { failureCondition: "result > 2" }).phase).toBe("Successful");
  });
  it("with both conditions false is Inconclusive, and a broken condition is Error", () => {
    expect(evaluateResult(2, { successCondition: "result > 2", failureCondition: "result < 2" }).phase).toBe(
      "Inconclusive",
    );
    expect(evaluateResult([], { successCondition: "result[0] > 2" })).toMatchObject({ phase: "Error" });
  });
});
