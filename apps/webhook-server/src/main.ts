#!/usr/bin/env node
/** The container's entrypoint (and `rollway serve`): configuration from the environment, graceful SIGTERM. */
import { ConfigError, loadConfig } from "./config.js";
import { startServer } from "./server.js";

try {
  const server = await startServer(loadConfig());
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void server.shutdown().then(() => process.exit(0));
    });
  }
} catch (error) {
  process.stderr.write(`rollway-webhook-server: ${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(2);
}
