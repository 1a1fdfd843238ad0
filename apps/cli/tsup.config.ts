import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import { defineConfig } from "tsup";
import { startupTrim } from "../../scripts/build/startup-trim.js";

/**
 * The webhook server's own dist inlines kube-sim (a devDependency there), whose CRD paths are relative to its
 * module: bundled again here they pointed into apps/cli/crds and `rollway serve --sim` exited CRD_LOAD_FAILED.
 * Bundling the server from its source keeps `@rollway/kube-sim` an external package that finds its own crds/.
 */
const webhookServerFromSource: Plugin = {
  name: "rollway-webhook-server-from-source",
  setup(build) {
    build.onResolve({ filter: /^@rollway\/webhook-server$/ }, () => ({
      path: fileURLToPath(new URL("../webhook-server/src/index.ts", import.meta.url)),
    }));
  },
};

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
  esbuildPlugins: [webhookServerFromSource, startupTrim],
  // @rollway/webhook-server is an app (private, never published): `rollway serve` bundles it, in its own chunk.
  noExternal: [/^(?!@rollway\/(deploy-rules|image-builder|snapshooter|env-promotion|kube-sim)$)/],
  // Bundled CommonJS code calls require(); give it one in the ES module.
  banner: {
    js: "import { createRequire as __rollwayRequire } from 'node:module'; const require = __rollwayRequire(import.meta.url);",
  },
});
