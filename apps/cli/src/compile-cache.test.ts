import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { rollway } from "./test-helpers/run-cli.js";

const examples = fileURLToPath(new URL("../../../packages/payload-schema/examples", import.meta.url));
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const hasCompileCache = major > 22 || (major === 22 && minor >= 1);

/** Every file below `dir`, as paths relative to it. */
function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

describe(`the compile cache on Node ${process.versions.node}`, () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    hasCompileCache
      ? "keeps the compiled code of what a command loads in the temp folder's node-compile-cache (Node >= 22.1)"
      : "is not there on this Node, and the command works without it",
    () => {
      dir = mkdtempSync(join(tmpdir(), "rollway-compile-cache-"));
      const r = rollway(["validate", join(examples, "seed-004.json")], { env: { TMPDIR: dir } });
      expect(r.code, r.stderr).toBe(0);
      const cached = filesIn(join(dir, "node-compile-cache"));
      if (hasCompileCache) expect(cached.length).toBeGreaterThan(0);
      else expect(cached).toEqual([]);
    },
  );

  it(
    hasCompileCache
      ? "keeps the program's own code too: `rollway --version` (commander and the command table, loaded by the entry after it turned the cache on) leaves it in the cache"
      : "starts the program without a compile cache on this Node: `rollway --version` answers and leaves none",
    () => {
      dir = mkdtempSync(join(tmpdir(), "rollway-compile-cache-"));
      const r = rollway(["--version"], { env: { TMPDIR: dir } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe("0.1.0");
      // When main.js turned the cache on itself, it and the chunks it imports were compiled before: nothing was kept.
      if (hasCompileCache) expect(filesIn(join(dir, "node-compile-cache")).length).toBeGreaterThanOrEqual(3);
      else expect(filesIn(join(dir, "node-compile-cache"))).toEqual([]);
    },
  );
});
