/**
 * `rollway get <release-id>`: one release as a tree: each component from → to (image and oConfig), its state, who
 * decided what and when, what an abort left over, and its event log. The record is the engine's; the event log is
 * the one every process running a release (the CLI, the Action, a server) writes beside it. Releases run before the
 * log existed have none: their record's own decisions are shown instead.
 */
import { type ReleaseEvent, type ReleaseRecord, readEventLog } from "@rollway/release";
import type { Direct } from "../direct.js";
import { finishCommand } from "../format.js";
import { type Output, printDone } from "../output.js";
import { type RecordSummary, recordSummary } from "../run-release.js";

/** Release ids as the engine makes them: `<environment>-<yyyymmdd>-<hhmmss>-<4 hex>`. */
export const RELEASE_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?-\d{8}-\d{6}-[0-9a-f]{4}$/;

export interface ReleaseTree {
  record: ReleaseRecord;
  /** The stored event log, oldest first; null for a release run before event logs were kept. */
  events: (ReleaseEvent & { seq?: number })[] | null;
}

export async function readReleaseTree(direct: Direct, id: string, namespace: string): Promise<ReleaseTree> {
  const record = await direct.engine.get(id, namespace);
  // The event log every process running a release keeps beside its record (the package's release runner).
  const log = await readEventLog(direct.api, record.namespace, id);
  return { record, events: log ? log.events : null };
}

/** The record's own decisions, in time order, for a release with no stored event log. */
function decisionsOf(r: RecordSummary): string[] {
  const at = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "");
  const lines: [string, string][] = [[r.startedAt, `started by engine ${r.engine}`]];
  for (const a of r.approvals) lines.push([a.at, `approved (${a.gate}) by ${a.by}`]);
  if (r.abortRequested) lines.push([r.abortRequested.at, `abort requested by ${r.abortRequested.by}`]);
  for (const t of r.takeovers ?? []) lines.push([t.at, `taken over by ${t.by} from ${t.from}`]);
  if (r.finishedAt) lines.push([r.finishedAt, `${r.state}${r.message ? `: ${r.message}` : ""}`]);
  return lines.sort((a, b) => a[0].localeCompare(b[0])).map(([t, what]) => `${at(t)}  ${what}`);
}

export function renderReleaseTree(tree: ReleaseTree): string {
  const record = tree.record;
  const r = recordSummary(record);
  const lines = [
    `Name:         ${r.id}`,
    `Environment:  ${r.environment} (namespace ${r.namespace})`,
    `State:        ${r.state}${r.message ? `: ${r.message}` : ""}`,
    `Started:      ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ""}`,
    `Preview:      ${r.previewUrl}`,
    ...(r.rollbackOf
      ? [`Rollback of:  ${r.rollbackOf}${r.undoes?.length ? ` (undoing ${r.undoes.join(", ")} too)` : ""}`]
      : []),
    ...(r.leftover?.length ? [`Left over:    ${r.leftover.join(", ")}; finish with \`${finishCommand(r)}\``] : []),
    "",
    `Release/${r.id}`,
  ];
  const branch = (items: string[], last: boolean, title: string) => {
    lines.push(`${last ? "└" : "├"}── ${title}`);
    const pad = last ? "    " : "│   ";
    items.forEach((item, i) => {
      lines.push(`${pad}${i === items.length - 1 ? "└" : "├"}── ${item}`);
    });
  };
  const width = Math.max(0, ...record.plan.components.map((c) => c.name.length));
  const kindWidth = Math.max(0, ...record.plan.components.map((c) => c.target.kind.length + c.target.name.length + 1));
  const components = record.plan.components.map((c) => {
    const left = r.leftover?.includes(c.name) ? "  left over" : "";
    const image = c.image.changed ? `${c.image.from ?? "-"} → ${c.image.to}` : `${c.image.to} (unchanged)`;
    const config = c.config?.changed ? `, oConfig ${c.config.from.configMap ?? "-"} → ${c.config.to.configMap}` : "";
    return `${c.name.padEnd(width)}  ${`${c.target.kind}/${c.target.name}`.padEnd(kindWidth)}  ${image}${config}${left}`;
  });
  const approvals = r.approvals.map((a) => `${a.gate} approved by ${a.by} at ${a.at}`);
  const events = tree.events
    ? tree.events.map((e) => `${e.at.slice(11, 19)} ${e.type.padEnd(20)} ${e.message}`)
    : decisionsOf(r);
  branch(components, false, "components (from → to)");
  branch(approvals.length ? approvals : ["none"], false, "approvals");
  branch(
    events,
    true,
    tree.events ? "events" : "decisions (no event log stored: the release ran before rollway kept event logs)",
  );
  return `${lines.join("\n")}\n`;
}

export async function getReleaseCommand(direct: Direct, id: string, namespace: string, output: Output) {
  const tree = await readReleaseTree(direct, id, namespace);
  if (output.json) printDone(output, { ok: true, release: recordSummary(tree.record), events: tree.events });
  else output.out(renderReleaseTree(tree));
}
