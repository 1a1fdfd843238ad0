/**
 * Points a pod template at an oConfig ConfigMap. We mount it as a volume (a directory holding
 * `oConfig.json`) rather than `envFrom`: the config is one JSON document, not a set of environment variables;
 * its keys such as `sc.production` are not portable variable names; and a file has no size limit per variable.
 * Changing the ConfigMap name changes the template, which is what makes Rollouts and Deployments start new pods.
 */
import { OConfigError } from "./errors.js";
import { OCONFIG_DATA_KEY } from "./render.js";

/** The volume rollway owns in every pod template it wires; replaced, never duplicated. */
export const OCONFIG_VOLUME_NAME = "rollway-oconfig";
export const DEFAULT_OCONFIG_MOUNT_PATH = "/etc/rollway/oconfig";

interface Named {
  name: string;
  [key: string]: unknown;
}

export interface ContainerLike extends Named {
  volumeMounts?: Named[];
}

/** The part of a Kubernetes PodTemplateSpec this package reads and writes; other fields are kept as they are. */
export interface PodTemplateLike {
  metadata?: Record<string, unknown>;
  spec?: {
    containers: ContainerLike[];
    volumes?: Named[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface ReferenceConfigMapOptions {
  configMapName: string;
  /** The container that reads the config. */
  container: string;
  /** Where the directory holding `oConfig.json` is mounted. Default `/etc/rollway/oconfig`. */
  mountPath?: string;
  /** Named in errors. */
  service?: string;
}

/**
 * Returns a copy of `template` whose `container` mounts `configMapName` read-only at `mountPath`; the input is
 * not modified. Throws an OConfigError (CONTAINER_NOT_FOUND) naming the containers there are.
 */
export function referenceConfigMap<T extends PodTemplateLike>(template: T, options: ReferenceConfigMapOptions): T {
  const copy = structuredClone(template);
  const containers = copy.spec?.containers ?? [];
  const container = containers.find((c) => c.name === options.container);
  if (!copy.spec || !container) {
    const names = containers.map((c) => `"${c.name}"`).join(", ");
    throw new OConfigError([
      {
        code: "CONTAINER_NOT_FOUND",
        service: options.service ?? options.container,
        path: [],
        message: `the pod template has no container "${options.container}"${names ? ` (it has ${names})` : " (it has no containers)"}; set the component's container name`,
      },
    ]);
  }
  const volume = {
    name: OCONFIG_VOLUME_NAME,
    configMap: { name: options.configMapName, items: [{ key: OCONFIG_DATA_KEY, path: OCONFIG_DATA_KEY }] },
  };
  const mount = {
    name: OCONFIG_VOLUME_NAME,
    mountPath: options.mountPath ?? DEFAULT_OCONFIG_MOUNT_PATH,
    readOnly: true,
  };
  copy.spec.volumes = [...(copy.spec.volumes ?? []).filter((v) => v.name !== OCONFIG_VOLUME_NAME), volume];
  container.volumeMounts = [...(container.volumeMounts ?? []).filter((m) => m.name !== OCONFIG_VOLUME_NAME), mount];
  return copy;
}

/** The oConfig ConfigMap a pod template references, if any: what GC must keep while the template exists. */
export function referencedConfigMap(template: PodTemplateLike): string | undefined {
  const volume = template.spec?.volumes?.find((v) => v.name === OCONFIG_VOLUME_NAME);
  const configMap = volume?.configMap as { name?: unknown } | undefined;
  return typeof configMap?.name === "string" ? configMap.name : undefined;
}
