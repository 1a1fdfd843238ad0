import { defineConfig } from "tsup";

/** The one file the runner executes (`runs.main`): everything bundled, committed, checked against the source in CI. */
export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  outDir: "dist",
  clean: true,
  splitting: false,
  sourcemap: false,
  treeshake: true,
  noExternal: [/.*/],
  // Bundled CommonJS code calls require() and reads __dirname; give them to the ES module.
  banner: {
    js: [
      "import { createRequire as __rollwayRequire } from 'node:module';",
      "import { fileURLToPath as __rollwayPath } from 'node:url';",
      "const require = __rollwayRequire(import.meta.url);",
      "const __filename = __rollwayPath(import.meta.url);",
      "const __dirname = __rollwayPath(new URL('.', import.meta.url));",
    ].join(" "),
  },
});
