/**
 * `mode: webhook`: the payload goes to a rollway server (seed 004's deploy webhook, as its CI examples do with curl);
 * with `wait`, the release's events are followed (Server-Sent Events) until it ends.
 */
import type { Inputs } from "./inputs.js";
import type { ReleaseResult } from "./result.js";
import type { Runner } from "./runner.js";

/** The server's routes, named so a reader sees what goes over the wire. */
export const WEBHOOK_PATHS = {
  deploy: (project: string, environment: string) =>
    `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}/deploy`,
} as const;

export class ServerError extends Error {
  override readonly name = "ServerError";
}

interface ReleaseSummary {
  id: string;
  state: string;
  reason?: string;
  components: { name: string; from?: string; to: string }[];
}

export async function runWebhook(inputs: Inputs, body: string, run: Runner): Promise<ReleaseResult> {
  const signal = AbortSignal.timeout(inputs.timeoutSeconds * 1000);
  const headers = { Authorization: `Bearer ${inputs.token}`, Accept: "application/json" };
  const call = async (path: string, init: RequestInit = {}) => {
    let res: Response;
    try {
      res = await fetch(`${inputs.serverUrl}${path}`, { ...init, headers: { ...headers, ...init.headers }, signal });
    } catch (error) {
      throw new ServerError(
        `cannot reach the rollway server at ${new URL(inputs.serverUrl).origin} (${(error as Error).cause ?? (error as Error).message}); check server-url`,
        { cause: error },
      );
    }
    return res;
  };
  const deploy = await call(WEBHOOK_PATHS.deploy(inputs.project, inputs.environment), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
  const answer = (await deploy.json().catch(() => ({}))) as {
    message?: string;
    releaseId?: string;
    statusUrl?: string;
    eventsUrl?: string;
    problems?: { path: string; line?: number; column?: number; message: string }[];
  };
  if (!deploy.ok) {
    const problems = (answer.problems ?? [])
      .map((p) => `\n  ${p.path}${p.line ? ` (line ${p.line}, column ${p.column})` : ""}: ${p.message}`)
      .join("");
    const hint =
      deploy.status === 401 || deploy.status === 403
        ? "; check the token secret and its scope for this environment"
        : "";
    throw new ServerError(
      `the server refused the deploy (HTTP ${deploy.status}): ${answer.message ?? ""}${hint}${problems}`,
    );
  }
  const releaseId = answer.releaseId as string;
  run.info(`release ${releaseId} started on ${new URL(inputs.serverUrl).origin}`);
  let previewUrl = "";
  if (inputs.wait && answer.eventsUrl) {
    const events = await call(answer.eventsUrl, { headers: { Accept: "text/event-stream" } });
    if (!events.ok || !events.body) throw new ServerError(`cannot follow the release's events (HTTP ${events.status})`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trim())
          .join("\n");
        if (!data) continue;
        const event = JSON.parse(data) as { type: string; message: string; at?: string };
        run.info(`${event.at?.slice(11, 19) ?? ""} ${event.type}: ${event.message}`.trim());
        const url = /https?:\/\/\S+?\/?(?=[\s,;)]|$)/.exec(event.message)?.[0];
        if (!previewUrl && url && /preview/.test(event.type + url)) previewUrl = url;
      }
    }
  }
  const status = await call(answer.statusUrl as string);
  const { release } = (await status.json()) as { release: ReleaseSummary };
  return {
    releaseId,
    environment: inputs.environment,
    previewUrl,
    status: inputs.wait ? release.state : "started",
    message: release.reason,
    components: release.components.map((c) => ({ name: c.name, from: c.from, to: c.to })),
  };
}
