/** Test helper: a real server on a free loopback port, with its JSON log lines captured, disposed after use. */
import { Writable } from "node:stream";
import { type ServerConfig, ServerConfigSchema } from "./config.js";
import { type RunningServer, startServer } from "./server.js";

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
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const server = await startServer(config, { logDestination: sink });
  return Object.assign(server, { logs });
}
