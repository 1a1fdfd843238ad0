/** Text shapes shared by several commands: release history, one release, events. */
import type { ReleaseEvent, ReleaseRecord } from "@rollway/release";

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** One line of `rollway history`: the same from a record (direct mode) and from a server's summary (--server). */
export interface HistoryRow {
  id: string;
  state: string;
  startedAt?: string | undefined;
  finishedAt?: string | undefined;
  /** The components the release changes. */
  changed: string[];
  rollbackOf?: string | undefined;
  /** Why it failed or was aborted. */
  message?: string | undefined;
}

export const historyRowOf = (r: ReleaseRecord): HistoryRow => ({
  id: r.id,
  state: r.state,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  changed: r.plan.components.filter((c) => c.changed).map((c) => c.name),
  rollbackOf: r.rollbackOf,
  message: r.message,
});

export function formatHistory(releases: readonly HistoryRow[]): string {
  if (releases.length === 0) return "No release yet.\n";
  const rows = [["RELEASE", "STATE", "STARTED", "FINISHED", "CHANGED", "NOTE"]];
  for (const r of releases) {
    const changed = r.changed;
    rows.push([
      r.id,
      r.state,
      r.startedAt ?? "-",
      r.finishedAt ?? "-",
      changed.length > 3 ? `${changed.slice(0, 3).join(",")},+${changed.length - 3}` : changed.join(",") || "-",
      r.rollbackOf ? `rollback of ${r.rollbackOf}` : (r.message ?? ""),
    ]);
  }
  return `${table(rows)}\n`;
}

/** The command that finishes a release an abort left `failed` with `leftover` components. */
export function finishCommand(r: Pick<ReleaseRecord, "id" | "namespace">): string {
  return `rollway rollback ${r.id} -n ${r.namespace}`;
}

export function formatRelease(r: ReleaseRecord): string {
  const rows = [["COMPONENT", "KIND", "IMAGE FROM", "IMAGE TO"]];
  for (const c of r.plan.components) {
    rows.push([
      c.name,
      `${c.target.kind}/${c.target.name}`,
      c.image.from ?? "-",
      c.image.changed ? c.image.to : "(unchanged)",
    ]);
  }
  const lines = [
    `Release ${r.id} to ${r.environment} (namespace ${r.namespace}): ${r.state}`,
    `started ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ""}${r.message ? `; ${r.message}` : ""}`,
    `preview: https://${r.plan.previewHost}/`,
    ...r.approvals.map((a) => `approved (${a.gate}) by ${a.by} at ${a.at}`),
    ...(r.rollbackOf
      ? [`rollback of ${r.rollbackOf}${r.undoes?.length ? `, undoing ${r.undoes.join(", ")} too` : ""}`]
      : []),
    ...(r.leftover?.length
      ? [`left over: ${r.leftover.join(", ")} (the abort could not put them back); finish with \`${finishCommand(r)}\``]
      : []),
    "",
    table(rows),
  ];
  return `${lines.join("\n")}\n`;
}

export function formatEvent(e: ReleaseEvent): string {
  return `${e.at.slice(11, 19)} ${e.type.padEnd(20)} ${e.message}`;
}
