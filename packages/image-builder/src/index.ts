export { DEFAULT_VERSION_FILE, readAppVersion } from "./app-version.js";
export {
  type BuildImagesOptions,
  type BuildImagesResult,
  type BuildProgressEvent,
  type BuiltImage,
  buildImages,
  type ImageSpec,
} from "./build-images.js";
export {
  type CredentialSource,
  type RegistryAuth,
  type RegistryCredentials,
  resolveRegistryAuth,
} from "./credentials.js";
export { IMAGE_KINDS, type ImageKind, KIND_DEFAULTS, type KindDefaults } from "./dockerfiles.js";
export type { EngineConnection } from "./engine.js";
export { type FailedStep, ImageBuildError, type ImageBuildErrorCode, type ImageBuildProblem } from "./errors.js";
export { type GitRevisionInfo, readGitRevision } from "./git.js";
export { mergePayloadImages, type PayloadImages, toBuildEnv, toPayloadImages } from "./payload.js";
export { describeProgress } from "./progress.js";
export {
  APP_VERSION_LABEL,
  computeTags,
  type GitRevision,
  type ImageTags,
  imageLabels,
  OCI_CREATED_LABEL,
  OCI_REVISION_LABEL,
  OCI_SOURCE_LABEL,
  refSlug,
  sanitizeGitTag,
} from "./tags.js";
