/** What `rollway snapshot` prints and the exit code it ends with, for people and for cron jobs. */
import { SnapshooterError } from "./errors.js";
import type { EntryReport, SnapshotReport } from "./run.js";

/**
 * Exit codes a cron job can act on.
 * - 0 `OK`: every entry succeeded, whether it committed changes or had nothing to do (or a dry run finished).
 * - 1 `FAILED`: at least one entry, or the source, failed; the message says which and why. Nothing half-written.
 * - 2 `BAD_CONFIG`: the configuration (or `--entry`) is wrong; fix the file, retrying will not help.
 * - 3 `LOCKED`: another run holds the checkout; this run did nothing, the next tick will do the work.
 * - 130 `ABORTED`: interrupted (SIGINT/SIGTERM through the AbortSignal).
 *
 * "Changes committed" is not a distinct code: cron and most CI treat any non-zero exit as a failure to alert on,
 * and a run that saved changes is the normal good case. Read `report.entries[].status`/`commit` to tell them apart.
 */
export const EXIT_CODES = { OK: 0, FAILED: 1, BAD_CONFIG: 2, LOCKED: 3, ABORTED: 130 } as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

const CONFIG_CODES = new Set(["CONFIG_NOT_FOUND", "INVALID_CONFIG", "UNKNOWN_ENTRY"]);

/** The exit code for a finished run's report, or for the error `runSnapshots` threw. */
export function exitCodeOf(outcome: SnapshotReport | unknown): ExitCode {
  if (isReport(outcome)) {
    const failed = outcome.entries.filter((e) => e.status === "failed");
    const skipped = outcome.entries.filter((e) => e.status === "skipped");
    if (failed.length === 0) return skipped.length === 0 ? EXIT_CODES.OK : EXIT_CODES.LOCKED;
    if (failed.every((e) => e.error?.code === "ABORTED")) return EXIT_CODES.ABORTED;
    return EXIT_CODES.FAILED;
  }
  if (outcome instanceof SnapshooterError) {
    if (CONFIG_CODES.has(outcome.code)) return EXIT_CODES.BAD_CONFIG;
    if (outcome.code === "LOCKED") return EXIT_CODES.LOCKED;
    if (outcome.code === "ABORTED") return EXIT_CODES.ABORTED;
  }
  return EXIT_CODES.FAILED;
}

function isReport(value: unknown): value is SnapshotReport {
  return typeof value === "object" && value !== null && Array.isArray((value as SnapshotReport).entries);
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
}

function formatEntry(entry: EntryReport, dryRun: boolean): string[] {
  const { added, changed, removed } = entry.files;
  const head = `${entry.name} (${entry.outputDir})`;
  if (entry.status === "skipped") {
    return [`- ${head}: skipped [${entry.error?.code}], another run is doing this work; this run changed nothing`];
  }
  if (entry.status === "failed") {
    return [
      `✗ ${head}: failed [${entry.error?.code}]`,
      ...(entry.error?.message ?? "").split("\n").map((l) => `    ${l}`),
    ];
  }
  const counts = `${plural(entry.objects, "object")}; ${added.length} added, ${changed.length} changed, ${removed.length} removed`;
  const lines: string[] = [];
  if (entry.status === "unchanged") lines.push(`= ${head}: no change (${plural(entry.objects, "object")})`);
  else lines.push(`${dryRun ? "~" : "✓"} ${head}: ${dryRun ? "would change" : "changed"} — ${counts}`);
  for (const file of added) lines.push(`    + ${file}`);
  for (const file of changed) lines.push(`    ~ ${file}`);
  for (const file of removed) lines.push(`    - ${file}`);
  if (entry.commit) {
    const retries = entry.pushAttempts > 1 ? ` after ${plural(entry.pushAttempts - 1, "refused push")}` : "";
    lines.push(`    commit ${entry.commit.slice(0, 12)} ${entry.pushed ? `pushed${retries}` : "not pushed"}`);
  }
  return lines;
}

/** A human summary: one block per entry, files prefixed `+` added, `~` changed, `-` removed. */
export function formatReport(report: SnapshotReport): string {
  const lines = [`${report.dryRun ? "Dry run: nothing written. " : ""}Source: ${report.source}`];
  for (const entry of report.entries) lines.push(...formatEntry(entry, report.dryRun));
  const failed = report.entries.filter((e) => e.status === "failed").length;
  const skipped = report.entries.filter((e) => e.status === "skipped").length;
  const updated = report.entries.filter((e) => e.status === "updated" || e.status === "would-update").length;
  lines.push(
    `${plural(report.entries.length, "entry").replace("entrys", "entries")}: ${updated} ${report.dryRun ? "would change" : "changed"}, ${report.entries.length - updated - failed - skipped} unchanged, ${skipped ? `${skipped} skipped, ` : ""}${failed} failed`,
  );
  return `${lines.join("\n")}\n`;
}

/** The text for an error `runSnapshots` threw (credentials already redacted). */
export function formatError(error: unknown): string {
  if (error instanceof SnapshooterError) return `error [${error.code}]: ${error.message}\n`;
  return `error: ${error instanceof Error ? error.message : String(error)}\n`;
}
