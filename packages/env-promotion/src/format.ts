/** The human view of a promotion or rollback, for the CLI and logs. Contains no secret: results never hold one. */
import type { Approval } from "./approval.js";
import { describeImage, type PromotionResult } from "./deliver.js";
import { formatImageReference } from "./kustomization.js";

const STATUS: Record<PromotionResult["status"], (r: PromotionResult) => string> = {
  "up-to-date": (r) =>
    r.action === "promote"
      ? `${r.to} already runs what ${r.from} runs: nothing to promote, nothing committed.`
      : `Reverting ${r.reverted?.slice(0, 12)} changes nothing in ${r.to}: nothing committed.`,
  planned: (r) =>
    r.wouldRefuse
      ? `Dry run: promoting ${r.from} to ${r.to} would be REFUSED [${r.wouldRefuse.code}]; this is the change it would make:`
      : `Dry run: would ${r.action === "promote" ? `promote ${r.from} to ${r.to}` : `roll back ${r.to}`}.`,
  "pull-request": (r) =>
    `${r.action === "promote" ? `Promotion of ${r.from} to ${r.to}` : `Rollback of ${r.to}`} proposed in pull request #${
      r.pullRequest?.number
    }: ${r.pullRequest?.url}`,
  pushed: (r) =>
    `${r.action === "promote" ? `Promoted ${r.from} to ${r.to}` : `Rolled back ${r.to}`}: pushed to ${r.remote}/${r.base}.`,
};

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => row[col]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

export function formatPromotion(result: PromotionResult): string {
  const lines = [STATUS[result.status](result)];
  const facts: [string, string | undefined][] = [
    ["overlay", result.overlay],
    ["base", `${result.remote}/${result.base} at ${result.baseCommit.slice(0, 12)}`],
    ["reverts", result.reverted],
    ["branch", result.branch],
    ["commit", result.commit],
  ];
  if (result.action === "promote" && result.status !== "up-to-date") {
    facts.push([
      "QA approval",
      result.approval
        ? `${result.approval.tag} by ${result.approval.approver}${result.approval.signer ? `, signed by ${result.approval.signer}` : ""} (${result.approval.date})`
        : result.wouldRefuse?.code.startsWith("APPROVAL_")
          ? "none that counts: the promotion would be refused"
          : "none recorded: FORCED",
    ]);
  }
  if (result.sourceHealth) {
    facts.push([
      "health",
      result.sourceHealth.skipped
        ? `health check of ${result.from} skipped on purpose (${result.sourceHealth.checks.join(", ") || "none configured"})`
        : `${result.from} Healthy and serving these images (${result.sourceHealth.checks.join(", ")})`,
    ]);
  }
  if (result.live) {
    facts.push([
      "live",
      result.live.argoCd
        ? `merged as ${result.live.commit.slice(0, 12)}; Argo CD application ${result.live.argoCd.application} ${result.live.argoCd.sync} at ${result.live.argoCd.revision.slice(0, 12)} and ${result.live.argoCd.health}`
        : `merged as ${result.live.commit.slice(0, 12)}`,
    ]);
  }
  for (const line of table(facts.filter((f): f is [string, string] => Boolean(f[1])).map(([k, v]) => [`  ${k}`, v]))) {
    lines.push(line);
  }
  if (result.images.length) {
    const rows = [
      ["  IMAGE", "CHANGE", result.action === "promote" ? `${result.to.toUpperCase()} BEFORE` : "BEFORE", "AFTER"],
    ];
    for (const row of result.images) {
      rows.push([
        `  ${row.name}`,
        row.change,
        describeImage(row.before, result.to),
        describeImage(row.after, result.to),
      ]);
    }
    lines.push("", ...table(rows));
  }
  if (result.untouched.length)
    lines.push("", `  Left as they are (not in ${result.from}): ${result.untouched.join(", ")}`);
  if (result.wouldRefuse)
    lines.push("", "Why it would be refused:", ...result.wouldRefuse.reason.split("\n").map((l) => `  ${l}`));
  return lines.join("\n");
}

/** The human view of a recorded QA approval. */
export function formatApproval(approval: Approval): string {
  const lines = [
    `${approval.created ? "Recorded" : "Already recorded"}: QA approval of ${approval.env} at ${approval.commit.slice(0, 12)}`,
    `  tag       ${approval.tag}`,
    `  approver  ${approval.approver}`,
    `  date      ${approval.date}`,
    "",
    ...table([["  IMAGE", "APPROVED"], ...approval.images.map((i) => [`  ${i.name}`, formatImageReference(i)])]),
  ];
  return lines.join("\n");
}
