/** Module hooks for bench/yaml-text.mjs: a `.yaml` file becomes a module whose default export is its text. */
import { readFile } from "node:fs/promises";

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".yaml")) return nextLoad(url, context);
  const text = await readFile(new URL(url), "utf8");
  return { format: "module", source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}
