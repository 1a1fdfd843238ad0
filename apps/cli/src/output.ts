/**
 * How the CLI talks to people and scripts: exit codes, errors as one sentence plus the fix, --json.
 * Errors are recognised by their class name and `code`, not `instanceof`, so printing one never loads a package.
 */

/** Documented exit codes (README): scripts and CI act on them. */
export const ExitCode = { ok: 0, failed: 1, badInput: 2, timedOut: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  override readonly name = "CliError";
  /** A stable name for scripts (`USAGE`, `TIMEOUT`...), when the CLI itself found the problem. */
  readonly code: string | undefined;
  /** Facts for `--json`'s done line beside the error (e.g. `release`: the record a failure left). */
  readonly details: Record<string, unknown> | undefined;
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown; code?: string; details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.code = options?.code;
    this.details = options?.details;
  }
}

export interface Output {
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

export const stdio: Output = {
  json: false,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export function printJson(output: Output, value: unknown): void {
  output.out(`${JSON.stringify(value, null, 2)}\n`);
}

interface CodedError extends Error {
  code?: string;
  problems?: unknown;
  file?: string;
}

/**
 * The last line of every command with --json, success or failure: `{"type":"done","ok":...}` on one line, so a script
 * reading NDJSON events knows the stream ended and how.
 */
export function printDone(output: Output, value: Record<string, unknown> & { ok: boolean }): void {
  output.out(`${JSON.stringify({ type: "done", ...value })}
`);
}

/** Bad input: the user can fix the file or the flag and run again. */
const BAD_INPUT: Record<string, readonly string[] | "all"> = {
  PayloadError: "all",
  DeployRulesError: "all",
  EnvironmentError: "all",
  OConfigError: "all",
  ConfigError: "all",
  ReleaseError: ["INVALID_PLAN", "NOT_FOUND", "INVALID_STATE"],
  RolloutClientError: ["NOT_FOUND", "INVALID"],
  ImageBuildError: ["INVALID_OPTIONS", "SOURCES_NOT_FOUND", "DOCKERFILE_NOT_FOUND", "DOCKER_CONFIG_INVALID"],
  SnapshooterError: ["CONFIG_NOT_FOUND", "INVALID_CONFIG", "UNKNOWN_ENTRY"],
  PromotionError: [
    "INVALID_OPTIONS",
    "NOT_A_GIT_REPO",
    "OVERLAY_NOT_FOUND",
    "KUSTOMIZATION_INVALID",
    "BRANCH_NOT_FOUND",
  ],
};

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  const e = error as CodedError;
  if (e?.name === "RolloutClientError" && e.code === "TIMEOUT") return ExitCode.timedOut;
  const bad = BAD_INPUT[e?.name ?? ""];
  if (bad === "all" || (bad && e.code && bad.includes(e.code))) return ExitCode.badInput;
  return ExitCode.failed;
}

/** Turns any error into the exit code and the text a person (or, with --json, a script) reads. */
export function reportError(output: Output, error: unknown): ExitCode {
  const exitCode = exitCodeOf(error);
  const e = error as CodedError;
  const message = error instanceof Error ? error.message : String(error);
  if (output.json) {
    const code = e instanceof CliError ? e.code : e?.code;
    const details = e instanceof CliError ? e.details : undefined;
    printDone(output, {
      ok: false,
      exitCode,
      ...details,
      error: { message, code, problems: e?.problems, file: e?.file },
    });
  } else {
    output.err(`rollway: ${message}\n`);
  }
  return exitCode;
}
