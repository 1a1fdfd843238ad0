/**
 * `node --import ./bench/yaml-text.mjs`: imports `*.yaml` as its text (the default export), as tsup's
 * `--loader .yaml=text` and vitest's plugin do, so the benchmark runs the demo world from source under tsx.
 */
import { register } from "node:module";

register("./yaml-text-hooks.mjs", import.meta.url);
