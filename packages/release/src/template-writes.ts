/**
 * The engine's writes of pod templates: setting a component's image and oConfig ConfigMap for a release, and
 * putting back a whole template (abort, rollback) byte for byte. Both are read-modify-write with the
 * resourceVersion (a 409 reads again); transient refusals (429, 5xx, a reset connection) are retried by
 * rollout-client's transport before the caller sees them.
 */
import { referenceConfigMap } from "@rollway/oconfig-versioning";
import type { PodTemplate, WorkloadObject } from "./cluster-state.js";
import { isStatus, type KubeApi, paths } from "./kube-api.js";
import type { ComponentPlan } from "./plan.js";
import { templateKey } from "./served.js";

/** The write that sets a pod template (and, for a recreate migration, the replicas), with optimistic locking. */
export const templatePatch = (resourceVersion: string | undefined, template: PodTemplate, replicas?: number) => ({
  metadata: { resourceVersion },
  spec: { template, ...(replicas === undefined ? {} : { replicas }) },
});

/**
 * Runs a read-decide-write `fn` again from a fresh read when its write answers 409 (the object changed since the
 * read), up to 5 times. Transient errors (429, 5xx, a cut connection) are retried inside rollout-client's transport
 * (a PUT carrying its resourceVersion is safe to send twice), so they are not retried here.
 */
export async function onConflictReadAgain<T>(fn: () => Promise<T>): Promise<T> {
  for (let conflicts = 0; ; ) {
    try {
      return await fn();
    } catch (error) {
      if (isStatus(error, 409) && conflicts++ < 5) continue;
      throw error;
    }
  }
}

export interface TemplateWriter {
  /** Sets the container's image and, when given, the oConfig ConfigMap it mounts. False when nothing changed. */
  write(
    ns: string,
    c: ComponentPlan,
    image: string | undefined,
    config: { configMap: string; mountPath: string } | undefined,
    replicas?: number,
  ): Promise<boolean>;
  /** Puts `template` back whole (a PUT with the resourceVersion: keys the template lacks go too). */
  put(ns: string, c: ComponentPlan, template: PodTemplate, replicas?: number): Promise<boolean>;
}

export function templateWriter(api: KubeApi): TemplateWriter {
  const change = (ns: string, c: ComponentPlan, next: (before: PodTemplate) => PodTemplate, replicas?: number) => {
    const path = paths.workload(ns, c.workload.kind, c.workload.name);
    const what = `${c.workload.kind} "${c.workload.name}"`;
    return onConflictReadAgain(async () => {
      const object = await api.request<WorkloadObject & Record<string, unknown>>({ method: "GET", path, what });
      const before = object.spec.template ?? {};
      const after = next(before);
      if (templateKey(after) === templateKey(before) && (replicas === undefined || replicas === object.spec.replicas))
        return false;
      await api.request({
        method: "PUT",
        path,
        body: {
          ...object,
          spec: { ...object.spec, template: after, ...(replicas === undefined ? {} : { replicas }) },
        },
        what,
      });
      return true;
    });
  };
  return {
    write: (ns, c, image, config, replicas) =>
      change(
        ns,
        c,
        (before) => {
          let next = structuredClone(before);
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
        replicas,
      ),
    put: (ns, c, template, replicas) => change(ns, c, () => structuredClone(template), replicas),
  };
}
