/**
 * The public API of @rollway/rollout-client (see the README's "Public API"): `connect()` and its client's operations,
 * the cluster layer (`openConnection`, `Connection.objects`, `listWatch`), the one error class, the status functions,
 * and the exact bodies the operations send, as named constants.
 */
export { connect, type RolloutClient } from "./client.js";
export {
  type Clock,
  type Connection,
  type ConnectOptions,
  type KubeconfigSource,
  openConnection,
  PATCH_CONTENT_TYPES,
  type PatchType,
  type RawWatchEvent,
  type RequestSpec,
  realClock,
} from "./connect.js";
export {
  hasHttpStatus,
  type ResourceRef,
  RolloutClientError,
  type RolloutClientErrorCode,
  redactSecrets,
} from "./errors.js";
export type { ListWatchEvent, ListWatchOptions } from "./list-watch.js";
export type {
  AnyObject,
  CallOptions,
  DeleteOptions,
  ListOptions,
  NamedObjectRef,
  ObjectApi,
  ObjectList,
  ObjectRef,
  ReadOptions,
  WriteOptions,
} from "./objects.js";
export { abortPatch, retryRolloutPatch } from "./operations/abort.js";
export { GATE_PATHS, type GateDecision, type GateType } from "./operations/flagger-gate.js";
export type { Revision } from "./operations/history.js";
export {
  deploymentPausePatch,
  deploymentRestartPatch,
  deploymentResumePatch,
  pausePatch,
  RESTARTED_AT_ANNOTATION,
  restartPatch,
  resumePatch,
} from "./operations/pause.js";
export {
  clearPauseConditionsAndControllerPausePatch,
  clearPauseConditionsPatch,
  clearPauseConditionsPatchWithStep,
  type OperationResult,
  type PromoteOptions,
  type PromotePatches,
  promoteFullPatch,
  promotePatches,
  unpauseAndClearPauseConditionsPatch,
  unpauseAndClearPauseConditionsPatchWithStep,
  unpauseAndPromoteFullPatch,
  unpausePatch,
} from "./operations/promote.js";
export {
  type PodTemplateChange,
  type SetTemplateOptions,
  type SetTemplateResult,
  setTemplatePatch,
  type TemplateEdit,
} from "./operations/set-images.js";
export {
  replaceTemplateAndAnnotationsPatch,
  replaceTemplatePatch,
  type UndoOptions,
  type UndoResult,
} from "./operations/undo.js";
export { readPlainYaml } from "./plain-yaml.js";
export type { Container, PodTemplate } from "./resources.js";
export type { RetryOptions } from "./retry.js";
export {
  type ContainerImage,
  canaryStatus,
  deploymentStatus,
  type Endpoint,
  type Phase,
  rolloutStatus,
  type WorkloadKind,
  type WorkloadStatus,
} from "./status.js";
export { canaryTarget, deploymentTarget, rolloutTarget } from "./targets/find.js";
export { type FoundTargets, findTargets } from "./targets/find-many.js";
export type { Strategy, Target } from "./targets/target.js";
export {
  isHealthy,
  isPaused,
  isSettled,
  matchesSelector,
  readStatuses,
  type WaitForOptions,
  WaitTimeoutError,
  type WatchOptions,
} from "./watch.js";
