/**
 * The `--server URL --token` mode: the same commands over a rollway server's HTTP API (apps/webhook-server) instead
 * of the cluster. The token goes in the Authorization header only and never appears in a message.
 */
import { ENGINE_EXIT, type ExplainedCode } from "./engine-errors.js";
import { CliError, ExitCode } from "./output.js";

/** The server's routes, named so a reader sees what goes over the wire. */
export const SERVER_PATHS = {
  base: (project: string, environment: string) =>
    `/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}`,
  deploy: "/deploy",
  validate: "/validate",
  releases: "/releases",
  release: (id: string) => `/releases/${encodeURIComponent(id)}`,
  events: (id: string) => `/releases/${encodeURIComponent(id)}/events`,
  decision: (id: string, decision: string) => `/releases/${encodeURIComponent(id)}/${decision}`,
} as const;

export interface ServerReleaseSummary {
  id: string;
  state: string;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  rollbackOf?: string;
  approvals?: { gate: string; by: string; at: string }[];
  components?: { name: string; from?: string; to: string }[];
}

export interface ServerEvent {
  seq: number;
  type: string;
  message: string;
  at?: string;
}

export interface ServerClient {
  request<T>(method: "GET" | "POST", path: string, body?: string): Promise<T>;
  events(path: string, onEvent: (e: ServerEvent) => void, signal?: AbortSignal): Promise<void>;
}

export function serverClient(options: {
  server: string;
  token?: string | undefined;
  project: string;
  environment: string;
}): ServerClient {
  if (!options.token) {
    throw new CliError("--server needs --token (or ROLLWAY_TOKEN) with the deploy or approve scope", ExitCode.badInput);
  }
  // Direct mode's --env is a file (ROLLWAY_ENV from `rollway sim` is one); the server's is a name in its URL.
  if (/[/\\]|\.ya?ml$/i.test(options.environment)) {
    throw new CliError(
      `with --server, --env is the environment's name in the server's URL (e.g. --env prod), not a file: got ${JSON.stringify(options.environment)}${process.env.ROLLWAY_ENV === options.environment ? " from ROLLWAY_ENV" : ""}`,
      ExitCode.badInput,
      { code: "USAGE" },
    );
  }
  let origin: string;
  try {
    origin = new URL(options.server).origin;
  } catch {
    throw new CliError("--server is not a URL; pass e.g. https://rollway.example.com", ExitCode.badInput);
  }
  const base = `${options.server.replace(/\/+$/, "")}${SERVER_PATHS.base(options.project, options.environment)}`;
  const headers = { Authorization: `Bearer ${options.token}` };
  const send = async (path: string, init: RequestInit) => {
    try {
      return await fetch(path.startsWith("/v1/") ? `${options.server.replace(/\/+$/, "")}${path}` : `${base}${path}`, {
        ...init,
        headers: { ...headers, ...init.headers },
      });
    } catch (error) {
      throw new CliError(
        `cannot reach the rollway server at ${origin}; check --server and the network`,
        ExitCode.failed,
        {
          cause: error,
        },
      );
    }
  };
  return {
    async request<T>(method: "GET" | "POST", path: string, body?: string): Promise<T> {
      const res = await send(path, {
        method,
        ...(body === undefined ? {} : { body, headers: { "Content-Type": "application/json" } }),
      });
      const answer = (await res.json().catch(() => ({}))) as {
        message?: string;
        code?: string;
        problems?: { path: string; line?: number; column?: number; message: string }[];
      };
      if (!res.ok) {
        const problems = (answer.problems ?? [])
          .map((p) => `\n  ${p.path}${p.line ? ` (line ${p.line}, column ${p.column})` : ""}: ${p.message}`)
          .join("");
        const sent = `project "${options.project}" (--project), environment "${options.environment}" (--env)`;
        const fix =
          res.status === 401 || res.status === 403
            ? `; check --token and its scope for ${sent}`
            : res.status === 404
              ? `; check ${sent} and the release id`
              : "";
        // The engine's code decides, as in direct mode (NOT_RUNNING is 409 but not bad input); else the status.
        const engineExit =
          answer.code && Object.hasOwn(ENGINE_EXIT, answer.code)
            ? ENGINE_EXIT[answer.code as ExplainedCode]
            : undefined;
        const exit =
          engineExit ??
          (res.status === 400 || res.status === 404 || res.status === 409 ? ExitCode.badInput : ExitCode.failed);
        throw new CliError(`the server answered HTTP ${res.status}: ${answer.message ?? ""}${fix}${problems}`, exit, {
          ...(answer.code ? { code: answer.code } : {}),
        });
      }
      return answer as T;
    },
    async events(path, onEvent, signal) {
      const res = await send(path, { headers: { Accept: "text/event-stream" }, ...(signal ? { signal } : {}) });
      if (!res.ok || !res.body)
        throw new CliError(`cannot follow the release's events (HTTP ${res.status})`, ExitCode.failed);
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const data = buffer
            .slice(0, end)
            .split("\n")
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trim())
            .join("\n");
          buffer = buffer.slice(end + 2);
          if (data) onEvent(JSON.parse(data) as ServerEvent);
        }
      }
    },
  };
}
