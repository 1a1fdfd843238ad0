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

export function formatHistory(records: readonly ReleaseRecord[]): string {
  if (records.length === 0) return "No release yet.\n";
  const rows = [["RELEASE", "STATE", "STARTED", "FINISHED", "CHANGED", "NOTE"]];
  for (const r of records) {
    const changed = r.plan.components.filter((c) => c.changed).map((c) => c.name);
    rows.push([
      r.id,
      r.state,
      r.startedAt,
      r.finishedAt ?? "-",
      changed.length > 3 ? `${changed.slice(0, 3).join(",")},+${changed.length - 3}` : changed.join(",") || "-",
      r.rollbackOf ? `rollback of ${r.rollbackOf}` : (r.message ?? ""),
    ]);
  }
  return `${table(rows)}\n`;
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
    "",
    table(rows),
  ];
  return `${lines.join("\n")}\n`;
}

export function formatEvent(e: ReleaseEvent): string {
  return `${e.at.slice(11, 19)} ${e.type.padEnd(20)} ${e.message}`;
}
