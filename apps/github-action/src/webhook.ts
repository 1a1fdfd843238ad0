/**
 * The server modes: `webhook` posts the payload to a rollway server (seed 004's deploy webhook); `promote` and `abort`
 * send a decision for a release an earlier job started. Then the release's events (Server-Sent Events) are followed
 * as far as `wait` says, and the release is read back for the outputs.
 */
import type { ReleaseEvent } from "@rollway/release";
import type { Inputs, Wait } from "./inputs.js";
import type { Log, ReleaseResult } from "./result.js";

/** The server's routes, named so a reader sees what goes over the wire. */
export const WEBHOOK_PATHS = {
  deploy: (project: string, environment: string) =>
    `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}/deploy`,
  release: (project: string, environment: string, release: string) =>
    `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}/releases/${encodeURIComponent(release)}`,
  decision: (project: string, environment: string, release: string, decision: "promote" | "abort") =>
    `${WEBHOOK_PATHS.release(project, environment, release)}/${decision}`,
} as const;

export class ServerError extends Error {
  override readonly name = "ServerError";
  readonly code: string;
  readonly problems: { path: string; line?: number; column?: number; message: string }[];
  constructor(code: string, message: string, options?: { cause?: unknown; problems?: ServerError["problems"] }) {
    super(message, options);
    this.code = code;
    this.problems = options?.problems ?? [];
  }
}

interface ReleaseSummary {
  id: string;
  state: string;
  reason?: string;
  components?: { name: string; from?: string; to: string }[];
}

/** Event types after which a release moves no further on its own. */
const ENDS = new Set(["upgrade-done", "aborted", "failed"]);
/** Where each `wait` stops following events (besides the end). */
const STOPS: Record<Wait, ReadonlySet<string>> = {
  none: new Set(),
  // A release waiting for approval moves only when someone decides: the step returns and says so.
  promoted: new Set(["waiting-for-approval"]),
  preview: new Set(["previews-ready", "waiting-for-approval"]),
};

export async function runServer(inputs: Inputs, body: string, log: Log): Promise<ReleaseResult> {
  const timeout = AbortSignal.timeout(inputs.timeoutSeconds * 1000);
  const origin = new URL(inputs.serverUrl).origin;
  const headers = { Authorization: `Bearer ${inputs.token}`, Accept: "application/json" };
  const call = async (path: string, init: RequestInit = {}) => {
    try {
      return await fetch(`${inputs.serverUrl}${path}`, {
        ...init,
        headers: { ...headers, ...init.headers },
        signal: timeout,
      });
    } catch (error) {
      if (timeout.aborted) throw error;
      throw new ServerError(
        "UNREACHABLE",
        `cannot reach the rollway server at ${origin} (${(error as Error).cause ?? (error as Error).message}); check server-url`,
        { cause: error },
      );
    }
  };
  const refused = async (res: Response, what: string) => {
    const answer = (await res.json().catch(() => ({}))) as {
      message?: string;
      code?: string;
      problems?: ServerError["problems"];
    };
    const hint =
      res.status === 401 || res.status === 403
        ? `; check the token secret and its scope for project "${inputs.project}", environment "${inputs.environment}"`
        : res.status === 404
          ? `; check project "${inputs.project}" and environment "${inputs.environment}"`
          : "";
    return new ServerError(
      answer.code ?? `HTTP_${res.status}`,
      `the server refused the ${what} (HTTP ${res.status}): ${answer.message ?? ""}${hint}`,
      { problems: answer.problems ?? [] },
    );
  };

  let releaseId: string;
  let statusPath: string;
  let eventsPath: string;
  if (inputs.mode === "webhook") {
    const deploy = await call(WEBHOOK_PATHS.deploy(inputs.project, inputs.environment), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    if (!deploy.ok) throw await refused(deploy, "deploy");
    const answer = (await deploy.json()) as { releaseId: string; statusUrl: string; eventsUrl: string };
    releaseId = answer.releaseId;
    statusPath = answer.statusUrl;
    eventsPath = answer.eventsUrl;
    log.info(`release ${releaseId} started on ${origin}`);
  } else {
    const decision = inputs.mode === "promote" ? "promote" : "abort";
    releaseId = inputs.releaseId;
    const res = await call(WEBHOOK_PATHS.decision(inputs.project, inputs.environment, releaseId, decision), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        by: process.env.GITHUB_ACTOR ? `${process.env.GITHUB_ACTOR} (GitHub Actions)` : undefined,
      }),
    });
    if (!res.ok) throw await refused(res, decision);
    statusPath = WEBHOOK_PATHS.release(inputs.project, inputs.environment, releaseId);
    eventsPath = `${statusPath}/events`;
    log.info(`release ${releaseId}: ${decision} sent to ${origin}`);
  }

  let previewUrl = "";
  let timedOut = false;
  if (inputs.wait !== "none") {
    try {
      // A decision's release replays its earlier events (its own waiting-for-approval among them): only its end stops.
      const stops = inputs.mode === "webhook" ? STOPS[inputs.wait] : STOPS.none;
      previewUrl = await follow(call, eventsPath, stops, log);
    } catch (error) {
      if (!timeout.aborted) throw error;
      timedOut = true;
    }
  }
  // Read back without the spent timeout: the outputs and the summary must say where the release stands.
  const res = await fetch(`${inputs.serverUrl}${statusPath}`, { headers, signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw await refused(res, "status read");
  const { release } = (await res.json()) as { release: ReleaseSummary };
  const status = inputs.wait === "none" && inputs.mode === "webhook" ? "started" : release.state;
  return {
    releaseId,
    environment: inputs.environment,
    previewUrl,
    status,
    message: timedOut
      ? `still ${release.state} after ${inputs.timeoutSeconds} s (timeout); the release goes on: promote or abort it with mode: promote or mode: abort and release-id: ${releaseId}`
      : release.reason,
    timedOut,
    components: (release.components ?? []).map((c) => ({ name: c.name, from: c.from, to: c.to })),
  };
}

/** Follows the release's events until `wait` is met or the release ends; returns the preview URL seen. */
async function follow(
  call: (path: string, init?: RequestInit) => Promise<Response>,
  path: string,
  stops: ReadonlySet<string>,
  log: Log,
): Promise<string> {
  const events = await call(path, { headers: { Accept: "text/event-stream" } });
  if (!events.ok || !events.body)
    throw new ServerError(`HTTP_${events.status}`, `cannot follow the release's events (HTTP ${events.status})`);
  const decoder = new TextDecoder();
  let buffer = "";
  let previewUrl = "";
  const reader = events.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return previewUrl;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trim())
          .join("\n");
        if (!data) continue;
        // The engine's event (@rollway/release's ReleaseEvent): the preview address is data, never read from `message`.
        const event = JSON.parse(data) as Pick<ReleaseEvent, "type" | "message" | "at" | "previewUrl">;
        log.info(`${event.at?.slice(11, 19) ?? ""} ${event.type}: ${event.message}`.trim());
        if (event.previewUrl) previewUrl = event.previewUrl;
        if (ENDS.has(event.type) || stops.has(event.type)) return previewUrl;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
