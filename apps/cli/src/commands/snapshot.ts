/** `rollway snapshot`: the snapshooter (code as data to patch files, committed and pushed to git). */
import { CliError, type ExitCode, type Output, printJson } from "../output.js";

export interface SnapshotOptions {
  config: string;
  source: string;
  entry?: string;
  dryRun?: boolean;
}

export async function snapshotCommand(options: SnapshotOptions, output: Output): Promise<void> {
  const { exitCodeOf, formatReport, runSnapshots } = await import("@rollway/snapshooter");
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  try {
    const report = await runSnapshots({
      configPath: options.config,
      source: options.source,
      ...(options.entry ? { entry: options.entry } : {}),
      dryRun: Boolean(options.dryRun),
      signal: controller.signal,
      onEvent: (event) => {
        if (output.json) output.err(`${JSON.stringify(event)}\n`);
      },
    });
    if (output.json) printJson(output, { ok: exitCodeOf(report) === 0, report });
    else output.out(formatReport(report));
    const code = exitCodeOf(report);
    if (code !== 0) {
      const failed = report.entries.filter((e) => e.status === "failed").map((e) => e.name);
      throw new CliError(`snapshot failed for ${failed.join(", ")}; see the report above`, code as ExitCode);
    }
  } finally {
    process.off("SIGINT", interrupt);
  }
}
