import type { Resolution } from "./resolve.js";

/** A readable table of every backend, its image and the rule that chose it, followed by any warnings. */
export function explain(resolution: Resolution): string {
  const header = ["BACKEND", "IMAGE", "CHOSEN BY"];
  const rows = resolution.assignments.map((a) =>
    a.change === "update"
      ? [
          a.backend,
          a.currentImage ? `${a.currentImage} -> ${a.image}` : a.image,
          `rule ${a.rule.index}: /${a.rule.source}/ -> /${a.rule.target}/`,
        ]
      : [a.backend, a.image ?? "(current image)", "no rule targets it: unchanged"],
  );
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const w of resolution.warnings) out.push(`warning: ${w.path}: ${w.message}`);
  return `${out.join("\n")}\n`;
}
