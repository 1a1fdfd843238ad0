/**
 * Each config version becomes an immutable ConfigMap named by its content hash. A new version is a new
 * ConfigMap and a new pod template, so old pods keep reading `current` while new ones read `next`, and
 * rolling back is pointing the template at the previous name again.
 */
import { OConfigError } from "./errors.js";
import type { OConfigVersion, ParsedOConfig } from "./parse.js";

/** The file the config is in, inside the ConfigMap and in the mounted directory. */
export const OCONFIG_DATA_KEY = "oConfig.json";
export const HASH_LENGTH = 10;

export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "rollway";
export const LABEL_SERVICE = "rollway.dev/service";
export const LABEL_OCONFIG_VERSION = "rollway.dev/oconfig-version";
export const ANNOTATION_OCONFIG_HASH = "rollway.dev/oconfig-sha256";
/** Selects every ConfigMap rollway made for oConfig: `app.kubernetes.io/managed-by=rollway,rollway.dev/service`. */
export const OCONFIG_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE},${LABEL_SERVICE}`;

/** A service name is a Kubernetes label value and the start of a ConfigMap name: a DNS-1123 label. */
const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface ConfigMapManifest {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: {
    name: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  immutable: true;
  data: Record<string, string>;
}

function checkServiceName(service: string): void {
  if (service.length > 63 || !SERVICE_NAME.test(service)) {
    throw new OConfigError([
      {
        code: "INVALID_NAME",
        service,
        path: [],
        message:
          "a service name is lower-case letters, digits and '-', at most 63 characters, starting and ending alphanumeric",
      },
    ]);
  }
}

/** `<service>-oconfig-<first 10 hex digits of the content hash>`. */
export function configMapName(service: string, version: Pick<OConfigVersion, "hash">): string {
  checkServiceName(service);
  return `${service}-oconfig-${version.hash.slice(0, HASH_LENGTH)}`;
}

/**
 * Renders one version as an immutable ConfigMap. The name and data depend only on the service and the
 * config's content (canonical JSON), so rendering is deterministic and identical content shares one ConfigMap.
 */
export function renderConfigMap(
  service: string,
  version: OConfigVersion,
  options: { namespace?: string } = {},
): ConfigMapManifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: configMapName(service, version),
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_SERVICE]: service,
        [LABEL_OCONFIG_VERSION]: version.name,
      },
      annotations: { [ANNOTATION_OCONFIG_HASH]: version.hash },
    },
    immutable: true,
    data: { [OCONFIG_DATA_KEY]: version.canonical },
  };
}

/** The ConfigMaps a release needs for one service: `current` and `next` (one when they have the same content). */
export function renderReleaseConfigMaps(
  parsed: ParsedOConfig,
  options: { namespace?: string } = {},
): ConfigMapManifest[] {
  const current = renderConfigMap(parsed.service, parsed.current, options);
  if (parsed.next.hash === parsed.current.hash) return [current];
  return [current, renderConfigMap(parsed.service, parsed.next, options)];
}
