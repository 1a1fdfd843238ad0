export { DeployRulesError, type DeployRulesErrorCode, type DeployRulesProblem } from "./errors.js";
export { explain } from "./explain.js";
export {
  type Assignment,
  type BackendInput,
  type ChosenBy,
  compileDeployRules,
  type DeployRule,
  type Resolution,
  type ResolveInput,
  type ResolveWarning,
  resolveDeployRules,
} from "./resolve.js";
export {
  checkRulePattern,
  checkRulePatternAsync,
  closeSafetyCheckers,
  knownRulePatternVerdict,
  MAX_PATTERN_LENGTH,
  MAX_SUBJECT_LENGTH,
  type PatternVerdict,
  SAFETY_CHECK_TIMEOUT_MS,
  useSafetyChecker,
  warmSafetyCheckers,
} from "./safe-regex.js";
