// Server-side printing helpers: kubectl's duration format (k8s.io/apimachinery/pkg/util/duration.HumanDuration)
// and the JSONPath subset used by CRD additionalPrinterColumns.
import { describe, expect, it } from "vitest";
import { humanAge, jsonPath } from "./table.js";

describe("humanAge", () => {
  it.each([
    [0, "0s"],
    [59_000, "59s"],
    [119_000, "119s"],
    [120_000, "2m"],
    [200_000, "3m20s"],
    [600_000, "10m"],
    [3 * 3600_000, "3h"],
    [47 * 3600_000, "47h"],
    [3.5 * 3600_000, "3h30m"],
    [49 * 3600_000, "2d1h"],
    [48 * 3600_000, "2d"],
    [30 * 24 * 3600_000, "30d"],
    [3 * 365 * 24 * 3600_000, "3y"],
    [-5_000, "0s"],
  ])("prints %d ms as %s", (ms, text) => {
    expect(humanAge(ms)).toBe(text);
  });
});

describe("jsonPath", () => {
  const rollout = {
    spec: { replicas: 3 },
    status: {
      conditions: [
        { type: "Available", status: "True" },
        { type: "Progressing", status: "False" },
      ],
      pods: [{ n: 1 }, { n: 2 }],
    },
  };
  it.each([
    [".spec.replicas", 3],
    ['.status.conditions[?(@.type=="Progressing")].status', "False"],
    [".status.conditions[0].type", "Available"],
    [".status.pods[*].n", [1, 2]],
    [".status.missing", undefined],
    ["{.spec.replicas}", 3],
  ])("reads %s", (path, value) => {
    expect(jsonPath(rollout, path)).toEqual(value);
  });
});
