/**
 * The release commands in `--server` mode: the same names, flags and output as the direct mode, over the server's
 * HTTP API (the server runs the engine; this process only asks and follows).
 */
import { formatHistory } from "../format.js";
import { CliError, ExitCode, type Output, printDone, printJson } from "../output.js";
import { type ServerEvent, type ServerReleaseSummary, serverClient } from "../server-client.js";
import { printStatus, type StatusView } from "../status-view.js";

export interface RemoteOptions {
  server: string;
  token?: string;
  project?: string;
  env?: string;
}

function clientFor(options: RemoteOptions) {
  if (!options.env) {
    throw new CliError("--server mode needs --env <environment name> (as in the server's URL)", ExitCode.badInput);
  }
  return serverClient({
    server: options.server,
    token: options.token,
    project: options.project ?? "default",
    environment: options.env,
  });
}

const TERMINAL = new Set(["promoted", "failed", "aborted", "rolled-back"]);

function formatSummary(r: ServerReleaseSummary): string {
  const rows = (r.components ?? []).map((c) => `  ${c.name.padEnd(12)} ${c.from ?? "-"} → ${c.to}`);
  return [
    `Release ${r.id}: ${r.state}${r.reason ? `; ${r.reason}` : ""}${r.rollbackOf ? ` (rollback of ${r.rollbackOf})` : ""}`,
    ...(r.approvals ?? []).map((a) => `approved (${a.gate}) by ${a.by} at ${a.at}`),
    ...rows,
    "",
  ].join("\n");
}

async function follow(client: ReturnType<typeof serverClient>, id: string, output: Output, timeoutSeconds?: number) {
  const signal = timeoutSeconds ? AbortSignal.timeout(timeoutSeconds * 1000) : undefined;
  const print = (e: ServerEvent) => {
    if (output.json) output.out(`${JSON.stringify({ type: "event", event: e })}\n`);
    else output.out(`${e.at?.slice(11, 19) ?? ""} ${e.type.padEnd(20)} ${e.message}\n`);
  };
  try {
    await client.events(`/releases/${encodeURIComponent(id)}/events`, print, signal);
  } catch (error) {
    if (signal?.aborted) {
      throw new CliError(
        `release ${id} did not end within --timeout ${timeoutSeconds} s (it goes on on the server); follow it with \`rollway status\``,
        ExitCode.timedOut,
        { cause: error },
      );
    }
    throw error;
  }
  return (await client.request<{ release: ServerReleaseSummary }>("GET", `/releases/${encodeURIComponent(id)}`))
    .release;
}

export async function remoteDeploy(
  payloadFile: string,
  options: RemoteOptions & { dryRun?: boolean; wait?: boolean; timeout?: number },
  output: Output,
): Promise<void> {
  // The same errors, with line and column, before anything is sent. The payload's schema (zod) loads only here:
  // `status`, `history` and the decisions never read a payload.
  const { readPayloadFile } = await import("../payload-file.js");
  const { text } = await readPayloadFile(payloadFile);
  const client = clientFor(options);
  if (options.dryRun) {
    const answer = await client.request<{ payload: unknown }>("POST", "/validate", text);
    if (output.json) printJson(output, { ok: true, dryRun: true, payload: answer.payload });
    else output.out("Dry run: the server accepts the payload; nothing changed.\n");
    return;
  }
  const started = await client.request<{ releaseId: string }>("POST", "/deploy", text);
  if (!output.json) output.out(`Release ${started.releaseId} started on the server.\n`);
  if (!options.wait) {
    if (output.json) printDone(output, { ok: true, releaseId: started.releaseId, state: "started" });
    return;
  }
  const release = await follow(client, started.releaseId, output, options.timeout);
  if (output.json) output.out(`${JSON.stringify({ type: "done", ok: release.state === "promoted", release })}\n`);
  else output.out(`\n${formatSummary(release)}`);
  if (release.state !== "promoted" && TERMINAL.has(release.state)) {
    throw new CliError(`release ${release.id} ended ${release.state}: ${release.reason ?? ""}`, ExitCode.failed);
  }
}

export async function remoteStatus(options: RemoteOptions & { watch?: boolean; timeout?: number }, output: Output) {
  const client = clientFor(options);
  if (options.watch) {
    const { releases } = await client.request<{ releases: ServerReleaseSummary[] }>("GET", "/releases");
    const latest = releases[0];
    if (latest && !TERMINAL.has(latest.state)) await follow(client, latest.id, output, options.timeout);
  }
  // The same view as in direct mode: every component's workload, read by the server from its cluster.
  const view = await client.request<StatusView & { message: string }>("GET", "/status");
  const { message: _ok, ...rest } = view;
  printStatus(rest, output);
}

export async function remoteHistory(release: string | undefined, options: RemoteOptions, output: Output) {
  const client = clientFor(options);
  if (release) {
    const one = (
      await client.request<{ release: ServerReleaseSummary }>("GET", `/releases/${encodeURIComponent(release)}`)
    ).release;
    if (output.json) printJson(output, { ok: true, release: one });
    else output.out(formatSummary(one));
    return;
  }
  const { releases } = await client.request<{ releases: ServerReleaseSummary[] }>("GET", "/releases");
  if (output.json) {
    printJson(output, { ok: true, releases });
    return;
  }
  // The same table as direct mode's, from the server's summaries.
  output.out(
    formatHistory(
      releases.map((r) => ({
        id: r.id,
        state: r.state,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        changed: (r.components ?? []).map((c) => c.name),
        rollbackOf: r.rollbackOf,
        message: r.reason,
      })),
    ),
  );
}

export async function remoteDecision(
  decision: "promote" | "approve" | "abort" | "rollback",
  release: string,
  options: RemoteOptions & { by?: string; wait?: boolean; timeout?: number },
  output: Output,
) {
  const client = clientFor(options);
  const segment = decision === "approve" ? "approve-code-as-data" : decision;
  const body = JSON.stringify(options.by ? { by: options.by } : {});
  const answer = await client.request<{ release?: ServerReleaseSummary; releaseId?: string }>(
    "POST",
    `/releases/${encodeURIComponent(release)}/${segment}`,
    body,
  );
  if (decision === "rollback" && answer.releaseId) {
    const done = await follow(client, answer.releaseId, output, options.timeout);
    if (output.json) output.out(`${JSON.stringify({ type: "done", ok: done.state === "promoted", release: done })}\n`);
    else output.out(`\nRollback of ${release}:\n${formatSummary(done)}`);
    if (done.state !== "promoted") throw new CliError(`rollback ${done.id} ended ${done.state}`, ExitCode.failed);
    return;
  }
  if (output.json) printJson(output, { ok: true, release: answer.release });
  else
    output.out(
      `${decision} of ${release} recorded on the server.\n${answer.release ? formatSummary(answer.release) : ""}`,
    );
}
