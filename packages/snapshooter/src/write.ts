/**
 * Brings an outputDir to exactly the given patch files: writes only files whose bytes differ, removes patch files
 * that no longer exist, and leaves every other file alone. Each write is atomic (temporary file, fsync, rename), so a
 * crash leaves either the old or the new patch, never half of one.
 *
 * No fsync per file: rename is atomic for a killed process (the cron case), and the durable copy is the pushed
 * commit. git itself does not fsync its object files by default. Measured: 522 fsyncs cost seconds of wall time on
 * a busy disk, more than everything else in a 100,000-object snapshot.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { MANIFEST_FILE, PATCH_FILE_PATTERN } from "./canonical.js";
import { SnapshooterError, throwIfAborted } from "./errors.js";

export interface FileChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

const TEMP_FILE = /^\..+\.tmp-[0-9a-f]+$/;

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR")
      return undefined;
    throw error;
  }
}

/** Patch files already in `dir`, by the manifest and by name; also stale temporary files of a crashed run. */
async function existingPatchFiles(dir: string): Promise<{ patches: Set<string>; temporary: string[] }> {
  const patches = new Set<string>();
  const temporary: string[] = [];
  for (const sub of ["folders", "projects", "objects"]) {
    let names: string[];
    try {
      names = await readdir(path.join(dir, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      const rel = `${sub}/${name}`;
      if (PATCH_FILE_PATTERN.test(rel)) patches.add(rel);
      else if (TEMP_FILE.test(name)) temporary.push(rel);
    }
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (TEMP_FILE.test(name) && name.startsWith(`.${MANIFEST_FILE}.`)) temporary.push(name);
  }
  return { patches, temporary };
}

/** Writes `content` to `file` atomically: a temporary file beside it, then renamed over it. */
export async function writeFileAtomic(file: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${randomBytes(6).toString("hex")}`);
  await writeFile(temp, content, { flag: "wx" });
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * Makes `dir` hold exactly `files` (relative paths → content) among the patch files. With `dryRun`, only reports
 * what would change. The manifest is written after the patches it lists, and removals come last.
 */
export async function syncPatchFiles(
  dir: string,
  files: ReadonlyMap<string, string>,
  options: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<FileChanges> {
  const changes: FileChanges = { added: [], changed: [], removed: [] };
  try {
    const existing = await existingPatchFiles(dir);
    const writes: [string, Buffer][] = [];
    for (const [rel, content] of files) {
      const next = Buffer.from(content);
      const current = await readIfExists(path.join(dir, rel));
      if (current === undefined) changes.added.push(rel);
      else if (!current.equals(next)) changes.changed.push(rel);
      else continue;
      writes.push([rel, next]);
    }
    for (const rel of existing.patches) if (!files.has(rel)) changes.removed.push(rel);
    changes.removed.sort();
    if (options.dryRun) return changes;

    throwIfAborted(options.signal);
    for (const rel of existing.temporary) await unlink(path.join(dir, rel)).catch(() => undefined);
    const manifestLast = writes.sort(([a], [b]) => Number(a === MANIFEST_FILE) - Number(b === MANIFEST_FILE));
    for (const [rel, content] of manifestLast) await writeFileAtomic(path.join(dir, rel), content);
    for (const rel of changes.removed) await unlink(path.join(dir, rel));
    return changes;
  } catch (error) {
    if (error instanceof SnapshooterError) throw error;
    const errno = error as NodeJS.ErrnoException;
    throw new SnapshooterError("WRITE_FAILED", `cannot write the patches in ${dir}`, {
      problems: [{ path: errno.path ?? dir, message: errno.code ?? String(error) }],
      cause: error,
    });
  }
}
