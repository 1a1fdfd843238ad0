/**
 * Deploy rule patterns arrive over the network from CI, so each one is compiled and then proven free of
 * catastrophic backtracking (ReDoS) by recheck before it is ever run against an image or backend name.
 * Verdicts are cached by pattern: CI posts the same rules on every deploy.
 */
import { createRequire } from "node:module";
import type * as Recheck from "recheck";

type CheckSync = typeof Recheck.checkSync;
let checkSync: CheckSync | undefined;

/**
 * Hands deploy-rules recheck's `checkSync` explicitly. Only one-file bundles need it (a GitHub Action's `dist`), in
 * which `recheck` cannot be required at run time: they import it statically and pass it here before checking.
 *
 * @example
 * import { checkSync } from "recheck";
 * useSafetyChecker(checkSync);
 */
export function useSafetyChecker(check: CheckSync): void {
  checkSync = check;
}

/**
 * recheck is 2.9 MB of JavaScript, about 70 ms to load: it is required on the first pattern that needs a verdict,
 * not when deploy-rules is imported, so programs that never check a pattern (`rollway status`) never load it.
 */
function recheck(): CheckSync {
  checkSync ??= (createRequire(import.meta.url)("recheck") as typeof Recheck).checkSync;
  return checkSync;
}

/** Longest pattern accepted. Real rules are a few dozen characters. */
export const MAX_PATTERN_LENGTH = 1000;
/**
 * Longest string a rule is matched against: image references are at most 512 characters (the payload schema checks
 * it) and backend names at most 253 (a Kubernetes name). The safety policy below depends on this bound.
 */
export const MAX_SUBJECT_LENGTH = 512;
/**
 * recheck's own phase budgets (attack and recall validation) stay at their defaults: lowering its character limits
 * makes it miss real attacks. The overall budget is generous so that a safe pattern is not refused as "unprovable"
 * on a busy machine (a check takes a few milliseconds idle, a few hundred under heavy load); it only stops a pattern
 * that would keep the checker busy for seconds.
 */
export const SAFETY_CHECK_TIMEOUT_MS = 10_000;
const RECHECK_PARAMS = { timeout: SAFETY_CHECK_TIMEOUT_MS } as const;

export type PatternVerdict =
  | { ok: true; regex: RegExp }
  | { ok: false; code: "INVALID_PATTERN" | "UNSAFE_PATTERN"; message: string };

const cache = new Map<string, PatternVerdict>();
const CACHE_LIMIT = 10_000;

/**
 * Compiles a rule pattern with JavaScript semantics (no flags, lookahead allowed) and checks it with recheck.
 * Never throws: the verdict says what is wrong in one sentence.
 */
export function checkRulePattern(pattern: string): PatternVerdict {
  const cached = cache.get(pattern);
  if (cached) return cached;
  const verdict = judge(pattern);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, verdict);
  return verdict;
}

function judge(pattern: string): PatternVerdict {
  if (pattern.length === 0)
    return { ok: false, code: "INVALID_PATTERN", message: "empty pattern; use .* to match anything" };
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return {
      ok: false,
      code: "INVALID_PATTERN",
      message: `pattern is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are accepted`,
    };
  }
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, "") : String(error);
    return { ok: false, code: "INVALID_PATTERN", message: `not a valid JavaScript regular expression: ${reason}` };
  }
  const diagnostics = recheck()(pattern, "", RECHECK_PARAMS);
  if (diagnostics.status === "safe") return { ok: true, regex };
  // Quadratic backtracking over the short strings rules are matched against (at most MAX_SUBJECT_LENGTH characters)
  // costs well under a millisecond; recheck's fuzzer also reports it for harmless anchored lookaheads such as the
  // seed's own `^(?!backend-1).*$`, because its VM does not skip start positions after `^` as V8 does.
  const complexity = diagnostics.status === "vulnerable" ? diagnostics.complexity : undefined;
  if (complexity?.type === "polynomial" && complexity.degree <= 2) return { ok: true, regex };
  if (diagnostics.status === "vulnerable") {
    const attack = diagnostics.attack.pattern ?? JSON.stringify(diagnostics.attack.string.slice(0, 40));
    return {
      ok: false,
      code: "UNSAFE_PATTERN",
      message: `refused: catastrophic backtracking (${diagnostics.complexity.summary} time on inputs like ${attack}); remove nested or overlapping repetition such as (a+)+`,
    };
  }
  const why = diagnostics.error.kind === "timeout" ? "the safety check timed out" : diagnostics.error.kind;
  return {
    ok: false,
    code: "UNSAFE_PATTERN",
    message: `refused: could not prove the pattern free of catastrophic backtracking (${why}); simplify it`,
  };
}
