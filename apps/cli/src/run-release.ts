/**
 * Runs one release in this process (deploy, rollback) with live progress of every component, Ctrl-C and --timeout
 * both ending in the engine's abort back to stable.
 */
import { type Environment, ReleaseError, type ReleaseEvent, type ReleaseRecord } from "@rollway/release";
import type { Direct } from "./direct.js";
import { formatEvent } from "./format.js";
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
  options: { timeoutSeconds?: number | undefined },
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
  const progress = watchComponents(direct.client, environment.namespace, componentsOf(environment), output);
  const onEvent = (event: ReleaseEvent) => {
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
        { cause: error },
      );
    }
    throw error;
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    await progress.stop();
  }
}

/** What --json prints for a record: everything but the stored plan, which `rollway plan` shows. */
export interface RecordSummary extends Omit<ReleaseRecord, "plan"> {
  previewUrl: string;
  components: { name: string; target: string; from: string | undefined; to: string; changed: boolean }[];
}

export function recordSummary(record: ReleaseRecord): RecordSummary {
  const { plan, ...rest } = record;
  return {
    ...rest,
    previewUrl: `https://${plan.previewHost}/`,
    components: plan.components.map((c) => ({
      name: c.name,
      target: `${c.target.kind}/${c.target.name}`,
      from: c.image.from,
      to: c.image.to,
      changed: c.changed,
    })),
  };
}
