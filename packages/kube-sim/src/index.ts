export { type Clock, ManualClock, realClock, type TimerHandle } from "./clock.js";
export { calculateRolloutPhase } from "./controllers/argo-rollout-status.js";
export type { RolloutPhase, RolloutStatus } from "./controllers/argo-rollout-types.js";
export { createFlaggerController, flaggerController } from "./controllers/flagger.js";
export type { CanaryPhase, CanaryStatus, CanaryWebhookPayload } from "./controllers/flagger-model.js";
export type { FlaggerOptions } from "./controllers/flagger-reconcile.js";
export { builtInControllers } from "./controllers/index.js";
export { rolloutController } from "./controllers/rollout.js";
export {
  type Controller,
  type ControllerContext,
  ControllerError,
  ControllerRuntime,
  defineController,
  type KindRef,
  keyOf,
  type ObjectKey,
  type ReconcileResult,
  type SimTiming,
} from "./controllers/runtime.js";
export {
  bundledCrdDir,
  defaultCrdSources,
  type KubeObject,
  loadCrds,
  type ObjectMeta,
  type OwnerReference,
} from "./crds.js";
export {
  KubeApiError,
  KubeSimError,
  type KubeSimErrorCode,
  type KubeStatus,
  type StatusCause,
  type StatusReason,
} from "./errors.js";
export {
  type DenyMatch,
  type FailRequestsOptions,
  type FaultHandle,
  Faults,
  type PodMatch,
  type RequestMatch,
  SIM_USER,
} from "./faults.js";
export { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from "./patch/index.js";
export { apiVersionOf, type ResourceType, type ResourceTypes } from "./resources.js";
export {
  formatSelector,
  fromLabelSelectorObject,
  type LabelSelectorObject,
  matchesLabels,
  parseLabelSelector,
  type Selector,
} from "./selectors.js";
export { type KubeSim, type KubeSimOptions, startKubeSim } from "./sim.js";
export {
  type DeleteOptions,
  type ListOptions,
  type ListResult,
  type PatchType,
  Store,
  type StoreEvent,
  type WriteOptions,
  type WriteResult,
} from "./store.js";
export { openWatch, type Watch, type WatchEvent, type WatchOptions } from "./watch.js";
