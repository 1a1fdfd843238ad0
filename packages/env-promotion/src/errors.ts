/** Why a promotion, a rollback or an approval could not be done. The message says what is wrong and how to fix it. */
export type PromotionErrorCode =
  | "INVALID_OPTIONS"
  | "NOT_A_GIT_REPO"
  | "REMOTE_FAILED"
  | "BRANCH_NOT_FOUND"
  | "OVERLAY_NOT_FOUND"
  | "KUSTOMIZATION_INVALID"
  | "IMAGE_NOT_IN_TARGET"
  | "APPROVAL_MISSING"
  | "APPROVAL_UNTRUSTED"
  | "SIGNING_FAILED"
  | "BRANCH_EXISTS"
  | "PUSH_REJECTED"
  | "GITHUB_CONFIG_MISSING"
  | "GITHUB_REQUEST_FAILED"
  | "PROMOTION_NOT_FOUND"
  | "REVERT_CONFLICT"
  | "GIT_FAILED"
  | "EDIT_CHECK_FAILED"
  | "IMAGE_NOT_IN_REGISTRY"
  | "REGISTRY_REQUEST_FAILED"
  | "SOURCE_UNHEALTHY"
  | "ARGOCD_REQUEST_FAILED"
  | "PULL_REQUEST_CLOSED"
  | "TARGET_DEGRADED"
  | "WAIT_TIMEOUT";

/** Facts a person needs to act on the error; every field is optional and never holds a secret. */
export interface PromotionErrorDetails {
  path?: string;
  line?: number;
  column?: number;
  branch?: string;
  remote?: string;
  commit?: string;
  images?: readonly string[];
  /** The components (or Argo CD resources) a health check or a wait found wrong. */
  components?: readonly string[];
  status?: number;
}

export class PromotionError extends Error {
  override readonly name = "PromotionError";
  readonly code: PromotionErrorCode;
  /** What is wrong, the first part of `message` (without the hint). */
  readonly problem: string;
  /** How to fix it, also the last sentence of `message`. */
  readonly hint: string;
  readonly details: PromotionErrorDetails;

  constructor(
    code: PromotionErrorCode,
    problem: string,
    hint: string,
    details: PromotionErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(hint ? `${problem}\n  Fix: ${hint}` : problem, options);
    this.code = code;
    this.problem = problem;
    this.hint = hint;
    this.details = details;
  }
}
