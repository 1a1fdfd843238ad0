/**
 * Runs one release in this process (deploy, rollback) with live progress of every component, Ctrl-C and --timeout
 * both ending in the engine's abort back to stable.
 */
import { type Environment, ReleaseError, type ReleaseEvent, type ReleaseRecord } from "@rollway/release";
import type { Direct } from "./direct.js";
import { type ExplainContext, explainEngineError } from "./engine-errors.js";
import { finishCommand, formatEvent, formatRelease } from "./format.js";
import { CliError, ExitCode, type Output } from "./output.js";
import { watchComponents } from "./progress.js";

export function componentsOf(environment: Environment) {
  const list = environment.frontend ? [{ name: "frontend", target: environment.frontend.workload.name }] : [];
  for (const [name, b] of Object.entries(environment.backends)) list.push({ name, target: b.workload.name });
  return list;
}

export async function runWithProgress(
  direct: Direct,
  environment: Environment,
  options: {
    timeoutSeconds?: number | undefined;
    /** Show the environment's rows only once the engine says something (recover: nothing to take over, no rows). */
    rowsFromFirstEvent?: boolean;
  },
  output: Output,
  start: (run: { signal: AbortSignal; onEvent: (e: ReleaseEvent) => void }) => Promise<ReleaseRecord>,
): Promise<ReleaseRecord> {
  const controller = new AbortController();
  let timedOut = false;
  const timer =
    options.timeoutSeconds === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          // A TIMEOUT reason: the engine records the release as timed out, not as cancelled.
          controller.abort(new ReleaseError("TIMEOUT", `timed out: --timeout of ${options.timeoutSeconds} s reached`));
        }, options.timeoutSeconds * 1000);
  const interrupt = () => controller.abort(new Error("interrupted (Ctrl-C)"));
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  const watch = () => watchComponents(direct.client, environment.namespace, componentsOf(environment), output);
  let progress = options.rowsFromFirstEvent ? undefined : watch();
  const onEvent = (event: ReleaseEvent) => {
    progress ??= watch();
    if (output.json) output.out(`${JSON.stringify({ type: "event", event })}\n`);
    else progress.log(formatEvent(event));
  };
  try {
    return await start({ signal: controller.signal, onEvent });
  } catch (error) {
    // Only what the engine saw settle is reported as rolled back; a release left failed says so itself.
    if (timedOut && error instanceof ReleaseError && error.code === "TIMEOUT") {
      throw new CliError(
        `the release did not finish within --timeout ${options.timeoutSeconds} s and was rolled back to stable; raise --timeout or check \`rollway status\``,
        ExitCode.timedOut,
        { cause: error, code: "TIMEOUT" },
      );
    }
    throw error;
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    await progress?.stop();
  }
}

/**
 * A release run here that ended in an error, as the CLI says it: one the abort could not fully bring back shows its
 * record with what is left over and the command that finishes it (text, and `release` in --json's done line); the
 * engine's refusals (NOT_STABLE, NOT_NEWEST, TIMEOUT...) get their own message and exit code.
 */
export async function settle(
  direct: Direct,
  namespace: string,
  output: Output,
  running: Promise<ReleaseRecord>,
  /** More facts for the message, read once the error is known. */
  contextFor: (error: unknown) => Promise<ExplainContext> = async () => ({}),
): Promise<ReleaseRecord> {
  try {
    return await running;
  } catch (error) {
    const release = error instanceof ReleaseError && error.code === "FAILED" ? error.release : undefined;
    const record = release ? await direct.engine.get(release, namespace).catch(() => undefined) : undefined;
    if (record?.leftover?.length) {
      if (!output.json) output.out(`\n${formatRelease(record)}`);
      throw new CliError(
        `release ${record.id} failed and the abort could not bring back ${record.leftover.join(", ")} (the cluster refused the writes); once it accepts them, run \`${finishCommand(record)}\` to put them back`,
        ExitCode.failed,
        { cause: error, code: "FAILED", details: { release: recordSummary(record) } },
      );
    }
    throw explainEngineError(error, { namespace, ...(await contextFor(error)) });
  }
}

/** What --json prints for a record: everything but the stored plan, which `rollway plan` shows. */
export interface RecordSummary extends Omit<ReleaseRecord, "plan"> {
  previewUrl: string;
  /** For a release left `failed` with `leftover` components: the command that puts them back. */
  finishWith?: string;
  components: { name: string; target: string; from: string | undefined; to: string; changed: boolean }[];
}

export function recordSummary(record: ReleaseRecord): RecordSummary {
  const { plan, ...rest } = record;
  return {
    ...rest,
    previewUrl: `https://${plan.previewHost}/`,
    ...(record.leftover?.length ? { finishWith: finishCommand(record) } : {}),
    components: plan.components.map((c) => ({
      name: c.name,
      target: `${c.target.kind}/${c.target.name}`,
      from: c.image.from,
      to: c.image.to,
      changed: c.changed,
    })),
  };
}
