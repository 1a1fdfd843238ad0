import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "acorn";
import { defineConfig } from "tsup";
import { startupTrim } from "../../scripts/build/startup-trim.js";

/**
 * The container's entry and the chunks it imports at start, kept ASCII. One non-ASCII character anywhere in a file
 * makes V8 hold that file's whole source as a two-byte string (the 1.7 MB bundle cost 3.4 MB of heap for five
 * dashes). esbuild escapes strings (`charset: ascii`, its default) but keeps comments and tagged templates (their raw
 * text) as written: the comments of bundled libraries are made ASCII here (each character becomes one `?` per UTF-16
 * unit, so columns and the source map stay right); anything else non-ASCII fails the build, naming where.
 */
const NON_ASCII = /[\u0080-\uffff]/;

export function keepEntryAscii(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let code = readFileSync(file, "utf8");
    const imports: string[] = [];
    const comments: [number, number][] = [];
    const program = parse(code, {
      ecmaVersion: "latest",
      sourceType: "module",
      allowHashBang: true,
      onComment: (_block, _text, start, end) => void comments.push([start, end]),
    });
    for (const node of program.body)
      if (
        (node.type === "ImportDeclaration" ||
          node.type === "ExportAllDeclaration" ||
          node.type === "ExportNamedDeclaration") &&
        node.source &&
        typeof node.source.value === "string" &&
        node.source.value.startsWith("./")
      )
        imports.push(join(dirname(file), node.source.value));
    let changed = false;
    for (const [start, end] of comments) {
      const text = code.slice(start, end);
      if (!NON_ASCII.test(text)) continue;
      code = code.slice(0, start) + text.replace(/[\u0080-\uffff]/g, "?") + code.slice(end);
      changed = true;
    }
    const at = code.search(NON_ASCII);
    if (at >= 0) {
      const before = code.slice(0, at).split("\n");
      const line = before.length;
      const column = (before.at(-1) ?? "").length + 1;
      const near = code.slice(Math.max(0, at - 40), at + 40).replace(/\s+/g, " ");
      throw new Error(
        `${file}:${line}:${column}: non-ASCII character U+${code.codePointAt(at)?.toString(16).toUpperCase().padStart(4, "0")} ` +
          `in the server's start-up code (one character past U+00FF makes V8 hold the whole file as UTF-16); write it as an escape or an HTML ` +
          `entity in the source: ...${near}...`,
      );
    }
    if (changed) writeFileSync(file, code);
    for (const next of imports) visit(next);
  };
  visit(entry);
  return [...seen];
}

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
    entry: { index: "src/index.ts", "main-unbundled": "src/main.ts", "node-flags": "src/node-flags.ts" },
    format: ["esm"],
    dts: { entry: { index: "src/index.ts", "node-flags": "src/node-flags.ts" } },
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
    onSuccess: async () => void keepEntryAscii("dist/main.js"),
  },
]);
