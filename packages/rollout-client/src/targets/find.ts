/**
 * Finds a component's workload whatever drives it. A component named `web` may be a Rollout `web`, a Rollout whose
 * `workloadRef` names Deployment `web`, a Flagger Canary `web` or one targeting Deployment `web`, or a plain
 * Deployment `web`; Rollouts win over Canaries, which win over Deployments, because the first two own the third.
 */
import type { Connection } from "../connect.js";
import { RolloutClientError } from "../errors.js";
import {
  type CanaryObject,
  type DeploymentObject,
  type LabelSelector,
  type ListObject,
  type RolloutObject,
  resourcePath,
  selectorProblem,
} from "../resources.js";
import type { Strategy, Target } from "./target.js";

export async function findTarget(conn: Connection, component: string, namespace = conn.namespace): Promise<Target> {
  checkComponentName(component, namespace);
  const rollouts = await listIfServed<RolloutObject>(conn, resourcePath("Rollout", namespace), "Rollout", namespace);
  const rollout = rolloutOf(rollouts, component);
  if (rollout) return rolloutTarget(rollout, namespace);

  const canaries = await listIfServed<CanaryObject>(conn, resourcePath("Canary", namespace), "Canary", namespace);
  const canary = canaryOf(canaries, component);
  if (canary) {
    const target = await conn.request<DeploymentObject>({
      method: "GET",
      path: resourcePath("Deployment", namespace, canary.spec.targetRef.name),
      resource: { kind: "Deployment", name: canary.spec.targetRef.name, namespace },
    });
    return canaryTarget(canary, target, namespace);
  }

  try {
    const deployment = await conn.request<DeploymentObject>({
      method: "GET",
      path: resourcePath("Deployment", namespace, component),
      resource: { kind: "Deployment", name: component, namespace },
    });
    return deploymentTarget(deployment, namespace);
  } catch (error) {
    if (error instanceof RolloutClientError && error.code === "NOT_FOUND") {
      throw new RolloutClientError(
        "NOT_FOUND",
        "no Rollout, Flagger Canary or Deployment drives this component (looked for the name and for workloadRef/targetRef)",
        { resource: { kind: "component", name: component, namespace }, httpStatus: 404, cause: error },
      );
    }
    throw error;
  }
}

export function checkComponentName(component: string, namespace: string): void {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(component)) {
    throw new RolloutClientError(
      "INVALID",
      `"${component}" is not a valid object name (lower-case letters, digits, "-" and ".")`,
      { resource: { kind: "component", name: component, namespace } },
    );
  }
}

/** The Rollout named as the component, or the one whose workloadRef is the component's Deployment. */
export const rolloutOf = (rollouts: RolloutObject[], component: string): RolloutObject | undefined =>
  rollouts.find((r) => r.metadata.name === component) ??
  rollouts.find((r) => r.spec.workloadRef?.kind === "Deployment" && r.spec.workloadRef.name === component);

/** The Canary named as the component, or the one whose targetRef is the component's Deployment. */
export const canaryOf = (canaries: CanaryObject[], component: string): CanaryObject | undefined =>
  canaries.find((c) => c.metadata.name === component) ??
  canaries.find((c) => c.spec.targetRef.kind === "Deployment" && c.spec.targetRef.name === component);

/** Lists a kind, treating "this cluster does not serve the kind" (CRD not installed) as an empty list. */
export async function listIfServed<T>(conn: Connection, path: string, kind: string, namespace: string): Promise<T[]> {
  try {
    const list = await conn.request<ListObject<T>>({ method: "GET", path, resource: { kind, namespace } });
    return list.items ?? [];
  } catch (error) {
    if (error instanceof RolloutClientError && error.code === "NOT_FOUND") return [];
    throw error;
  }
}

/** The selector, or INVALID naming the object and the expression when the API server could not use it. */
function validSelector(
  selector: LabelSelector | undefined,
  resource: { kind: string; name: string; namespace: string },
): LabelSelector {
  const problem = selectorProblem(selector);
  if (problem) throw new RolloutClientError("INVALID", `spec.${problem}`, { resource });
  return selector ?? {};
}

export function rolloutTarget(rollout: RolloutObject, namespace: string): Target {
  const strategy: Strategy = rollout.spec.strategy?.blueGreen ? "blueGreen" : "canary";
  const ref = rollout.spec.workloadRef;
  if (ref && ref.kind !== "Deployment") {
    throw new RolloutClientError("INVALID", `workloadRef kind "${ref.kind}" is not supported; only Deployment is`, {
      resource: { kind: "Rollout", name: rollout.metadata.name, namespace },
    });
  }
  return {
    kind: "Rollout",
    name: rollout.metadata.name,
    namespace,
    strategy,
    workload: ref ? { kind: "Deployment", name: ref.name } : { kind: "Rollout", name: rollout.metadata.name },
    selector: validSelector(rollout.spec.selector, { kind: "Rollout", name: rollout.metadata.name, namespace }),
  };
}

export function canaryTarget(canary: CanaryObject, target: DeploymentObject, namespace: string): Target {
  const analysis = canary.spec.analysis ?? {};
  // Flagger's blue/green runs `iterations` without shifting weights; canary shifts with stepWeight(s)/maxWeight.
  const strategy: Strategy =
    analysis.iterations !== undefined && analysis.stepWeight === undefined && analysis.maxWeight === undefined
      ? "flaggerBlueGreen"
      : "flaggerCanary";
  return {
    kind: "Canary",
    name: canary.metadata.name,
    namespace,
    strategy,
    workload: { kind: "Deployment", name: canary.spec.targetRef.name },
    selector: validSelector(target.spec.selector, { kind: "Deployment", name: target.metadata.name, namespace }),
  };
}

export function deploymentTarget(deployment: DeploymentObject, namespace: string): Target {
  return {
    kind: "Deployment",
    name: deployment.metadata.name,
    namespace,
    strategy: deployment.spec.strategy?.type === "Recreate" ? "recreate" : "rollingUpdate",
    workload: { kind: "Deployment", name: deployment.metadata.name },
    selector: validSelector(deployment.spec.selector, {
      kind: "Deployment",
      name: deployment.metadata.name,
      namespace,
    }),
  };
}
