/**
 * The targets of many components of one namespace at once, for callers that look up a whole environment (a plan, the
 * start of a release): one LIST of Rollouts and one of Canaries for all of them, instead of those two lists per
 * component that `findTarget` makes, and the Rollouts themselves, so the caller reads them no second time. The rules
 * are findTarget's: Rollouts win over Canaries, which win over Deployments.
 */
import type { Connection } from "../connect.js";
import { hasHttpStatus } from "../errors.js";
import { type CanaryObject, type DeploymentObject, type RolloutObject, resourcePath } from "../resources.js";
import {
  canaryOf,
  canaryTarget,
  checkComponentName,
  deploymentTarget,
  listIfServed,
  rolloutOf,
  rolloutTarget,
} from "./find.js";
import type { Target } from "./target.js";

export interface FoundTargets {
  /** The target of each component found. A component nothing drives is left out: `findTarget` says why. */
  targets: Map<string, Target>;
  /** Every Rollout of the namespace, as listed (their status included). */
  rollouts: RolloutObject[];
}

export async function findTargets(
  conn: Connection,
  components: readonly string[],
  namespace = conn.namespace,
): Promise<FoundTargets> {
  for (const component of components) checkComponentName(component, namespace);
  const targets = new Map<string, Target>();
  const rollouts = await listIfServed<RolloutObject>(conn, resourcePath("Rollout", namespace), "Rollout", namespace);
  const rest: string[] = [];
  for (const component of components) {
    const rollout = rolloutOf(rollouts, component);
    if (rollout) targets.set(component, rolloutTarget(rollout, namespace));
    else rest.push(component);
  }
  const canaries =
    rest.length > 0
      ? await listIfServed<CanaryObject>(conn, resourcePath("Canary", namespace), "Canary", namespace)
      : [];
  await Promise.all(
    rest.map(async (component) => {
      const canary = canaryOf(canaries, component);
      const name = canary ? canary.spec.targetRef.name : component;
      const deployment = await conn
        .request<DeploymentObject>({
          method: "GET",
          path: resourcePath("Deployment", namespace, name),
          resource: { kind: "Deployment", name, namespace },
        })
        .catch((error: unknown) => {
          if (hasHttpStatus(error, 404)) return undefined;
          throw error;
        });
      if (!deployment) return;
      targets.set(
        component,
        canary ? canaryTarget(canary, deployment, namespace) : deploymentTarget(deployment, namespace),
      );
    }),
  );
  return { targets, rollouts };
}
