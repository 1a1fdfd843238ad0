/**
 * abort and retry: what `kubectl argo rollouts abort|retry rollout` sends (cmd/abort/abort.go, cmd/retry/retry.go),
 * to the status subresource first and to the resource when that answers 404. For a Flagger Canary, abort opens the
 * rollback gate, which makes Flagger roll back at its next check.
 */
import type { Connection } from "../connect.js";
import { RolloutClientError } from "../errors.js";
import type { Target } from "../targets/target.js";
import { canaryGate } from "./flagger-gate.js";
import type { OperationResult } from "./promote.js";
import { patchObject, unsupported, withConflictRetry } from "./shared.js";

export const abortPatch = { status: { abort: true } };
export const retryRolloutPatch = { status: { abort: false } };

export async function abort(conn: Connection, target: Target): Promise<OperationResult> {
  if (target.kind === "Canary") return canaryGate(conn, target, "rollback", "open");
  if (target.kind === "Deployment") {
    throw unsupported(target, "abort", "a Deployment cannot be aborted; use undo to go back to a revision");
  }
  return statusPatchWithFallback(conn, target, abortPatch);
}

export async function retry(conn: Connection, target: Target): Promise<OperationResult> {
  if (target.kind !== "Rollout") {
    throw unsupported(target, "retry", "only an aborted Argo Rollout can be retried");
  }
  return statusPatchWithFallback(conn, target, retryRolloutPatch);
}

async function statusPatchWithFallback(conn: Connection, target: Target, patch: object): Promise<OperationResult> {
  // `abort: true` (or false) twice is the same as once: sent again after a 5xx or a cut connection.
  return withConflictRetry(
    conn,
    async () => {
      try {
        await patchObject(conn, "Rollout", target.namespace, target.name, "merge", patch, "status");
        return { writes: 1 };
      } catch (error) {
        if (!(error instanceof RolloutClientError) || error.code !== "NOT_FOUND") throw error;
        await patchObject(conn, "Rollout", target.namespace, target.name, "merge", patch);
        return { writes: 2 };
      }
    },
    { redecideOnTransient: true },
  );
}
