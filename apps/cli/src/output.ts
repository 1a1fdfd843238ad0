/**
 * How the CLI talks to people and scripts: exit codes, errors as one sentence plus the fix, --json.
 * Errors are recognised by their `code`, not `instanceof`, so printing one never loads a package: the code's exit
 * code comes from the one map, `@rollway/release/error-codes`, a module with no imports.
 */
import { exitCodeOfCode } from "@rollway/release/error-codes";

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

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  const e = error as CodedError;
  // One map code → exit code for every rollway error (@rollway/release/error-codes, no other module loaded).
  // The server's ConfigError included (CONFIG_INVALID: a bad setting, fixed by the user).
  return e?.code !== undefined ? exitCodeOfCode(e.code) : ExitCode.failed;
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
