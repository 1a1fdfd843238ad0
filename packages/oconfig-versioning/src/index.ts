export { canonicalJson, contentHash, prettyCanonicalJson } from "./canonical.js";
export { oConfigProblems } from "./check.js";
export {
  diffOConfig,
  diffVersions,
  formatOConfigDiff,
  type OConfigChange,
  type OConfigDiff,
  REDACTED,
  SECRET_KEY_PATTERN,
} from "./diff.js";
export {
  describeProblem,
  formatProblemPath,
  OConfigError,
  type OConfigErrorCode,
  type OConfigProblem,
} from "./errors.js";
export {
  type ExistingConfigMap,
  type GcInput,
  type GcKeepReason,
  type GcPlan,
  planConfigMapGc,
  type ReleaseConfigMaps,
} from "./gc.js";
export {
  type OConfigValidation,
  type OConfigVersion,
  type ParsedOConfig,
  type ParseOConfigOptions,
  parseOConfig,
  validateOConfig,
} from "./parse.js";
export {
  type ContainerLike,
  DEFAULT_OCONFIG_MOUNT_PATH,
  OCONFIG_VOLUME_NAME,
  type PodTemplateLike,
  type ReferenceConfigMapOptions,
  referenceConfigMap,
  referencedConfigMap,
} from "./pod-template.js";
export { isSingleVersionEntry, LEGACY_VERSION, oConfigIsClean, PRODUCTION_KEY } from "./quick-check.js";
export { recordCurrent, recordNextAsCurrent } from "./record.js";
export {
  ANNOTATION_OCONFIG_HASH,
  type ConfigMapManifest,
  configMapName,
  HASH_LENGTH,
  LABEL_MANAGED_BY,
  LABEL_OCONFIG_VERSION,
  LABEL_SERVICE,
  MANAGED_BY_VALUE,
  OCONFIG_DATA_KEY,
  OCONFIG_SELECTOR,
  renderConfigMap,
  renderReleaseConfigMaps,
} from "./render.js";
export {
  configEntrySchema,
  legacyOConfigSchema,
  type OConfigInput,
  oConfigSchema,
  VERSION_NAME_PATTERN,
  type VersionedOConfigInput,
  versionedOConfigSchema,
  versionNameSchema,
} from "./schema.js";
