#!/usr/bin/env node
/**
 * The container's entrypoint (and `rollway serve`): configuration from the environment, graceful SIGTERM. A start-up
 * failure says its code (`CONFIG_INVALID` for a bad setting) and exits with the code's exit status.
 */
// First of this entry's own modules, before any full GC (tick-shape.ts). In the built bundle the shared chunks it
// imports are evaluated before it; the fix was measured as built (BENCHMARKS.md, "Thirteenth session").
import "./keep-tick-shape.js";
import { exitCodeOfCode } from "@rollway/release/error-codes";
import { loadConfig } from "./config.js";
import { startServer } from "./server.js";

try {
  const server = await startServer(loadConfig());
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void server.shutdown().then(() => process.exit(0));
    });
  }
} catch (error) {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`rollway-webhook-server: ${typeof code === "string" ? `${code}: ` : ""}${message}\n`);
  process.exit(typeof code === "string" ? exitCodeOfCode(code) : 1);
}
