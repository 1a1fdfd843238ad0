/**
 * The engine's writes of pod templates: setting a component's image and oConfig ConfigMap for a release, and
 * putting back a whole template (abort, rollback) byte for byte. Both are read-modify-write with the
 * resourceVersion (a 409 reads again); transient refusals (429, 5xx, a reset connection) are retried with backoff
 * on the engine's clock before the caller sees them.
 */
import { referenceConfigMap } from "@rollway/oconfig-versioning";
import type { Clock } from "./clock.js";
import type { PodTemplate, WorkloadObject } from "./cluster-state.js";
import { ReleaseError } from "./errors.js";
import { isStatus, type KubeApi, paths } from "./kube-api.js";
import type { ComponentPlan } from "./plan.js";
import { templateKey } from "./served.js";

/** The write that sets a pod template (and, for a recreate migration, the replicas), with optimistic locking. */
export const templatePatch = (resourceVersion: string | undefined, template: PodTemplate, replicas?: number) => ({
  metadata: { resourceVersion },
  spec: { template, ...(replicas === undefined ? {} : { replicas }) },
});

const TRANSIENT_ATTEMPTS = 5;

/** Whether an error is worth another try: throttled, a server error, or no answer at all. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof ReleaseError) || error.code !== "CLUSTER") return false;
  const status = error.httpStatus;
  return status === undefined || status === 0 || status === 429 || status >= 500;
}

/** Runs `fn`, again after 409 (at once) and after transient errors (backoff 0.5, 1, 2, 4 s on the clock). */
export async function withRetries<T>(clock: Clock, fn: () => Promise<T>): Promise<T> {
  let transient = 0;
  for (let conflicts = 0; ; ) {
    try {
      return await fn();
    } catch (error) {
      if (isStatus(error, 409) && conflicts++ < 5) continue;
      if (isTransient(error) && ++transient < TRANSIENT_ATTEMPTS) {
        await new Promise<void>((resolve) => clock.setTimer(250 * 2 ** transient, resolve));
        continue;
      }
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

export function templateWriter(api: KubeApi, clock: Clock): TemplateWriter {
  const change = (ns: string, c: ComponentPlan, next: (before: PodTemplate) => PodTemplate, replicas?: number) => {
    const path = paths.workload(ns, c.workload.kind, c.workload.name);
    const what = `${c.workload.kind} "${c.workload.name}"`;
    return withRetries(clock, async () => {
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

/**
 * The engine's KubeApi with reads retried on transient errors (a 429, a 5xx, a connection reset: a keep-alive
 * socket the server closed is the common one). Writes are not: a retried POST could answer 409 for its own first
 * try; the writes that are safe to repeat (PUT with a resourceVersion) retry in `withRetries` themselves.
 */
export function retryingReads(api: KubeApi, clock: Clock): KubeApi {
  return {
    get namespace() {
      return api.namespace;
    },
    get connection() {
      return api.connection;
    },
    request: <T>(spec: Parameters<KubeApi["request"]>[0]) =>
      spec.method === "GET" ? withRetries(clock, () => api.request<T>(spec)) : api.request<T>(spec),
    watch: (path, query, what, signal) => api.watch(path, query, what, signal),
    close: () => api.close(),
  };
}
