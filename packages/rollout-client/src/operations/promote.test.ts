import { describe, expect, it } from "vitest";
import type { RolloutObject } from "../resources.js";
import { argoObject } from "../testdata/load.js";
import { promotePatches } from "./promote.js";

const blueGreen = () => argoObject<RolloutObject>("blue-green-bluegreen-rollout");
const canary = () => argoObject<RolloutObject>("canary-canary-rollout");
const patch = (
  ro: RolloutObject,
  status: Partial<NonNullable<RolloutObject["status"]>>,
  spec: Partial<RolloutObject["spec"]> = {},
) => ({ ...ro, spec: { ...ro.spec, ...spec }, status: { ...ro.status, ...status } }) as RolloutObject;

// Expected bodies are the plugin's constants (cmd/promote/promote.go), as JSON.
describe("promotePatches sends what `kubectl argo rollouts promote` sends", () => {
  it.each([
    {
      name: "a blue-green paused at BlueGreenPause: clear the pause conditions on status",
      rollout: blueGreen,
      full: false,
      expected: {
        status: { status: { pauseConditions: null } },
        unified: { spec: { paused: false }, status: { pauseConditions: null } },
      },
    },
    {
      name: "a blue-green also paused by spec.paused: unpause the spec too",
      rollout: () => patch(blueGreen(), {}, { paused: true }),
      full: false,
      expected: {
        spec: { spec: { paused: false } },
        status: { status: { pauseConditions: null } },
        unified: { spec: { paused: false }, status: { pauseConditions: null } },
      },
    },
    {
      name: "a canary without pause conditions: move currentStepIndex to the next step",
      rollout: () => patch(canary(), { pauseConditions: null, currentStepIndex: 1 }),
      full: false,
      expected: {
        status: { status: { pauseConditions: null, currentStepIndex: 2 } },
        unified: { spec: { paused: false }, status: { pauseConditions: null, currentStepIndex: 2 } },
      },
    },
    {
      name: "a canary at an inconclusive analysis paused by the controller: also clear controllerPause",
      rollout: () =>
        patch(canary(), {
          pauseConditions: [{ reason: "InconclusiveAnalysisRun" }],
          controllerPause: true,
          currentStepIndex: 1,
          canary: { currentStepAnalysisRunStatus: { status: "Inconclusive" } },
        }),
      full: false,
      expected: {
        status: { status: { pauseConditions: null, controllerPause: false, currentStepIndex: 2 } },
        unified: { spec: { paused: false }, status: { pauseConditions: null } },
      },
    },
    {
      name: "--full on an update in progress: promoteFull on status",
      rollout: blueGreen,
      full: true,
      expected: {
        status: { status: { promoteFull: true } },
        unified: { spec: { paused: false }, status: { promoteFull: true } },
      },
    },
    {
      name: "--full on a fully promoted rollout: nothing to send to status",
      rollout: () => patch(blueGreen(), { stableRS: "74b948fccb" }),
      full: true,
      expected: { unified: { spec: { paused: false }, status: { promoteFull: true } } },
    },
  ])("$name", ({ rollout, full, expected }) => {
    expect(JSON.parse(JSON.stringify(promotePatches(rollout(), full)))).toEqual(expected);
  });

  it("never moves currentStepIndex past the last step", () => {
    const ro = canary();
    const steps = ro.spec.strategy?.canary?.steps?.length ?? 0;
    expect(promotePatches(patch(ro, { pauseConditions: null, currentStepIndex: steps }), false).status).toEqual({
      status: { pauseConditions: null, currentStepIndex: steps },
    });
  });
});
