import { redactUrlCredentials } from "./redact.js";

/** Why a snapshot could not be taken, written, committed or pushed. */
export type SnapshooterErrorCode =
  | "CONFIG_NOT_FOUND"
  | "INVALID_CONFIG"
  | "UNKNOWN_ENTRY"
  | "SOURCE_UNAVAILABLE"
  | "INVALID_EXPORT"
  | "UNKNOWN_ROOT"
  | "INVALID_PATCHES"
  | "WRITE_FAILED"
  | "GIT_FAILED"
  | "PUSH_REJECTED"
  | "LOCKED"
  | "TOO_MANY_REMOVED"
  | "ABORTED";

/** One thing wrong, at one place. */
export interface SnapshooterProblem {
  /** Where, in the user's terms: `entry 0 ("My Projects").snapshooter.rootTags[1]`, `export.ndjson:12`, `folders/1….json`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/**
 * The one error class of this package. Its message, its problems and its cause never hold a credential:
 * every text is passed through `redactUrlCredentials`, and git's own errors are redacted before they get here.
 */
export class SnapshooterError extends Error {
  override readonly name = "SnapshooterError";
  readonly code: SnapshooterErrorCode;
  readonly problems: readonly SnapshooterProblem[];
  /** The config entry the error belongs to, when there is one. */
  readonly entry: string | undefined;

  constructor(
    code: SnapshooterErrorCode,
    message: string,
    options: { problems?: SnapshooterProblem[]; entry?: string; cause?: unknown } = {},
  ) {
    const problems = (options.problems ?? []).map((p) => ({
      ...p,
      path: redactUrlCredentials(p.path),
      message: redactUrlCredentials(p.message),
    }));
    const lines = problems.map((p) => `\n  ${formatProblem(p)}`).join("");
    super(redactUrlCredentials(message) + lines, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.problems = problems;
    this.entry = options.entry;
  }
}

export function formatProblem(p: SnapshooterProblem): string {
  const where = p.line === undefined ? "" : ` (line ${p.line}${p.column === undefined ? "" : `, column ${p.column}`})`;
  return `${p.path}${where}: ${p.message.replaceAll("\n", "\n    ")}`;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || (error as { code?: unknown }).code === "ABORT_ERR");
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SnapshooterError("ABORTED", "the snapshot was aborted");
}
