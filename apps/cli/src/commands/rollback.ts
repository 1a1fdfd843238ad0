/**
 * `rollway rollback`: a promoted release's components back to what it replaced, as a new release run here. Only the
 * newest promoted release, unless `--undoing` names every newer one it undoes too; a release an abort left `failed`
 * with leftover components is finished the same way.
 */
import { ReleaseError } from "@rollway/release";
import { type ClusterOptions, type Direct, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { formatRelease } from "../format.js";
import { CliError, ExitCode, type Output } from "../output.js";
import { recordSummary, runWithProgress, settle } from "../run-release.js";
import { whoAmI } from "./decide.js";

export async function rollbackCommand(
  release: string,
  options: ClusterOptions & { env?: string; by?: string; timeout?: number; undoing?: string[] },
  output: Output,
): Promise<void> {
  const environment = await loadEnvironment(options.env);
  const namespace = options.namespace ?? environment.namespace;
  const direct = await openDirect({ ...options, namespace });
  try {
    const undoing = options.undoing?.length ? { undoing: options.undoing } : {};
    const running = runWithProgress(direct, environment, { timeoutSeconds: options.timeout }, output, (run) =>
      direct.engine.rollback(release, { ...run, namespace, by: whoAmI(options.by), ...undoing }),
    );
    // NOT_NEWEST: the newer promoted releases are read from the records (never from the engine's message).
    const record = await settle(direct, namespace, output, running, async (error) =>
      error instanceof ReleaseError && error.code === "NOT_NEWEST"
        ? { newer: await newerPromoted(direct, release, namespace).catch(() => []) }
        : {},
    );
    if (output.json) output.out(`${JSON.stringify({ type: "done", ok: true, release: recordSummary(record) })}\n`);
    else output.out(`\nRollback of ${release}:\n${formatRelease(record)}`);
    if (record.state !== "promoted") {
      throw new CliError(`rollback ${record.id} ended ${record.state}: ${record.message ?? ""}`, ExitCode.failed);
    }
  } finally {
    direct.close();
  }
}

/** The promoted releases of the release's environment that finished after it, newest first. */
async function newerPromoted(direct: Direct, release: string, namespace: string) {
  const record = await direct.engine.get(release, namespace);
  return (await direct.engine.history(record.environment, namespace))
    .filter((x) => x.state === "promoted" && x.id !== release && (x.finishedAt ?? "") > (record.finishedAt ?? ""))
    .map((x) => x.id);
}
