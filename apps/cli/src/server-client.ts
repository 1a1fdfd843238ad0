/**
 * The `--server URL --token` mode: the same commands over a rollway server's HTTP API (apps/webhook-server) instead
 * of the cluster. The token goes in the Authorization header only and never appears in a message.
 *
 * Requests go through `node:http`/`node:https`, not the global `fetch`: on Node 20 `fetch` loads undici and compiles
 * its WebAssembly HTTP parser, whose optimizing compile the process then waited for before it could exit (a
 * `status --server` took 0.6-1 s instead of ~0.25 s); on Node 24 it still cost ~0.1 s of CPU per command.
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
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

interface Sent {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

interface Received {
  status: number;
  ok: boolean;
  body: IncomingMessage;
}

/** As long as `fetch` (undici) waited by default for an answer's headers, or between two parts of its body. */
const IDLE_TIMEOUT_MS = 300_000;
/** As many redirects as `fetch` follows. */
const MAX_REDIRECTS = 20;

/**
 * One request, following redirects as `fetch` does: 303, and 301/302 after a POST, go on as a GET without the body;
 * 307 and 308 repeat the request; the Authorization header is dropped when the redirect leaves the origin.
 */
async function exchange(url: string, sent: Sent, redirects = 0): Promise<Received> {
  const target = new URL(url);
  const transport = target.protocol === "https:" ? https : target.protocol === "http:" ? http : undefined;
  if (!transport) throw new TypeError(`unsupported protocol ${target.protocol}`);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = transport.request(
      target,
      {
        method: sent.method ?? "GET",
        headers: sent.headers ?? {},
        ...(sent.signal ? { signal: sent.signal } : {}),
      },
      resolve,
    );
    req.setTimeout(IDLE_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer from the server within ${IDLE_TIMEOUT_MS / 1000} s`)),
    );
    req.on("error", reject);
    req.end(sent.body);
  });
  const status = res.statusCode ?? 0;
  const location = res.headers.location;
  if ([301, 302, 303, 307, 308].includes(status) && location !== undefined) {
    res.resume();
    if (redirects >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, target);
    const asGet = status === 303 || ((status === 301 || status === 302) && sent.method === "POST");
    const headers = { ...sent.headers };
    if (next.origin !== target.origin) delete headers.Authorization;
    if (asGet) delete headers["Content-Type"];
    const { body: _body, ...rest } = sent;
    return exchange(next.href, { ...(asGet ? { ...rest, method: "GET" as const } : sent), headers }, redirects + 1);
  }
  return { status, ok: status >= 200 && status < 300, body: res };
}

/** The answer's JSON, or `{}` when it has none (an empty or non-JSON body). */
async function jsonOf(res: Received): Promise<unknown> {
  try {
    res.body.setEncoding("utf8");
    let text = "";
    for await (const chunk of res.body) text += chunk;
    return JSON.parse(text);
  } catch {
    return {};
  }
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
  const send = async (path: string, init: Sent) => {
    const url = path.startsWith("/v1/") ? `${options.server.replace(/\/+$/, "")}${path}` : `${base}${path}`;
    try {
      return await exchange(url, { ...init, headers: { ...headers, ...init.headers } });
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
      const answer = (await jsonOf(res)) as {
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
      if (!res.ok) {
        res.body.resume();
        throw new CliError(`cannot follow the release's events (HTTP ${res.status})`, ExitCode.failed);
      }
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
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
