/** Test helper: a real server on a free loopback port, with its JSON log lines captured, disposed after use. */
import { Writable } from "node:stream";
import { onTestFinished } from "vitest";
import { type ServerConfig, ServerConfigSchema } from "./config.js";
import { type RunningServer, startServer } from "./server.js";
import { type SimServer, startSimServer } from "./sim.js";

export const DEPLOY_TOKEN = "deploy-token-shop-prod-0123456789";
export const DEPLOY_TOKEN_NEXT = "deploy-token-shop-prod-rotated-9876";
export const APPROVE_TOKEN = "approve-token-shop-prod-abcdefghij";
export const OTHER_TOKEN = "deploy-token-blog-any-env-zyxwvuts";
export const SIGNING_SECRET = "hmac-secret-for-signed-env-00000";

export interface TestServer extends RunningServer {
  logs: string[];
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const config = ServerConfigSchema.parse({
    host: "127.0.0.1",
    port: 0,
    logLevel: "info",
    shutdownGraceMs: 2000,
    tokens: [
      { scope: "deploy", project: "shop", environment: "prod", tokens: [DEPLOY_TOKEN, DEPLOY_TOKEN_NEXT] },
      { scope: "deploy", project: "shop", environment: "signed", tokens: [DEPLOY_TOKEN] },
      { scope: "approve", project: "shop", environment: "prod", tokens: [APPROVE_TOKEN] },
      { scope: "deploy", project: "blog", environment: "*", tokens: [OTHER_TOKEN] },
    ],
    signingSecrets: [{ project: "shop", environment: "signed", secret: SIGNING_SECRET }],
    ...overrides,
  });
  const logs: string[] = [];
  const server = await startServer(config, { logDestination: sink(logs) });
  return Object.assign(server, { logs });
}

/** The demo cluster (kube-sim) and a server against it, both disposed when the test finishes. */
export async function simServerResource(
  options: { config?: Partial<ServerConfig>; readyDelayMs?: number } = {},
): Promise<SimServer & { logs: string[]; replicas: RunningServer[] }> {
  const logs: string[] = [];
  const replicas: RunningServer[] = [];
  const server = await startSimServer({
    config: { port: 0, logLevel: "info", rateLimitPerMinute: 100_000, shutdownGraceMs: 5000, ...options.config },
    readyDelayMs: options.readyDelayMs ?? 30,
    tokens: { deploy: DEPLOY_TOKEN, approve: APPROVE_TOKEN },
    logDestination: sink(logs),
  });
  // Replicas stop before the cluster they share.
  onTestFinished(async () => {
    await Promise.all(replicas.map((r) => r.shutdown()));
    await server.shutdown();
  });
  return Object.assign(server, { logs, replicas });
}

/** Another replica on the same cluster, disposed when the test finishes (before the cluster). */
export async function replicaResource(
  of: SimServer & { replicas: RunningServer[] },
  overrides: Partial<ServerConfig> = {},
): Promise<RunningServer & { base: string }> {
  const replica = await startServer(ServerConfigSchema.parse({ ...of.config, port: 0, ...overrides }), {
    kubeconfig: { yaml: of.cluster.sim.kubeconfig },
    cancelReleasesOnShutdown: true,
    logDestination: sink([]),
  });
  of.replicas.push(replica);
  return Object.assign(replica, { base: `${replica.url}/v1/projects/demo/environments/demo` });
}

function sink(lines: string[]): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
}

export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads a Server-Sent Events stream until it ends, or until `until` says stop (then the connection is closed). */
export async function readEvents(
  url: string,
  headers: Record<string, string>,
  until: (events: SseEvent[]) => boolean = () => false,
): Promise<SseEvent[]> {
  const stop = new AbortController();
  const res = await fetch(url, { headers, signal: stop.signal });
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}: ${await res.text()}`);
  const events: SseEvent[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return events;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          block
            .split("\n")
            .find((l) => l.startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim();
        const data = field("data");
        if (data === undefined) continue;
        events.push({ id: field("id") ?? "", event: field("event") ?? "message", data: JSON.parse(data) });
        if (until(events)) {
          stop.abort();
          return events;
        }
      }
    }
  } catch (error) {
    if (stop.signal.aborted) return events;
    throw error;
  }
}
