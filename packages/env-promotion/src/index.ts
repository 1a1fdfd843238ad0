export { APPROVAL_TAG_PREFIX, type Approval, recordApproval } from "./approval.js";
export { type ArgoCdApplicationRef, GET_APPLICATION } from "./argocd.js";
export type { ChangeKind, ImageRow, PromotionResult } from "./deliver.js";
export { PromotionError, type PromotionErrorCode, type PromotionErrorDetails } from "./errors.js";
export { formatApproval, formatPromotion } from "./format.js";
export type { Identity } from "./git.js";
export { CREATE_PULL_REQUEST, GET_PULL_REQUEST, type PullRequest } from "./github.js";
export {
  formatImageReference,
  type MissingImagePolicy,
  type OverlayImage,
  type OverlayPlan,
  type OverlayPlanInput,
  planOverlayPromotion,
  readOverlayImages,
} from "./kustomization.js";
export type { GitHubOptions, PromoteOptions, RecordApprovalOptions, RevertOptions } from "./options.js";
export { PROMOTION_TRAILER, promoteEnvironment } from "./promote.js";
export {
  type ImageLocation,
  locateImage,
  MANIFEST_ACCEPT,
  pinDigests,
  type RegistryAccess,
  type RegistryCredentials,
  resolveDigest,
} from "./registry.js";
export { REVERT_TRAILER, revertPromotion } from "./revert.js";
export {
  argoCdHealthCheck,
  type ComponentHealth,
  componentStatusCheck,
  type SourceCheck,
  type SourceProblem,
} from "./source-health.js";
export type { WaitResult } from "./wait.js";
