/**
 * The engine's writes of pod templates, through rollout-client's `setTemplate` (the operation every caller uses):
 * setting a component's image and oConfig ConfigMap for a release, and putting back a whole template (abort,
 * rollback) byte for byte. rollout-client maps the target to the object holding the template (a Rollout, the
 * Deployment a Rollout's workloadRef names, a Flagger Canary's target Deployment, a Deployment) and writes it as one
 * read-modify-write merge patch with the resourceVersion: a 409 reads again and decides again; transient refusals
 * (429, 5xx, a reset connection) are retried by rollout-client's transport before the caller sees them.
 */
import { referenceConfigMap } from "@rollway/oconfig-versioning";
import type { RolloutClient, Target } from "@rollway/rollout-client";
import type { PodTemplate } from "./cluster-state.js";
import type { ComponentPlan } from "./plan.js";

/** The write that sets a pod template: rollout-client's optimistic merge patch. */
export { setTemplatePatch as templatePatch } from "@rollway/rollout-client";

export interface TemplateWriter {
  /** Sets the container's image and, when given, the oConfig ConfigMap it mounts. False when nothing changed. */
  write(
    target: Target,
    c: ComponentPlan,
    image: string | undefined,
    config: { configMap: string; mountPath: string } | undefined,
    replicas?: number,
  ): Promise<boolean>;
  /** Puts `template` back whole: keys the template lacks are removed, so the result is `template` byte for byte. */
  put(target: Target, template: PodTemplate, replicas?: number): Promise<boolean>;
}

export function templateWriter(client: RolloutClient): TemplateWriter {
  const options = (replicas: number | undefined) => (replicas === undefined ? {} : { replicas });
  return {
    async write(target, c, image, config, replicas) {
      const result = await client.setTemplate(
        target,
        (before) => {
          // rollout-client hands over its own copy of the template read: changed in place.
          let next = before as PodTemplate;
          for (const container of next.spec?.containers ?? [])
            if (container.name === c.container && image) container.image = image;
          if (config)
            next = referenceConfigMap(next as never, {
              configMapName: config.configMap,
              container: c.container,
              mountPath: config.mountPath,
              service: c.name,
            }) as PodTemplate;
          return next;
        },
        options(replicas),
      );
      return result.writes > 0;
    },
    async put(target, template, replicas) {
      const result = await client.setTemplate(target, template, options(replicas));
      return result.writes > 0;
    },
  };
}
