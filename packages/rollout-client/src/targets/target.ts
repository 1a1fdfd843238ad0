/** A component's workload, found once and then passed to every operation. */
import type { LabelSelector } from "../resources.js";

/**
 * - blueGreen / canary: an Argo Rollout's strategy;
 * - rollingUpdate / recreate: a plain Deployment's;
 * - flaggerCanary / flaggerBlueGreen: a Flagger Canary doing progressive traffic shifting or a fixed number of
 *   iterations without traffic shifting (Flagger's blue/green).
 */
export type Strategy = "blueGreen" | "canary" | "rollingUpdate" | "recreate" | "flaggerCanary" | "flaggerBlueGreen";

export interface Target {
  /** The object rollway drives: a Rollout, a Flagger Canary or a Deployment. */
  kind: "Rollout" | "Deployment" | "Canary";
  name: string;
  namespace: string;
  strategy: Strategy;
  /**
   * The object that holds the pod template, where images are set: the Rollout itself, the Deployment a Rollout's
   * `workloadRef` names, the Deployment a Canary targets, or the Deployment.
   */
  workload: { kind: "Rollout" | "Deployment"; name: string };
  /** The pod selector of the pods this target runs (for Canaries, of the target Deployment). */
  selector: LabelSelector;
}
