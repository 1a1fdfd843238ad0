#!/usr/bin/env node
/**
 * The `rollway` binary's entry: turns on Node's module compile cache (Node >= 22.1; NODE_DISABLE_COMPILE_CACHE=1 turns
 * it off, Node 20 has none), then loads the program. Node compiles a module and everything it imports statically
 * before running any of it, so the program (commander and the command table, `main.ts`) is imported from here, after
 * the cache is on: when `main.js` turned the cache on itself, its own 83 kB and the chunks it imports were compiled
 * afresh on every run.
 */
import nodeModule from "node:module";

(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import("./main.js");
