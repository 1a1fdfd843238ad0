export { type ClusterState, readClusterState, type WorkloadState } from "./cluster-state.js";
export {
  type ApplyOptions,
  type ComponentStatus,
  createReleaseEngine,
  type DecisionOptions,
  type EnvironmentStatus,
  type RecoverOptions,
  type ReleaseEngine,
  type ReleaseEngineOptions,
  reversePlan,
  scaleToZeroPatch,
  templatePatch,
} from "./engine.js";
export {
  ANNOTATION_CONTAINER,
  ANNOTATION_STABLE_VERSION,
  type Component,
  type DiscoverOptions,
  discoverEnvironment,
  ENVIRONMENT_API_VERSION,
  ENVIRONMENT_KIND,
  type Environment,
  EnvironmentError,
  type EnvironmentErrorCode,
  type EnvironmentInput,
  type EnvironmentProblem,
  EnvironmentSchema,
  environmentJsonSchema,
  formatEnvironmentPath,
  type JobTemplate,
  type KubeObject,
  LABEL_COMPONENT,
  LABEL_ENVIRONMENT,
  LABEL_NAME,
  type ParseEnvironmentYamlOptions,
  type PlatformComponent,
  parseEnvironment,
  parseEnvironmentYaml,
  type Strategy,
  type WorkloadKind,
} from "./environment.js";
export { STRATEGIES_BY_KIND } from "./environment-checks.js";
export { listComponents, type NamedComponent } from "./environment-components.js";
export { quickEnvironmentYaml } from "./environment-quick.js";
export { readEnvironmentStatus } from "./environment-status.js";
export {
  ERROR_EXIT_CODE,
  ERROR_HTTP_STATUS,
  type ErrorExitCode,
  type ErrorHttpStatus,
  exitCodeOfCode,
  httpStatusOfCode,
  type KnownErrorCode,
} from "./error-codes.js";
export { type PlanProblem, ReleaseError, type ReleaseErrorCode } from "./errors.js";
export {
  appendEvents,
  type EventLog,
  EventLogWriter,
  eventLogName,
  followEventLog,
  LABEL_EVENTS_OF,
  readEventLog,
  type StoredEvent,
} from "./event-log.js";
export {
  type ApprovalGate,
  type OnReleaseEvent,
  type ReleaseEvent,
  type ReleaseEventType,
  releaseEventChannel,
} from "./events.js";
export {
  claimDelivery,
  type DeliveryClaim,
  digestClaimName,
  type IdempotencyClaim,
  idempotencyName,
  LABEL_IDEMPOTENCY,
} from "./idempotency.js";
export {
  LIFECYCLE,
  type LifecycleEffect,
  type LifecycleEvent,
  lifecycleMarkdown,
  type Transition,
  transition,
} from "./lifecycle.js";
export { ANNOTATION_LEASE_RELEASE, leaseHolder, leaseName } from "./lock.js";
export {
  type CodeAsDataPlan,
  type ComponentPlan,
  type ConfigPlan,
  changedComponents,
  FORCE_SYNC,
  formatPlan,
  type JobPlan,
  type MigrationPlan,
  payloadDigest,
  plan,
  type ReleasePlan,
} from "./plan.js";
export {
  type Approval,
  cacheRecords,
  LABEL_RELEASE,
  LABEL_RELEASE_ENVIRONMENT,
  LABEL_RELEASE_STATE,
  type PromotionEvent,
  type RecordCache,
  type ReleaseRecord,
  type ReleaseState,
  recordName,
} from "./records.js";
export {
  createReleaseRunner,
  type DeployOptions,
  type DeployOutcome,
  type Launched,
  type RecoveryLoopOptions,
  type RecoveryPlace,
  type ReleaseListener,
  type ReleaseRunner,
  type ReleaseRunnerOptions,
  type RunContext,
} from "./release-runner.js";
export { readServed, type Served } from "./served.js";
export { CACHED_KINDS, cacheNamespace, EXPECT_MS, type StatusCache } from "./status-cache.js";
export { whyNotReady } from "./stuck.js";
