/**
 * The esbuild plugin the tsup configs of apps/cli and apps/webhook-server share (one definition, not a copy per app).
 */
import type { Plugin } from "esbuild";

/**
 * Startup and memory trimming for bundles that include @kubernetes/client-node: the CLI (measured by
 * apps/cli/bench/cold-start.mjs) and the webhook server's container entry (idle RSS, apps/webhook-server/bench/load.ts):
 * - @kubernetes/client-node's modules are marked free of side effects, so the parts rollway never imports (exec,
 *   attach, cp, port-forward, informers, metrics, and what they pull in: ws, tar) are left out of the bundle;
 * - node-fetch v2 (client-node's HTTP client) uses Node's own URL class and only falls back to the whatwg-url package
 *   on runtimes without one; loading that package evaluated its 300 kB IDNA table (tr46) on every command;
 * - client-node's SOCKS proxy support (socks-proxy-agent, socks, ip-address: ~7 ms to evaluate) is loaded when a
 *   kubeconfig names a `socks5://` proxy-url, not on every start;
 * - zod's error messages in 60 other languages (`z.locales`, ~350 kB that every command parsed) are left out: rollway
 *   speaks English, which zod's classic API configures itself from its own `en` module.
 */
export const startupTrim: Plugin = {
  name: "rollway-startup-trim",
  setup(build) {
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
