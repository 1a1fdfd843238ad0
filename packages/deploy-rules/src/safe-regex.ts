/**
 * Deploy rule patterns arrive over the network from CI, so each one is compiled and then proven free of
 * catastrophic backtracking (ReDoS) by recheck before it is ever run against an image or backend name.
 * Verdicts are cached by pattern: CI posts the same rules on every deploy.
 */
import { createRequire } from "node:module";
import type * as Recheck from "recheck";
import { CheckPool, checkWallLimitMs, type Diagnostics, warmWorkerThreads } from "./check-pool.js";

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
 * recheck's verdict must not depend on how busy the machine is, so none of its limits that decide a verdict count
 * time. Its fuzzer (patterns with a lookaround or a backreference, or too many repetitions for its automaton checker)
 * runs candidate strings in a VM that counts steps (characters read) and, by default, wall time as well; a run that
 * reaches either limit counts as a success of the attack: an incubation run reaching incubationLimit (25,000 steps)
 * or incubationTimeout (250 ms) starts an attack, and an attack run reaching attackLimit or attackTimeout (1 s) makes
 * the pattern "vulnerable", at the complexity the attack assumed (its string is sized so that a pattern of that
 * complexity would need attackLimit steps). Counted in wall time, a checker that lost a quarter of a second in the
 * middle of one run had a safe pattern refused: a registry pattern with a lookahead, stopped 300 ms in every 305,
 * came back cubic. So the wall-clock limits are off (incubationTimeout, attackTimeout, and seedingTimeout, which
 * when reached ends the fuzzer's seeding early, with fewer seeds) and only steps count.
 *
 * attackLimit (default 1.5 billion steps) then decides how long an attack on a catastrophic pattern runs: recheck's
 * VM reads 1 to 2 million steps a second of CPU time in its native agent when it cannot memoize (a backreference), and
 * about 0.6 million in its pure JavaScript build, so at the default a catastrophic backreference (`^(\w+)(\s?\w+)*\1$`)
 * ran on far past any budget. At a million steps it is refused as exponential in about 0.6 s of CPU time (native) or
 * 2 s (pure), close to what the 1 s attackTimeout gave an idle machine. A smaller limit also shortens the attack
 * strings, which makes the fuzzer less likely, not more, to overstate a pattern's degree: a quadratic pattern is
 * called cubic only if it reads some 30 characters per pair of positions, where at the default limit cut at 1 s
 * (about 1.5 million steps without memoization) a third of one did. On an idle machine, 40 patterns (the tests', the
 * seed's, the benchmarks' and fuzzed registry patterns) get the verdicts they got with the wall-clock limits (the
 * fuzzed ones also with the pure build); safe-regex.test.ts checks the fuzzed ones, idle and starved. Character limits
 * (maxAttackStringSize and the like) stay at their defaults: lowering them makes recheck miss real attacks. Recall
 * validation, which would run an attack again against wall time, is off by default (a negative recallTimeout).
 *
 * The overall budget is generous: most safe patterns' checks take a few milliseconds of CPU time, a fuzzed one up to
 * a second or two; the budget only stops a pattern that would keep a checker busy for longer. Reaching it refuses
 * the pattern as unprovable (timed out), never as vulnerable, and that verdict is not kept. In a checker process
 * (checkRulePatternAsync) it is the checker's CPU time on Linux, and wall time elsewhere; on the calling thread
 * (checkRulePattern, and the checker one-file bundles hand over) it is recheck's own timeout, which counts wall time.
 */
export const SAFETY_CHECK_TIMEOUT_MS = 10_000;
/** Steps (characters read by recheck's VM) an attack run may take before the attack counts as a success. */
const ATTACK_STEP_LIMIT = 1_000_000;
/** recheck's parameters, for every path: the synchronous check, the checker processes and handed-over checkers. */
export const RECHECK_PARAMS = {
  timeout: SAFETY_CHECK_TIMEOUT_MS,
  incubationTimeout: null,
  attackTimeout: null,
  seedingTimeout: null,
  attackLimit: ATTACK_STEP_LIMIT,
} as const;

export type PatternVerdict =
  | { ok: true; regex: RegExp }
  | { ok: false; code: "INVALID_PATTERN" | "UNSAFE_PATTERN"; message: string };

const cache = new Map<string, PatternVerdict>();
const CACHE_LIMIT = 10_000;

/**
 * Patterns proven safe once, ahead of time (safe-regex.test.ts checks each against recheck itself): the seed
 * payload's rules (with and without the escaped slash) and the demo's, which every test, example and demo posts.
 * Their verdict never depends on recheck answering within its budget on a loaded machine, nor on its checker starting.
 */
export const PRECOMPUTED_SAFE_PATTERNS: ReadonlySet<string> = new Set([
  "^my-registry\\/image-for-other-backends:tag.*$",
  "^my-registry/image-for-other-backends:tag.*$",
  "^my-registry\\/image-for-backend-1:tag.*$",
  "^my-registry/image-for-backend-1:tag.*$",
  "^(?!backend-1).*$",
  "^backend-1.*$",
  ".*",
]);

/**
 * The verdict on a pattern if it is already known (judged before, or precomputed), else undefined: a look-up that
 * never runs a checker, for callers that only need to know whether checkRulePattern would be instant.
 */
export function knownRulePatternVerdict(pattern: string): PatternVerdict | undefined {
  const cached = cache.get(pattern);
  if (cached) return cached;
  if (!PRECOMPUTED_SAFE_PATTERNS.has(pattern)) return undefined;
  const verdict: PatternVerdict = { ok: true, regex: new RegExp(pattern) };
  remember(pattern, verdict);
  return verdict;
}

/**
 * Compiles a rule pattern with JavaScript semantics (no flags, lookahead allowed) and checks it with recheck.
 * Never throws: the verdict says what is wrong in one sentence.
 */
export function checkRulePattern(pattern: string): PatternVerdict {
  const cached = knownRulePatternVerdict(pattern);
  if (cached) return cached;
  const verdict = judge(pattern);
  remember(pattern, verdict);
  return verdict;
}

/**
 * The verdict on a pattern without blocking the event loop: recheck runs in a child process (a small pool, started
 * on first use, not keeping the process alive, ended when idle), within `timeoutMs` (default
 * SAFETY_CHECK_TIMEOUT_MS) of the checker's CPU time (wall time where it cannot be read), counted from the moment
 * its checker is ready; over it, or after a minute of wall time (six budgets if more) whatever the CPU time, the
 * pattern is refused as unprovable. The verdict is cached like checkRulePattern's, so a later
 * synchronous check of the same pattern (e.g. while parsing a payload) is a look-up: servers call this for the
 * patterns of a request before validating it. With a checker handed over by useSafetyChecker (one-file bundles),
 * that checker runs here, on the calling thread.
 */
export async function checkRulePatternAsync(
  pattern: string,
  options: { timeoutMs?: number } = {},
): Promise<PatternVerdict> {
  const cached = knownRulePatternVerdict(pattern);
  if (cached) return cached;
  const compiled = compile(pattern);
  if (!compiled.ok || checkSync) return checkRulePattern(pattern);
  // Concurrent requests carrying the same new pattern (CI retrying, several replicas of a job) share one check.
  const pending = checking.get(pattern);
  if (pending) return pending;
  pool ??= new CheckPool();
  const budgetMs = options.timeoutMs ?? SAFETY_CHECK_TIMEOUT_MS;
  const wallLimitMs = checkWallLimitMs(budgetMs);
  // recheck's own timeout counts wall time: at the budget, a check slowed by a busy machine would time out there
  // first. The checker's CPU budget is the relay's to keep; recheck only stops at the wall-clock limit, as the relay
  // does, so that its agent process (which outlives its checker only until it reads the end of its input) never runs
  // longer than that.
  const check = pool
    .check(pattern, { ...RECHECK_PARAMS, timeout: wallLimitMs }, budgetMs, wallLimitMs)
    .then((diagnostics) => {
      const verdict = interpret(diagnostics, compiled.regex);
      remember(pattern, verdict);
      return verdict;
    })
    .finally(() => checking.delete(pattern));
  checking.set(pattern, check);
  return check;
}

const checking = new Map<string, Promise<PatternVerdict>>();

/** Stops the checker processes of checkRulePatternAsync (they never keep a process alive; tests and benchmarks tidy up). */
export async function closeSafetyCheckers(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}

let pool: CheckPool | undefined;

/**
 * For servers, at start: pays the one-time cost of the process's first worker thread (~10 ms on the calling thread)
 * now, so that checkRulePatternAsync's relay worker (which starts the checker processes), started while a request
 * waits, blocks the event loop ~1 ms.
 * Loads no recheck and leaves no worker running. Nothing to do when a checker was handed over (no workers then).
 */
export async function warmSafetyCheckers(): Promise<void> {
  if (checkSync || pool) return;
  await warmWorkerThreads();
}

/** A "timed out" verdict is not kept: on a busy moment it says nothing of the pattern, and a later check may pass. */
const TIMED_OUT = "the safety check timed out";

function remember(pattern: string, verdict: PatternVerdict): void {
  if (cache.has(pattern) || (!verdict.ok && verdict.message.includes(TIMED_OUT))) return;
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, verdict);
}

function compile(pattern: string): { ok: true; regex: RegExp } | (PatternVerdict & { ok: false }) {
  if (pattern.length === 0)
    return { ok: false, code: "INVALID_PATTERN", message: "empty pattern; use .* to match anything" };
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return {
      ok: false,
      code: "INVALID_PATTERN",
      message: `pattern is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are accepted`,
    };
  }
  try {
    return { ok: true, regex: new RegExp(pattern) };
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, "") : String(error);
    return { ok: false, code: "INVALID_PATTERN", message: `not a valid JavaScript regular expression: ${reason}` };
  }
}

function judge(pattern: string): PatternVerdict {
  const compiled = compile(pattern);
  if (!compiled.ok) return compiled;
  return interpret(recheck()(pattern, "", RECHECK_PARAMS), compiled.regex);
}

function interpret(diagnostics: Diagnostics, regex: RegExp): PatternVerdict {
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
  const why = diagnostics.error.kind === "timeout" ? TIMED_OUT : diagnostics.error.kind;
  return {
    ok: false,
    code: "UNSAFE_PATTERN",
    message: `refused: could not prove the pattern free of catastrophic backtracking (${why}); simplify it`,
  };
}
