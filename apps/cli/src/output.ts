/** How the CLI talks to people and scripts: exit codes, errors as one sentence plus the fix, --json. */
import { DeployRulesError } from "@rollway/deploy-rules";
import { PayloadError } from "@rollway/payload-schema";

/** Documented exit codes (README): scripts and CI act on them. */
export const ExitCode = { ok: 0, failed: 1, badInput: 2, timedOut: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
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

/** Turns any error into the exit code and the text a person (or, with --json, a script) reads. */
export function reportError(output: Output, error: unknown): ExitCode {
  const exitCode =
    error instanceof CliError
      ? error.exitCode
      : error instanceof PayloadError || error instanceof DeployRulesError
        ? ExitCode.badInput
        : ExitCode.failed;
  const problems = error instanceof PayloadError || error instanceof DeployRulesError ? error.problems : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (output.json) {
    const code = error instanceof PayloadError || error instanceof DeployRulesError ? error.code : undefined;
    output.out(`${JSON.stringify({ ok: false, error: { message, code, problems } }, null, 2)}\n`);
  } else {
    output.err(`rollway: ${message}\n`);
  }
  return exitCode;
}
