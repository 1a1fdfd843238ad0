import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import { defineConfig } from "tsup";

/**
 * Startup trimming for the commands that touch a cluster (measured by bench/cold-start.mjs):
 * - @kubernetes/client-node's modules are marked free of side effects, so the parts rollway never imports (exec,
 *   attach, cp, port-forward, informers, metrics, and what they pull in: ws, tar) are left out of the bundle;
 * - node-fetch v2 (client-node's HTTP client) uses Node's own URL class and only falls back to the whatwg-url package
 *   on runtimes without one; loading that package evaluated its 300 kB IDNA table (tr46) on every command;
 * - client-node's SOCKS proxy support (socks-proxy-agent, socks, ip-address: ~7 ms to evaluate) is loaded when a
 *   kubeconfig names a `socks5://` proxy-url, not on every start;
 * - zod's error messages in 60 other languages (`z.locales`, ~350 kB that every command parsed) are left out: rollway
 *   speaks English, which zod's classic API configures itself from its own `en` module.
 */
const startupTrim: Plugin = {
  name: "rollway-startup-trim",
  setup(build) {
    // The webhook server's own dist inlines kube-sim (a devDependency there), whose CRD paths are relative to its
    // module: bundled again here they pointed into apps/cli/crds and `rollway serve --sim` exited CRD_LOAD_FAILED.
    // Bundling the server from its source keeps `@rollway/kube-sim` an external package that finds its own crds/.
    build.onResolve({ filter: /^@rollway\/webhook-server$/ }, () => ({
      path: fileURLToPath(new URL("../webhook-server/src/index.ts", import.meta.url)),
    }));
    build.onResolve({ filter: /^whatwg-url$/ }, () => ({ path: "whatwg-url", namespace: "rollway-node-url" }));
    build.onLoad({ filter: /.*/, namespace: "rollway-node-url" }, () => ({
      contents: "export const URL = globalThis.URL; export default { URL: globalThis.URL };",
      loader: "js",
    }));
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[/\\]zod[/\\]v4[/\\]/.test(args.importer)
        ? { path: "zod-locales", namespace: "rollway-zod-locales", pluginData: { resolveDir: args.resolveDir } }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "rollway-zod-locales" }, (args) => ({
      contents: 'export { default as en } from "../locales/en.js";',
      loader: "js",
      resolveDir: args.pluginData.resolveDir,
    }));
    build.onResolve({ filter: /^socks-proxy-agent$/ }, (args) =>
      /@kubernetes[/+]client-node/.test(args.importer)
        ? { path: "socks-proxy-agent", namespace: "rollway-lazy-socks", pluginData: { resolveDir: args.resolveDir } }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "rollway-lazy-socks" }, (args) => ({
      // CommonJS, so the bundler keeps the require() where it is: the real module is evaluated on first use.
      contents:
        "exports.SocksProxyAgent = function SocksProxyAgent(...args) { const { SocksProxyAgent: Agent } = require('socks-proxy-agent'); return new Agent(...args); };",
      loader: "js",
      resolveDir: args.pluginData.resolveDir,
    }));
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.trimmed || !/@kubernetes[/+]client-node/.test(args.importer + args.path)) return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { trimmed: true },
      });
      if (resolved.errors.length > 0 || resolved.external) return resolved;
      return /node_modules\/@kubernetes\/client-node\/dist\//.test(resolved.path)
        ? { ...resolved, sideEffects: false }
        : resolved;
    });
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
  esbuildPlugins: [startupTrim],
  // @rollway/webhook-server is an app (private, never published): `rollway serve` bundles it, in its own chunk.
  noExternal: [/^(?!@rollway\/(deploy-rules|image-builder|snapshooter|env-promotion|kube-sim)$)/],
  // Bundled CommonJS code calls require(); give it one in the ES module.
  banner: {
    js: "import { createRequire as __rollwayRequire } from 'node:module'; const require = __rollwayRequire(import.meta.url);",
  },
});
