/**
 * undo: `rollout undo [--to-revision=N]`. Finds the ReplicaSet of that revision (0 = the one before the newest),
 * then sends a JSON patch replacing `spec.template` with its pod template minus the hash label:
 * - Rollout: the plugin's patch (cmd/undo/undo.go), to the Rollout, or to its workloadRef Deployment;
 * - Deployment: kubectl's patch (polymorphichelpers/rollback.go), which also replaces `metadata.annotations`;
 * - Canary: kubectl's Deployment undo on the target Deployment, which starts a new Flagger analysis.
 */
import type { Connection } from "../connect.js";
import { RolloutClientError } from "../errors.js";
import {
  DEPLOYMENT_HASH_LABEL,
  DEPLOYMENT_REVISION_ANNOTATION,
  type DeploymentObject,
  type PodTemplate,
  type ReplicaSetObject,
  ROLLOUT_HASH_LABEL,
  type RolloutObject,
} from "../resources.js";
import type { Target } from "../targets/target.js";
import { historyOwner, ownedReplicaSets, replicaSetRevision } from "./history.js";
import type { OperationResult } from "./promote.js";
import { clone, deepEqual, patchObject, withConflictRetry } from "./shared.js";

export const replaceTemplatePatch = (template: PodTemplate) => [
  { op: "replace", path: "/spec/template", value: template },
];
export const replaceTemplateAndAnnotationsPatch = (template: PodTemplate, annotations: Record<string, string>) => [
  { op: "replace", path: "/spec/template", value: template },
  { op: "replace", path: "/metadata/annotations", value: annotations },
];

/** Deployment annotations kubectl keeps from the Deployment rather than copying from the ReplicaSet. */
export const ANNOTATIONS_TO_SKIP = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  DEPLOYMENT_REVISION_ANNOTATION,
  "deployment.kubernetes.io/revision-history",
  "deployment.kubernetes.io/desired-replicas",
  "deployment.kubernetes.io/max-replicas",
  "deprecated.deployment.rollback.to",
]);

export interface UndoOptions {
  /** The revision to go back to; 0 or unset means the previous one, as in `--to-revision`. */
  toRevision?: number;
}

export interface UndoResult extends OperationResult {
  /** The revision whose template was restored. */
  revision: number;
  /** True when the workload already ran that template and nothing was sent. */
  skipped: boolean;
}

/** `rolloutRevision` / `deploymentRevision`: the ReplicaSet for `toRevision`, or the second newest for 0. */
export function replicaSetForRevision(
  replicaSets: ReplicaSetObject[],
  kind: "Rollout" | "Deployment",
  toRevision: number,
): ReplicaSetObject | undefined {
  let latest: { rs: ReplicaSetObject; revision: number } | undefined;
  let previous: { rs: ReplicaSetObject; revision: number } | undefined;
  for (const rs of replicaSets) {
    const revision = replicaSetRevision(rs, kind) ?? 0;
    if (toRevision > 0) {
      if (revision === toRevision) return rs;
      continue;
    }
    if (!latest || latest.revision < revision) {
      previous = latest;
      latest = { rs, revision };
    } else if (!previous || previous.revision < revision) {
      previous = { rs, revision };
    }
  }
  return toRevision > 0 ? undefined : previous?.rs;
}

export async function undo(conn: Connection, target: Target, options: UndoOptions = {}): Promise<UndoResult> {
  const toRevision = options.toRevision ?? 0;
  if (!Number.isInteger(toRevision) || toRevision < 0) {
    throw new RolloutClientError("INVALID", `toRevision must be a whole number >= 0, got ${toRevision}`, {
      resource: { kind: target.kind, name: target.name, namespace: target.namespace },
    });
  }
  return withConflictRetry(conn, async () => {
    const { owner, kind } = await historyOwner(conn, target);
    const replicaSets = await ownedReplicaSets(conn, owner, target.namespace);
    const rs = replicaSetForRevision(replicaSets, kind, toRevision);
    const resource = { kind, name: owner.metadata.name, namespace: target.namespace };
    if (!rs) {
      throw new RolloutClientError(
        "NOT_FOUND",
        toRevision > 0
          ? `unable to find revision ${toRevision} in history (known: ${knownRevisions(replicaSets, kind)})`
          : "no previous revision to roll back to",
        { resource },
      );
    }
    const revision = replicaSetRevision(rs, kind) ?? 0;
    const hashLabel = kind === "Rollout" ? ROLLOUT_HASH_LABEL : DEPLOYMENT_HASH_LABEL;
    const template = withoutLabel(rs.spec.template ?? {}, hashLabel);

    if (kind === "Rollout") {
      const rollout = owner as RolloutObject;
      const current = rollout.spec.template;
      if (current && isDerivative(withoutLabel(current, hashLabel), template)) {
        return { writes: 0, revision, skipped: true };
      }
      if (rollout.spec.workloadRef) {
        await patchObject(
          conn,
          "Deployment",
          target.namespace,
          rollout.spec.workloadRef.name,
          "json",
          replaceTemplatePatch(template),
        );
      } else {
        await patchObject(
          conn,
          "Rollout",
          target.namespace,
          rollout.metadata.name,
          "json",
          replaceTemplatePatch(template),
        );
      }
      return { writes: 1, revision, skipped: false };
    }

    const deployment = owner as DeploymentObject;
    if (deployment.spec.paused) {
      throw new RolloutClientError(
        "INVALID",
        "you cannot roll back a paused Deployment; resume it first and try again",
        { resource },
      );
    }
    if (deepEqual(withoutLabel(deployment.spec.template ?? {}, hashLabel), template)) {
      return { writes: 0, revision, skipped: true };
    }
    const annotations: Record<string, string> = {};
    for (const [key, value] of Object.entries(deployment.metadata.annotations ?? {})) {
      if (ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
    }
    for (const [key, value] of Object.entries(rs.metadata.annotations ?? {})) {
      if (!ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
    }
    await patchObject(
      conn,
      "Deployment",
      target.namespace,
      deployment.metadata.name,
      "json",
      replaceTemplateAndAnnotationsPatch(template, annotations),
    );
    return { writes: 1, revision, skipped: false };
  });
}

function withoutLabel(template: PodTemplate, label: string): PodTemplate {
  const copy = clone(template);
  if (copy.metadata?.labels) delete copy.metadata.labels[label];
  return copy;
}

/** apimachinery's `Semantic.DeepDerivative`: every field set in `a` equals the one in `b`; unset ones are ignored. */
function isDerivative(a: unknown, b: unknown): boolean {
  if (a === undefined || a === null || a === "" || a === 0 || a === false) return true;
  if (Array.isArray(a)) {
    if (a.length === 0) return true;
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => isDerivative(v, b[i]));
  }
  if (typeof a === "object") {
    if (typeof b !== "object" || b === null || Array.isArray(b)) return false;
    return Object.entries(a as Record<string, unknown>).every(([k, v]) =>
      isDerivative(v, (b as Record<string, unknown>)[k]),
    );
  }
  return a === b;
}

function knownRevisions(replicaSets: ReplicaSetObject[], kind: "Rollout" | "Deployment"): string {
  const revisions = replicaSets
    .map((rs) => replicaSetRevision(rs, kind))
    .filter((r): r is number => r !== undefined)
    .sort((a, b) => a - b);
  return revisions.length > 0 ? revisions.join(", ") : "none";
}
