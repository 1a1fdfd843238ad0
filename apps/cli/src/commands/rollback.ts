/** `rollway rollback`: a promoted release's components back to what it replaced, as a new release run here. */
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { formatRelease } from "../format.js";
import { CliError, ExitCode, type Output } from "../output.js";
import { recordSummary, runWithProgress } from "../run-release.js";
import { whoAmI } from "./decide.js";

export async function rollbackCommand(
  release: string,
  options: ClusterOptions & { env?: string; by?: string; timeout?: number },
  output: Output,
): Promise<void> {
  const environment = await loadEnvironment(options.env);
  const namespace = options.namespace ?? environment.namespace;
  const direct = await openDirect({ ...options, namespace });
  try {
    const record = await runWithProgress(direct, environment, { timeoutSeconds: options.timeout }, output, (run) =>
      direct.engine.rollback(release, { ...run, namespace, by: whoAmI(options.by) }),
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
