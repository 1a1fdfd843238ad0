/**
 * pause, resume and restart. Rollouts: the plugin's merge patches (cmd/pause/pause.go, cmd/restart/restart.go; the
 * plugin has no resume any more, `{"spec":{"paused":false}}` is what its promote sends for a manual pause).
 * Deployments: the strategic merge patches `kubectl rollout pause|resume|restart` compute (objectpauser.go,
 * objectresumer.go, objectrestarter.go). A Canary is restarted through its target Deployment, as Flagger expects.
 */
import type { Connection } from "../connect.js";
import type { Target } from "../targets/target.js";
import type { OperationResult } from "./promote.js";
import { patchObject, rfc3339, unsupported } from "./shared.js";

export const pausePatch = { spec: { paused: true } };
export const resumePatch = { spec: { paused: false } };
export const deploymentPausePatch = { spec: { paused: true } };
/** `paused` is `omitempty` in apps/v1: kubectl's two-way diff from true to false deletes the field. */
export const deploymentResumePatch = { spec: { paused: null } };
export const restartPatch = (at: string) => ({ spec: { restartAt: at } });
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";
export const deploymentRestartPatch = (at: string) => ({
  spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } },
});

export async function pause(conn: Connection, target: Target): Promise<OperationResult> {
  if (target.kind === "Rollout") {
    await patchObject(conn, "Rollout", target.namespace, target.name, "merge", pausePatch);
  } else if (target.kind === "Deployment") {
    await patchObject(conn, "Deployment", target.namespace, target.name, "strategic", deploymentPausePatch);
  } else {
    throw unsupported(target, "pause", "Flagger Canaries wait at their confirm-rollout and confirm-promotion gates");
  }
  return { writes: 1 };
}

export async function resume(conn: Connection, target: Target): Promise<OperationResult> {
  if (target.kind === "Rollout") {
    await patchObject(conn, "Rollout", target.namespace, target.name, "merge", resumePatch);
  } else if (target.kind === "Deployment") {
    await patchObject(conn, "Deployment", target.namespace, target.name, "strategic", deploymentResumePatch);
  } else {
    throw unsupported(target, "resume", "open the Canary's gate with promote instead");
  }
  return { writes: 1 };
}

export async function restart(conn: Connection, target: Target): Promise<OperationResult> {
  const at = rfc3339(new Date(conn.clock.now()));
  if (target.kind === "Rollout") {
    await patchObject(conn, "Rollout", target.namespace, target.name, "merge", restartPatch(at));
  } else {
    await patchObject(
      conn,
      "Deployment",
      target.namespace,
      target.workload.name,
      "strategic",
      deploymentRestartPatch(at),
    );
  }
  return { writes: 1 };
}
