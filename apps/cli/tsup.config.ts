import { defineConfig } from "tsup";
import { startupTrim } from "../../scripts/build/startup-trim.js";

/**
 * One bundle with lazily loaded chunks: the release engine, rollout-client and @kubernetes/client-node are bundled
 * and tree-shaken (loading them from node_modules cost ~0.8 s of CPU per command); packages with native modules or
 * worker files (image-builder's ssh2, deploy-rules' ReDoS checker) and the ones only some commands need stay
 * external, loaded from node_modules when their command runs.
 */
export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  platform: "node",
  target: "node20",
  clean: true,
  sourcemap: true,
  splitting: true,
  treeshake: true,
  loader: { ".yaml": "text" },
  esbuildPlugins: [startupTrim],
  // @rollway/webhook-server is an app (private, never published): `rollway serve` bundles it, in its own chunk.
  noExternal: [/^(?!@rollway\/(deploy-rules|image-builder|snapshooter|env-promotion|kube-sim)$)/],
  // Bundled CommonJS code calls require(); give it one in the ES module.
  banner: {
    js: "import { createRequire as __rollwayRequire } from 'node:module'; const require = __rollwayRequire(import.meta.url);",
  },
});
