/**
 * Environment files validated before, kept on disk: `rollway status` run again on the same file skips YAML parsing and
 * the zod schema (and does not even load them: ~40% of its start). Only a file that validated is kept, with the
 * file's exact text, and is read back only for that exact text, under this build's id: an edited file, or another
 * rollway build, is validated again; a file that fails never reaches the cache and is refused with the same error
 * every time. The entry's name is this build's id and a quick hash of the text (not SHA-256: node:crypto cost every
 * `status` 6 ms of CPU on Node 20 and 18 ms on Node 24 to load); two texts with one name only replace each other's
 * entry, since the text itself is compared.
 *
 * Where: `$ROLLWAY_CACHE_DIR`, else `$XDG_CACHE_HOME/rollway`, else `~/.cache/rollway` (the user's own cache, never
 * a shared temporary folder: what is read back is trusted as the validated environment). `ROLLWAY_NO_CACHE=1` turns
 * it off. Any failure to read or write (a read-only home, a full disk, a torn file) only means validating again.
 */
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import type { Environment } from "@rollway/release";

declare const ROLLWAY_BUILD_ID: string | undefined;

/** The build's id (a hash of the sources and the lockfile, set by tsup); none when run from the sources (tests). */
const buildId = typeof ROLLWAY_BUILD_ID === "string" ? ROLLWAY_BUILD_ID : undefined;

/** Entries written longer ago than this are removed when a new one is written. */
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

function cacheDir(): string | undefined {
  if (!buildId || process.env.ROLLWAY_NO_CACHE === "1") return undefined;
  if (process.env.ROLLWAY_CACHE_DIR) return path.join(process.env.ROLLWAY_CACHE_DIR, "environments");
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache");
  return path.join(base, "rollway", "environments");
}

/** The entry's file name: this build's id and cyrb53 (a 53-bit string hash) of the text, in hex. */
function keyOf(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${buildId}-${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, "0")}`;
}

/** The environment this build validated from exactly `text`, if it is kept. */
export async function cachedEnvironment(text: string): Promise<Environment | undefined> {
  const dir = cacheDir();
  if (!dir) return undefined;
  try {
    const entry = JSON.parse(await readFile(path.join(dir, `${keyOf(text)}.json`), "utf8")) as {
      source?: unknown;
      environment?: Environment;
    };
    if (entry.source !== text) return undefined;
    return typeof entry.environment === "object" && entry.environment !== null ? entry.environment : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keeps an environment validated from `text` (written whole or not at all: concurrent runs never see half a file).
 * The entry's JSON is taken and checked when this is called, before its first await, so a caller may go on (and even
 * change the environment) without waiting for the write. Never rejects: a failure only means no entry.
 */
export async function keepEnvironment(text: string, environment: Environment): Promise<void> {
  const dir = cacheDir();
  if (!dir) return;
  try {
    const json = JSON.stringify({ source: text, environment });
    // Only a value that reads back exactly as validated is kept (JSON has no undefined, Date or Map). node:util is
    // taken here, on a miss only, and without its module facade (which loaded 35 of Node's internal modules, ~13 ms,
    // on Node 24).
    const { isDeepStrictEqual } = process.getBuiltinModule("node:util");
    if (!isDeepStrictEqual((JSON.parse(json) as { environment: unknown }).environment, environment)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${keyOf(text)}.json`);
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temporary, json, { mode: 0o600 });
    await rename(temporary, file).catch(async (error) => {
      await unlink(temporary).catch(() => {});
      throw error;
    });
    const now = Date.now();
    for (const name of await readdir(dir)) {
      const other = path.join(dir, name);
      const { mtimeMs } = await stat(other).catch(() => ({ mtimeMs: now }));
      if (now - mtimeMs > MAX_AGE_MS) await unlink(other).catch(() => {});
    }
  } catch {
    // Not kept: the next run validates again.
  }
}
