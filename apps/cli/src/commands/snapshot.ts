/** `rollway snapshot`: the snapshooter (code as data to patch files, committed and pushed to git). */
import { CliError, type ExitCode, type Output, printJson } from "../output.js";

export interface SnapshotOptions {
  config: string;
  source: string;
  entry?: string;
  dryRun?: boolean;
  /** Percent, 0..100, as typed (`--max-removed`). */
  maxRemoved?: string;
}

export async function snapshotCommand(options: SnapshotOptions, output: Output): Promise<void> {
  const { EXIT_CODES, exitCodeOf, formatReport, runSnapshots } = await import("@rollway/snapshooter");
  const maxRemoved = Number(options.maxRemoved ?? "10");
  if (options.maxRemoved !== undefined && (!/^\d+(\.\d+)?$/.test(options.maxRemoved.trim()) || maxRemoved > 100)) {
    throw new CliError(
      `--max-removed ${JSON.stringify(options.maxRemoved)}: give a percent from 0 to 100 (default 10)`,
      EXIT_CODES.BAD_CONFIG as ExitCode,
    );
  }
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  // A cron job, Kubernetes or systemd stops with SIGTERM, a terminal with SIGINT: both abort the same way (the child
  // git is killed, the checkout removed, the report printed), so no push lands after rollway has ended.
  const interrupt = (signal: NodeJS.Signals) => {
    stoppedBy ??= signal;
    controller.abort();
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    const report = await runSnapshots({
      configPath: options.config,
      source: options.source,
      ...(options.entry ? { entry: options.entry } : {}),
      dryRun: Boolean(options.dryRun),
      maxRemovedShare: maxRemoved / 100,
      maxRemovedOverride: `--max-removed <percent> (now ${maxRemoved}%)`,
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
      const what =
        code === EXIT_CODES.ABORTED
          ? `snapshot interrupted${stoppedBy ? ` by ${stoppedBy}` : ""} for ${failed.join(", ")}: nothing was pushed`
          : `snapshot failed for ${failed.join(", ")}; see the report above`;
      throw new CliError(what, code as ExitCode);
    }
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
}
