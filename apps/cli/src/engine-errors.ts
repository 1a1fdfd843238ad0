/**
 * The release engine's refusals the CLI meets, each turned into what happened and the command to run next, with the
 * engine's `code` kept (so `--json` carries it) and the exit code the README documents. Read from the error's facts
 * (release, environment, component), never from its message.
 */
import { ERROR_EXIT_CODE } from "@rollway/release/error-codes";
import { CliError } from "./output.js";

/**
 * The engine codes the CLI explains, with their exit codes read from the one code → exit map (README, "Exit codes"):
 * NOT_RUNNING (a decision nobody runs: nothing decided), NOT_STABLE (a component serves two versions: nothing
 * changed), TIMEOUT (time ran out: rolled back), NOT_NEWEST (a rollback that would silently undo newer releases).
 */
export const ENGINE_EXIT = {
  NOT_RUNNING: ERROR_EXIT_CODE.NOT_RUNNING,
  NOT_STABLE: ERROR_EXIT_CODE.NOT_STABLE,
  TIMEOUT: ERROR_EXIT_CODE.TIMEOUT,
  NOT_NEWEST: ERROR_EXIT_CODE.NOT_NEWEST,
} as const;
export type ExplainedCode = keyof typeof ENGINE_EXIT;

interface EngineError extends Error {
  code?: string;
  release?: string;
  environment?: string;
  component?: string;
  /** For NOT_STABLE: what the component is doing instead (release's ReleaseError.detail). */
  detail?: string;
}

export interface ExplainContext {
  /** The namespace the command used: the commands it suggests name it. */
  namespace?: string | undefined;
  /** How the command was given its environment file (` --env prod.yaml`, or empty for ROLLWAY_ENV). */
  envFlag?: string;
  /** For NOT_NEWEST: the newer promoted releases the rollback would undo, newest first. */
  newer?: readonly string[];
}

const isEngineError = (error: unknown): error is EngineError & { code: ExplainedCode } =>
  error instanceof Error &&
  error.name === "ReleaseError" &&
  typeof (error as EngineError).code === "string" &&
  Object.hasOwn(ENGINE_EXIT, (error as EngineError).code as string);

/** The engine error as the CLI says it, or the error unchanged when it is not one of these codes. */
export function explainEngineError(error: unknown, context: ExplainContext = {}): unknown {
  if (!isEngineError(error)) return error;
  const ns = context.namespace ? ` -n ${context.namespace}` : "";
  const release = error.release ?? "the release";
  const environment = error.environment ?? "the environment";
  const message = ((): string => {
    switch (error.code) {
      case "NOT_RUNNING":
        return `nothing was decided: no engine runs release ${release} any more (the process that ran it stopped and its Lease of environment "${environment}" expired); run \`rollway recover${context.envFlag ?? ` --env <the file of environment "${environment}">`}${ns}\` to take it over here (it resumes it; add --rollback to put every component back), then decide again`;
      case "NOT_STABLE": {
        const c = error.component;
        // The engine says what the component is doing (a version in preview, a first rollout still starting...).
        const why = error.detail ? `: ${error.detail}` : " (a preview or an update is under way)";
        return `nothing was changed: environment "${environment}" is not stable${c ? `, ${c} is not settled${why}` : ""}; see it with \`rollway ${c ? `get ${c}` : "status"}${ns}\`, finish it (${c ? `\`rollway rollout promote ${c} --full${ns}\`` : "`rollway rollout promote <workload> --full`"}) or wait for it (\`rollway status --watch --until healthy\`), then run the command again`;
      }
      case "TIMEOUT":
        return `release ${release} ran out of time and was rolled back to what users had; its events: \`rollway get ${release}${ns}\`; raise --timeout and deploy again`;
      case "NOT_NEWEST": {
        const newer = context.newer ?? [];
        const list = newer.join(",");
        return newer.length > 0
          ? `nothing was rolled back: ${release} is not the newest promoted release of "${environment}", ${list} came after it; roll back the newest (\`rollway rollback ${newer[0]}${ns}\`), or go further back and undo them too with \`rollway rollback ${release} --undoing ${list}${ns}\``
          : `nothing was rolled back: ${release} is not the newest promoted release of "${environment}"; see \`rollway history${ns}\` and name every newer promoted release with --undoing`;
      }
    }
  })();
  return new CliError(message, ENGINE_EXIT[error.code], { cause: error, code: error.code });
}
