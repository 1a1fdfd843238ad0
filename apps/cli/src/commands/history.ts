/** `rollway history`: the releases of an environment, newest first, or one release with its components. */
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { formatHistory, formatRelease, historyRowOf } from "../format.js";
import { type Output, printJson } from "../output.js";
import { recordSummary } from "../run-release.js";

export async function historyCommand(
  release: string | undefined,
  options: ClusterOptions & { env?: string },
  output: Output,
): Promise<void> {
  const environment = release && !options.env ? undefined : await loadEnvironment(options.env);
  const namespace = options.namespace ?? environment?.namespace;
  const direct = await openDirect({ ...options, ...(namespace ? { namespace } : {}) });
  try {
    if (release) {
      const record = await direct.engine.get(release, namespace);
      if (output.json) printJson(output, { ok: true, release: recordSummary(record) });
      else output.out(formatRelease(record));
      return;
    }
    const records = await direct.engine.history((environment as { name: string }).name, namespace);
    if (output.json) printJson(output, { ok: true, releases: records.map(recordSummary) });
    else output.out(formatHistory(records.map(historyRowOf)));
  } finally {
    direct.close();
  }
}
