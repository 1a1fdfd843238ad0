/** Starts the app on Node's HTTP server, and stops it gracefully: not ready first, then drain, then close. */

import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type pino from "pino";
import { createApp } from "./app.js";
import { loadConfig, type ServerConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { createMetrics } from "./metrics.js";

export interface RunningServer {
  url: string;
  config: ServerConfig;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startServer(
  config: ServerConfig = loadConfig(),
  options: { logDestination?: pino.DestinationStream } = {},
): Promise<RunningServer> {
  const logger = createLogger(config.logLevel, options.logDestination);
  const { app, state } = createApp({
    config,
    logger,
    metrics: createMetrics(),
    remoteAddress: (_raw, env) => (env as { incoming?: IncomingMessage }).incoming?.socket.remoteAddress ?? "unknown",
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s as Server));
    (s as Server).once("error", reject);
  });
  // Slow or stalled clients are cut off by Node's own timers (no per-request timer in the app).
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(config.requestTimeoutMs, 60_000);
  const { port } = server.address() as AddressInfo;
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info({ url, tokens: config.tokens.length }, "listening");

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      state.ready = false;
      logger.info({ inFlight: state.inFlight }, "shutting down");
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + config.shutdownGraceMs;
      while (state.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await closed;
      logger.info("stopped");
    })();
    return stopping;
  };
  return { url, config, shutdown, [Symbol.asyncDispose]: shutdown };
}
