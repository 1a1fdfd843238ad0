/**
 * promote: what `kubectl argo rollouts promote [--full]` sends (pkg/kubectl-argo-rollouts/cmd/promote/promote.go).
 * Status changes go to the `status` subresource; when it answers 404 (controllers before v0.10 had none) the
 * unified patch goes to the resource instead. For Flagger Canaries, promote opens the gate the Canary waits at.
 */
import type { Connection } from "../connect.js";
import { RolloutClientError } from "../errors.js";
import type { RolloutObject } from "../resources.js";
import type { Target } from "../targets/target.js";
import { openWaitingGate } from "./flagger-gate.js";
import { patchObject, readObject, unsupported, withConflictRetry } from "./shared.js";

export const unpausePatch = { spec: { paused: false } };
export const clearPauseConditionsPatch = { status: { pauseConditions: null } };
export const unpauseAndClearPauseConditionsPatch = { spec: { paused: false }, status: { pauseConditions: null } };
export const promoteFullPatch = { status: { promoteFull: true } };
export const unpauseAndPromoteFullPatch = { spec: { paused: false }, status: { promoteFull: true } };
export const clearPauseConditionsPatchWithStep = (step: number) => ({
  status: { pauseConditions: null, currentStepIndex: step },
});
export const unpauseAndClearPauseConditionsPatchWithStep = (step: number) => ({
  spec: { paused: false },
  status: { pauseConditions: null, currentStepIndex: step },
});
export const clearPauseConditionsAndControllerPausePatch = (step: number) => ({
  status: { pauseConditions: null, controllerPause: false, currentStepIndex: step },
});

export interface PromoteOptions {
  /** Skip every remaining step, pause and analysis (`--full`). */
  full?: boolean;
}

export interface PromotePatches {
  spec?: object;
  status?: object;
  /** Sent to the resource when the status subresource does not exist. */
  unified?: object;
}

/** The plugin's `getPatches`, for the two supported modes (the deprecated skip flags are left out). */
export function promotePatches(rollout: RolloutObject, full: boolean): PromotePatches {
  const status = rollout.status ?? {};
  const patches: PromotePatches = {};
  if (full) {
    if (rollout.spec.paused) patches.spec = unpausePatch;
    if (status.currentPodHash !== status.stableRS) patches.status = promoteFullPatch;
    patches.unified = unpauseAndPromoteFullPatch;
    return patches;
  }
  patches.unified = unpauseAndClearPauseConditionsPatch;
  if (rollout.spec.paused) patches.spec = unpausePatch;
  const pauseConditions = status.pauseConditions ?? [];
  const canary = rollout.spec.strategy?.canary;
  const inconclusive = canary !== undefined && status.canary?.currentStepAnalysisRunStatus?.status === "Inconclusive";
  if (inconclusive && pauseConditions.length > 0 && status.controllerPause) {
    const index = nextStepIndex(rollout);
    if (index !== undefined) patches.status = clearPauseConditionsAndControllerPausePatch(index);
  } else if (pauseConditions.length > 0) {
    patches.status = clearPauseConditionsPatch;
  } else if (canary) {
    const index = nextStepIndex(rollout);
    if (index !== undefined) {
      patches.status = clearPauseConditionsPatchWithStep(index);
      patches.unified = unpauseAndClearPauseConditionsPatchWithStep(index);
    }
  }
  return patches;
}

/** `GetCurrentCanaryStep` plus one, never past the number of steps. */
function nextStepIndex(rollout: RolloutObject): number | undefined {
  const steps = rollout.spec.strategy?.canary?.steps ?? [];
  if (steps.length === 0) return undefined;
  const current = Math.max(0, rollout.status?.currentStepIndex ?? 0);
  return current < steps.length ? current + 1 : current;
}

export interface OperationResult {
  /** How many writes reached the API server. */
  writes: number;
}

export async function promote(
  conn: Connection,
  target: Target,
  options: PromoteOptions = {},
): Promise<OperationResult> {
  if (target.kind === "Canary") return openWaitingGate(conn, target);
  if (target.kind === "Deployment") {
    throw unsupported(target, "promote", "a Deployment rolls out by itself; use resume if it is paused");
  }
  return withConflictRetry(
    conn,
    async () => {
      const rollout = await readObject<RolloutObject>(conn, "Rollout", target.namespace, target.name);
      const patches = promotePatches(rollout, options.full ?? false);
      let writes = 0;
      let specPatch = patches.spec;
      if (patches.status) {
        try {
          writes++;
          await patchObject(conn, "Rollout", target.namespace, target.name, "merge", patches.status, "status");
        } catch (error) {
          if (!(error instanceof RolloutClientError) || error.code !== "NOT_FOUND") throw error;
          specPatch = patches.unified;
        }
      }
      if (specPatch) {
        writes++;
        await patchObject(conn, "Rollout", target.namespace, target.name, "merge", specPatch);
      }
      return { writes };
      // A blue-green promote read again after an applied patch finds no pause condition and writes nothing more.
    },
    { redecideOnTransient: target.strategy === "blueGreen" },
  );
}
