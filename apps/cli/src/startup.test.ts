/**
 * What `rollway status` loads of Node itself, through the built binary against `rollway sim` (its cold start is a
 * target of issue #17): no builtin it does not use. Node's own list of the internal modules a process loaded
 * (`process.moduleLoadList`) is read at exit, by a preloaded script.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollway, type SimProcess, startSimProcess } from "./test-helpers/run-cli.js";

let sim: SimProcess;
let dir: string;
let preload: string;
beforeAll(async () => {
  sim = await startSimProcess();
  dir = mkdtempSync(join(tmpdir(), "rollway-startup-"));
  preload = join(dir, "module-list.cjs");
  writeFileSync(
    preload,
    `process.on("exit", () => process.stderr.write("NODE-MODULES " + JSON.stringify(process.moduleLoadList) + "\\n"));\n`,
  );
});
afterAll(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function nodeModulesLoaded(args: string[]): string[] {
  const r = rollway(args, { env: { ...sim.env, ROLLWAY_CACHE_DIR: dir, NODE_OPTIONS: `--require=${preload}` } });
  expect(r.code, r.stderr).toBe(0);
  const line = /^NODE-MODULES (.*)$/m.exec(r.stderr)?.[1];
  expect(line).toBeDefined();
  return JSON.parse(line as string) as string[];
}

describe(`what rollway status loads of Node ${process.versions.node}`, () => {
  it("neither child_process (commander's, for executable subcommands) nor Node's undici and http2 (http's module facade on Node 24) nor node:crypto (the environment cache's names need no SHA-256), nor https and tls for an http:// cluster", () => {
    for (let i = 0; i < 2; i++) {
      // The first run validates the environment file, the second reads it from the cache: neither loads them.
      const loaded = nodeModulesLoaded(["status", "--json"]);
      expect(loaded).toContain("NativeModule http");
      for (const unused of [
        "NativeModule child_process",
        "NativeModule internal/deps/undici/undici",
        "NativeModule http2",
        "NativeModule crypto",
        "NativeModule internal/crypto/webcrypto",
        "NativeModule https",
        "NativeModule tls",
      ])
        expect(loaded).not.toContain(unused);
    }
  });
});
