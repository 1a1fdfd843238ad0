/** Why a set of deploy rules cannot be applied. Every problem is listed; nothing is ever partly applied. */
export type DeployRulesErrorCode =
  | "INVALID_PATTERN"
  | "UNSAFE_PATTERN"
  | "UNMATCHED_IMAGE"
  | "CONFLICTING_RULES"
  | "INVALID_NAME";

export interface DeployRulesProblem {
  code: DeployRulesErrorCode;
  /** Where the problem is, in payload terms: `backends.deployRules[1].target`, `backends.images[0]`, `backend "api"`. */
  path: string;
  message: string;
}

export class DeployRulesError extends Error {
  override readonly name = "DeployRulesError";
  readonly code: DeployRulesErrorCode;
  readonly problems: readonly DeployRulesProblem[];

  constructor(problems: DeployRulesProblem[], options?: { cause?: unknown }) {
    const first = problems[0];
    if (!first) throw new TypeError("DeployRulesError needs at least one problem");
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`);
    super(
      `${problems.length === 1 ? "1 problem" : `${problems.length} problems`} with the deploy rules:\n${lines.join("\n")}`,
      options,
    );
    this.code = first.code;
    this.problems = problems;
  }
}
