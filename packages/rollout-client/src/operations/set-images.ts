/**
 * setImages and setPodTemplate: one write per workload.
 * - Deployment (also a Rollout's workloadRef and a Canary's target): the strategic merge patch `kubectl set image`
 *   computes, naming containers by their merge key and keeping their order with `$setElementOrder`.
 * - Rollout: a CRD takes no strategic merge patch, and a merge patch replaces lists whole; so, as the plugin's
 *   `set image` does with an Update, we send the full container lists with `metadata.resourceVersion`, which makes
 *   a concurrent change answer 409 Conflict, and then we read again and retry.
 * Pod template changes (annotations, env, config references) are sent as a merge-patch diff with the
 * resourceVersion, for both kinds.
 */
import type { Connection } from "../connect.js";
import { RolloutClientError } from "../errors.js";
import type { Container, KubeObject, PodTemplate } from "../resources.js";
import type { Target } from "../targets/target.js";
import type { OperationResult } from "./promote.js";
import { clone, createMergePatch, deepEqual, patchObject, readObject, withConflictRetry } from "./shared.js";

type ContainerList = "initContainers" | "containers";
const CONTAINER_LISTS: ContainerList[] = ["initContainers", "containers"];

export const setImageStrategicPatch = (
  lists: Partial<Record<ContainerList, Container[]>>,
  order: Partial<Record<ContainerList, Container[]>>,
) => {
  const spec: Record<string, unknown> = {};
  for (const list of CONTAINER_LISTS) {
    const changed = lists[list];
    if (!changed) continue;
    spec[`$setElementOrder/${list}`] = (order[list] ?? []).map((c) => ({ name: c.name }));
    spec[list] = changed.map((c) => ({ image: c.image, name: c.name }));
  }
  return { spec: { template: { spec } } };
};

export const optimisticTemplatePatch = (resourceVersion: string | undefined, templatePatch: unknown) => ({
  metadata: { resourceVersion },
  spec: { template: templatePatch },
});

interface WorkloadObject extends KubeObject {
  spec: { template?: PodTemplate };
}

/** `images` maps a container name (or `*` for every container) to the image it should run. */
export async function setImages(
  conn: Connection,
  target: Target,
  images: Record<string, string>,
): Promise<OperationResult> {
  const { kind, name } = target.workload;
  const resource = { kind, name, namespace: target.namespace };
  const entries = Object.entries(images);
  if (entries.length === 0) throw new RolloutClientError("INVALID", "no image to set", { resource });
  for (const [container, image] of entries) {
    if (!image || /\s/.test(image)) {
      throw new RolloutClientError(
        "INVALID",
        `the image for container "${container}" is empty or has spaces: "${image}"`,
        {
          resource,
        },
      );
    }
  }
  return withConflictRetry(
    conn,
    async () => {
      const workload = await readObject<WorkloadObject>(conn, kind, target.namespace, name);
      const template = workload.spec.template ?? {};
      const updated = clone(template);
      const changed: Partial<Record<ContainerList, Container[]>> = {};
      const found = new Set<string>();
      for (const list of CONTAINER_LISTS) {
        for (const container of updated.spec?.[list] ?? []) {
          const image = images[container.name] ?? images["*"];
          if (image === undefined) continue;
          found.add(images[container.name] !== undefined ? container.name : "*");
          if (container.image === image) continue;
          container.image = image;
          changed[list] = [...(changed[list] ?? []), container];
        }
      }
      const missing = Object.keys(images).filter((c) => !found.has(c));
      if (missing.length > 0) {
        const known = CONTAINER_LISTS.flatMap((l) => (template.spec?.[l] ?? []).map((c) => c.name));
        throw new RolloutClientError(
          "INVALID",
          `unable to find container${missing.length > 1 ? "s" : ""} named ${missing.map((m) => `"${m}"`).join(", ")} (the pod template has: ${known.join(", ") || "no containers"})`,
          { resource },
        );
      }
      if (Object.keys(changed).length === 0) return { writes: 0 };
      if (kind === "Deployment") {
        const order = { initContainers: template.spec?.initContainers, containers: template.spec?.containers };
        await patchObject(conn, kind, target.namespace, name, "strategic", setImageStrategicPatch(changed, order));
      } else {
        const templatePatch: Record<string, unknown> = {};
        for (const list of CONTAINER_LISTS) if (changed[list]) templatePatch[list] = updated.spec?.[list];
        await patchObject(
          conn,
          kind,
          target.namespace,
          name,
          "merge",
          optimisticTemplatePatch(workload.metadata.resourceVersion, { spec: templatePatch }),
        );
      }
      return { writes: 1 };
      // Read again after a failed write: the images already set mean nothing more to write.
    },
    { redecideOnTransient: true },
  );
}

/** A change to the pod template. `null` removes an entry. */
export interface PodTemplateChange {
  /** Pod template annotations, e.g. a config checksum that makes the controllers roll out a new version. */
  annotations?: Record<string, string | null>;
  /** Environment variables by container name. */
  env?: Record<string, Record<string, string | null>>;
  /** Volumes whose ConfigMap to switch: volume name → ConfigMap name (e.g. `oconfig` → `web-oconfig-v2`). */
  configMaps?: Record<string, string>;
  /** Volumes whose Secret to switch: volume name → Secret name. */
  secrets?: Record<string, string>;
}

export function applyPodTemplateChange(
  template: PodTemplate,
  change: PodTemplateChange,
  resource: { kind: string; name: string; namespace: string },
): PodTemplate {
  const next = clone(template);
  if (change.annotations) {
    next.metadata ??= {};
    const annotations: Record<string, string> = {};
    const set = (key: string, value: string) =>
      Object.defineProperty(annotations, key, { value, enumerable: true, writable: true, configurable: true });
    for (const [key, value] of Object.entries(next.metadata.annotations ?? {})) set(key, value);
    for (const [key, value] of Object.entries(change.annotations)) {
      if (value === null) delete annotations[key];
      else set(key, value);
    }
    next.metadata.annotations = annotations;
  }
  for (const [containerName, vars] of Object.entries(change.env ?? {})) {
    const container = [...(next.spec?.initContainers ?? []), ...(next.spec?.containers ?? [])].find(
      (c) => c.name === containerName,
    );
    if (!container) {
      throw new RolloutClientError("INVALID", `unable to find container named "${containerName}" to set env on`, {
        resource,
      });
    }
    let env = [...((container.env as { name: string; value?: string }[] | undefined) ?? [])];
    for (const [key, value] of Object.entries(vars)) {
      env = env.filter((e) => e.name !== key || value !== null);
      if (value === null) continue;
      const existing = env.find((e) => e.name === key);
      if (existing) {
        for (const field of Object.keys(existing))
          if (field !== "name") delete (existing as Record<string, unknown>)[field];
        existing.value = value;
      } else env.push({ name: key, value });
    }
    container.env = env;
  }
  const volumes =
    (next.spec?.volumes as
      | { name: string; configMap?: { name: string }; secret?: { secretName: string } }[]
      | undefined) ?? [];
  for (const [volumeName, configMap] of Object.entries(change.configMaps ?? {})) {
    const volume = volumes.find((v) => v.name === volumeName);
    if (!volume?.configMap) {
      throw new RolloutClientError("INVALID", `the pod template has no ConfigMap volume named "${volumeName}"`, {
        resource,
      });
    }
    volume.configMap.name = configMap;
  }
  for (const [volumeName, secret] of Object.entries(change.secrets ?? {})) {
    const volume = volumes.find((v) => v.name === volumeName);
    if (!volume?.secret) {
      throw new RolloutClientError("INVALID", `the pod template has no Secret volume named "${volumeName}"`, {
        resource,
      });
    }
    volume.secret.secretName = secret;
  }
  return next;
}

export async function setPodTemplate(
  conn: Connection,
  target: Target,
  change: PodTemplateChange,
): Promise<OperationResult> {
  const { kind, name } = target.workload;
  const resource = { kind, name, namespace: target.namespace };
  return withConflictRetry(conn, async () => {
    const workload = await readObject<WorkloadObject>(conn, kind, target.namespace, name);
    const template = workload.spec.template ?? {};
    const next = applyPodTemplateChange(template, change, resource);
    if (deepEqual(template, next)) return { writes: 0 };
    await patchObject(
      conn,
      kind,
      target.namespace,
      name,
      "merge",
      optimisticTemplatePatch(workload.metadata.resourceVersion, createMergePatch(template, next)),
    );
    return { writes: 1 };
  });
}

/** What `setTemplate` writes: the whole pod template, or a function from the current one to the next. */
export type TemplateEdit = PodTemplate | ((current: PodTemplate) => PodTemplate);

export interface SetTemplateOptions {
  /** Also set `spec.replicas` in the same write (a recreate migration scales to zero, then back). */
  replicas?: number;
  /**
   * Write only if the workload is still at this resourceVersion (the one the caller read the template at); a change
   * since answers CONFLICT, and is not retried. Without it, a conflict is retried from a fresh read.
   */
  resourceVersion?: string;
}

export interface SetTemplateResult extends OperationResult {
  /** The template before the write, as it was in the workload's spec. */
  before: PodTemplate;
  /** The template after the write (the same as before when nothing had to change). */
  after: PodTemplate;
  /** The workload's resourceVersion after the write. */
  resourceVersion: string | undefined;
}

/**
 * The body of `setTemplate`: the RFC 7386 diff from the current template to the next (keys the next template lacks
 * become null, so a volume or annotation removed is really removed, lists are replaced whole) with the
 * resourceVersion precondition, and `spec.replicas` when given.
 */
export const setTemplatePatch = (
  resourceVersion: string | undefined,
  current: PodTemplate,
  next: PodTemplate,
  replicas?: number,
) => ({
  metadata: { resourceVersion },
  spec: {
    ...(deepEqual(current, next) ? {} : { template: createMergePatch(current, next) }),
    ...(replicas === undefined ? {} : { replicas }),
  },
});

/**
 * Sets the whole pod template of a target's workload (the Rollout, the `workloadRef` Deployment, the Canary's target
 * Deployment, or the Deployment) in one optimistic write: containers, volumes (an oConfig ConfigMap), annotations,
 * everything. The result is the template given, byte for byte: what abort and rollback need to bring back exactly
 * what users had.
 */
export async function setTemplate(
  conn: Connection,
  target: Target,
  edit: TemplateEdit,
  options: SetTemplateOptions = {},
): Promise<SetTemplateResult> {
  const { kind, name } = target.workload;
  const step = async (): Promise<SetTemplateResult> => {
    const workload = await readObject<WorkloadObject & { spec: { replicas?: number } }>(
      conn,
      kind,
      target.namespace,
      name,
    );
    const rv = options.resourceVersion ?? workload.metadata.resourceVersion;
    if (options.resourceVersion !== undefined && workload.metadata.resourceVersion !== options.resourceVersion) {
      throw new RolloutClientError(
        "CONFLICT",
        `changed since it was read (resourceVersion ${options.resourceVersion}, now ${workload.metadata.resourceVersion}); read it again and decide`,
        { resource: { kind, name, namespace: target.namespace }, httpStatus: 409, reason: "Conflict" },
      );
    }
    const before = workload.spec.template ?? {};
    const after = typeof edit === "function" ? edit(clone(before)) : clone(edit);
    const sameReplicas = options.replicas === undefined || options.replicas === workload.spec.replicas;
    if (deepEqual(before, after) && sameReplicas) {
      return { writes: 0, before, after: before, resourceVersion: workload.metadata.resourceVersion };
    }
    const written = await patchObject<WorkloadObject>(
      conn,
      kind,
      target.namespace,
      name,
      "merge",
      setTemplatePatch(rv, before, after, options.replicas),
    );
    return {
      writes: 1,
      before,
      after: written.spec.template ?? after,
      resourceVersion: written.metadata.resourceVersion,
    };
  };
  return options.resourceVersion === undefined ? withConflictRetry(conn, step) : step();
}
