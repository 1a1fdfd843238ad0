import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
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

/** The workspace packages whose `src/index.ts` only re-exports their modules (checked when read: see below). */
const BARREL_IMPORT =
  /import\s+\{([^}]*)\}\s+from\s+"(@rollway\/(?:release|rollout-client|payload-schema|oconfig-versioning))";/g;

/**
 * `import { z } from "zod"` imports zod's namespace as a value: esbuild then bundles the whole of zod (its JSON Schema
 * conversions both ways, its compiler, every check and format: 392 kB that the first `status` on an environment file
 * compiled and evaluated). The same names read through `import * as z` are tree-shaken to what the code uses.
 */
const ZOD_IMPORT = /^import \{ z \} from "zod";$/m;

/**
 * Imports through a package's index (`import { openKubeApi } from "@rollway/release"`) are rewritten to the module that
 * defines each name. esbuild puts every module a reachable index re-exports into the importing command's chunk, as
 * soon as any other command uses it: `rollway status` loaded the whole release engine, the plan's differ and oConfig
 * because it read one function from the index. Names the index does not re-export from a module of its own stay on
 * the index import; type-only names are dropped (they are erased anyway, and with `verbatimModuleSyntax` an import left
 * with no name would load the whole index for its side effects).
 */
const importsPastTheIndex: Plugin = {
  name: "rollway-imports-past-the-index",
  setup(build) {
    const indexes = new Map<string, Promise<Map<string, { file: string; name: string }> | undefined>>();
    const exportsOf = (pkg: string, resolveDir: string) => {
      if (!indexes.has(pkg)) {
        indexes.set(
          pkg,
          (async () => {
            const resolved = await build.resolve(pkg, { kind: "import-statement", resolveDir });
            if (resolved.errors.length > 0 || !resolved.path.endsWith(`${path.sep}src${path.sep}index.ts`))
              return undefined;
            const text = await readFile(resolved.path, "utf8");
            const names = new Map<string, { file: string; name: string }>();
            for (const m of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s+from\s+"(\.[^"]+)\.js";/g)) {
              if (m[1]) continue;
              const file = path.join(path.dirname(resolved.path), `${m[3]}.ts`);
              for (const spec of (m[2] ?? "").split(",").map((x) => x.trim())) {
                if (!spec || spec.startsWith("type ")) continue;
                const [name, alias] = spec.split(/\s+as\s+/);
                if (name) names.set(alias ?? name, { file, name });
              }
            }
            return names;
          })(),
        );
      }
      return indexes.get(pkg);
    };
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = await readFile(args.path, "utf8");
      const matches = [...text.matchAll(BARREL_IMPORT)];
      const zod = ZOD_IMPORT.test(text);
      if (matches.length === 0 && !zod) return undefined;
      let contents = zod ? text.replace(ZOD_IMPORT, 'import * as z from "zod";') : text;
      for (const m of matches) {
        const names = await exportsOf(m[2] as string, path.dirname(args.path));
        if (!names) continue;
        const direct: string[] = [];
        const rest: string[] = [];
        for (const spec of (m[1] ?? "").split(",").map((x) => x.trim())) {
          if (!spec || spec.startsWith("type ")) continue;
          const [name, alias] = spec.split(/\s+as\s+/) as [string, string | undefined];
          const found = names.get(name);
          if (found) direct.push(`import { ${found.name} as ${alias ?? name} } from ${JSON.stringify(found.file)};`);
          else rest.push(spec);
        }
        if (rest.length > 0) direct.push(`import { ${rest.join(", ")} } from "${m[2]}";`);
        contents = contents.replace(m[0], direct.join(" "));
      }
      return { contents, loader: "ts" };
    });
  },
};

/**
 * yaml's entry for Node is CommonJS, which esbuild bundles whole (260 kB that every command reading YAML compiled);
 * its ES module build (the package's default entry) is the same code, logging warnings with console.warn instead of
 * process.emitWarning, and tree-shakes to what rollway calls.
 */
const yamlAsModule: Plugin = {
  name: "rollway-yaml-as-module",
  setup(build) {
    build.onResolve({ filter: /^yaml$/ }, async (args) => {
      const manifest = await build.resolve("yaml/package.json", { kind: args.kind, resolveDir: args.resolveDir });
      if (manifest.errors.length > 0) return undefined;
      return { path: path.join(path.dirname(manifest.path), "browser", "dist", "index.js") };
    });
  },
};

/**
 * Node builtins imported as ES modules get a module facade whose exports are read once, getters included: on Node 24
 * `import http from "node:http"` thereby loads Node's internal undici (http's lazy WebSocket getter), http2 and more
 * (the two imports of node:http and node:https alone: 200 against 150 ms of CPU for the process, at load 10), and an
 * import of `node:crypto` its WebCrypto. The bundle takes these builtins as CommonJS instead (process.getBuiltinModule,
 * Node >= 20.16), which reads a property only when the code does. Commander's `child_process` (for executable
 * subcommands, which rollway has none of) is loaded on first use rather than at every start (it loads dgram and more),
 * and so is https (with tls), which only an https:// cluster or server needs.
 */
const builtinsWithoutFacade: Plugin = {
  name: "rollway-builtins-without-facade",
  setup(build) {
    build.onResolve({ filter: /^(node:)?(http|https|crypto)$/ }, (args) =>
      args.kind === "import-statement"
        ? { path: args.path.replace(/^node:/, ""), namespace: "rollway-builtin" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "rollway-builtin" }, (args) => ({
      contents:
        args.path === "https"
          ? // Loaded when a property is first read: an http:// cluster or server never loads https and tls (~9 ms).
            // `__esModule` is what esbuild's interop asks at import time; the answer (none) needs no module.
            "let real; const load = () => (real ??= process.getBuiltinModule('node:https')); module.exports = new Proxy({}, { get: (_, key) => (key === '__esModule' ? undefined : load()[key]), has: (_, key) => key in load() });"
          : `module.exports = process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)});`,
      loader: "js",
    }));
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[/\\]commander[/\\]/.test(args.importer)
        ? { path: "child_process", namespace: "rollway-lazy-child-process" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "rollway-lazy-child-process" }, () => ({
      contents:
        "let real; const load = () => (real ??= process.getBuiltinModule('node:child_process')); module.exports = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });",
      loader: "js",
    }));
  },
};

/**
 * This build's id, for the cache of validated environment files (`src/environment-cache.ts`): a hash of every
 * workspace package's and app's sources and of the lockfile (the versions of zod, yaml...), so a build that could
 * validate differently never reads another build's entries. The same sources give the same id (a reproducible dist).
 */
function buildId(): string {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const hash = createHash("sha256").update(readFileSync(path.join(root, "pnpm-lock.yaml")));
  for (const group of ["packages", "apps"]) {
    for (const pkg of readdirSync(path.join(root, group)).sort()) {
      const src = path.join(root, group, pkg, "src");
      let files: string[];
      try {
        files = (readdirSync(src, { recursive: true }) as string[]).sort();
      } catch {
        continue;
      }
      for (const file of files) {
        if (!/\.(ts|tsx|json|yaml)$/.test(file) || /\.test\.tsx?$/.test(file)) continue;
        hash.update(`${group}/${pkg}/src/${file}\0`).update(readFileSync(path.join(src, file)));
      }
    }
  }
  return hash.digest("hex").slice(0, 32);
}

/**
 * One bundle with lazily loaded chunks: the release engine, rollout-client and @kubernetes/client-node are bundled
 * and tree-shaken (loading them from node_modules cost ~0.8 s of CPU per command); packages with native modules or
 * worker files (image-builder's ssh2, deploy-rules' ReDoS checker) and the ones only some commands need stay
 * external, loaded from node_modules when their command runs.
 */
export default defineConfig({
  // dist/main.js (the binary) is bin.ts, which turns the compile cache on before it imports the program (dist/cli.js).
  entry: { main: "src/bin.ts", cli: "src/main.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  clean: true,
  sourcemap: true,
  splitting: true,
  treeshake: true,
  loader: { ".yaml": "text" },
  define: { ROLLWAY_BUILD_ID: JSON.stringify(buildId()) },
  // Keep `node:` on builtins' names (tsup strips it by default, before any plugin here could see the import).
  removeNodeProtocol: false,
  esbuildPlugins: [webhookServerFromSource, importsPastTheIndex, yamlAsModule, builtinsWithoutFacade, startupTrim],
  // The workspace packages from their sources (their `@rollway/source` export condition), not their one-file dists:
  // esbuild splits chunks by module, so each command's chunk then holds only the modules it uses (`status` needs the
  // environment file and the status reads, not the release engine, the plan's differ or oConfig).
  esbuildOptions(options) {
    options.conditions = ["@rollway/source"];
    // Without comments and spaces (names kept): V8 scans less source when it compiles a chunk and, again, each function
    // it compiles lazily, on every run (Node 24's compile cache holds only what was compiled eagerly). main.js: 156 ->
    // 64 kB.
    options.minifyWhitespace = true;
    options.minifySyntax = true;
  },
  // @rollway/webhook-server is an app (private, never published): `rollway serve` bundles it, in its own chunk.
  noExternal: [/^(?!@rollway\/(deploy-rules|image-builder|snapshooter|env-promotion|kube-sim)$)/],
  // Bundled CommonJS code calls require(); give it one in the ES module.
  banner: {
    js: "import { createRequire as __rollwayRequire } from 'node:module'; const require = __rollwayRequire(import.meta.url);",
  },
});
