import { defineConfig } from "tsup";
import { startupTrim } from "../../scripts/build/startup-trim.js";

/**
 * Two builds. `index.js` is the library face (startServer, createApp: `rollway serve` and tests import it) and keeps
 * its dependencies external. `main.js`, the container's entrypoint, is one bundle with @kubernetes/client-node
 * tree-shaken and trimmed by the CLI's own plugin (scripts/build/startup-trim.ts): loading client-node whole from
 * node_modules cost ~80 MiB of the idle server's memory. Packages that load files at run time stay external:
 * deploy-rules (recheck, required lazily), kube-sim (never loaded by main), pino (its transports run in workers).
 */
export default defineConfig([
  {
    // `main-unbundled.js`: the same entrypoint on the library build, what the image ran before: the memory
    // benchmark's baseline (bench/memory.ts).
    entry: { index: "src/index.ts", "main-unbundled": "src/main.ts" },
    format: ["esm"],
    dts: { entry: { index: "src/index.ts" } },
    sourcemap: true,
  },
  {
    entry: { main: "src/main.ts" },
    format: ["esm"],
    platform: "node",
    target: "node20",
    sourcemap: true,
    treeshake: true,
    esbuildPlugins: [startupTrim],
    noExternal: [/^@rollway\/(?!deploy-rules$|kube-sim$)/, "hono", /^hono\//, "@hono/node-server", "zod", "yaml"],
    // Bundled CommonJS code calls require(); give it one in the ES module.
    banner: {
      js: "import { createRequire as __rollwayRequire } from 'node:module'; const require = __rollwayRequire(import.meta.url);",
    },
  },
]);
