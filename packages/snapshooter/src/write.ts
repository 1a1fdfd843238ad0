/**
 * Brings an outputDir to exactly the given patch files: writes only files whose bytes differ, removes patch files
 * that no longer exist, and leaves every other file alone. Each write is atomic (temporary file, then rename), so a
 * crash leaves either the old or the new patch, never half of one.
 *
 * No fsync per file: rename is atomic for a killed process (the cron case), and the durable copy is the pushed
 * commit. git itself does not fsync its object files by default. Measured: 522 fsyncs cost seconds of wall time on
 * a busy disk, more than everything else in a 100,000-object snapshot.
 */
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, unlink } from "node:fs/promises";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { MANIFEST_FILE, PATCH_FILE_PATTERN } from "./canonical.js";
import { SnapshooterError, throwIfAborted } from "./errors.js";

/**
 * The deletion guard: a run may remove at most `maxShare` of the objects the outputDir held (a truncated or partial
 * export would otherwise delete half a snapshot and exit 0). `keep` is every object tag of the new snapshot, so an
 * object moved to another file is not counted as removed.
 */
export interface DeletionGuard {
  keep: { has(tag: string): boolean };
  /** 0..1; 1 turns the guard off. */
  maxShare: number;
  /** What to tell the user to override it (a CLI flag, an option name). */
  override: string;
}

export const DEFAULT_MAX_REMOVED_SHARE = 0.1;

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

/**
 * Patch files to sync, relative path → content (text, or its UTF-8 bytes): a `Map`, or anything iterable like one.
 * A content's bytes need only stay valid until the next entry is taken (a snapshot renders every file into one
 * reused buffer), so each is compared and written at once. It may be iterated more than once (a git retry).
 */
export type PatchFileSet = Iterable<readonly [string, string | Uint8Array]> & Partial<RendersInto>;

/**
 * A set that can render its patch files into memory its consumer gives, and leaves their SHA-256 to the consumer: a
 * snapshot's `PatchFiles`. `syncPatchFiles` then renders each file straight into the writer thread's buffers, and
 * that thread hashes the files it writes. Copying 45 MB of rendered patches into the writer's buffers cost a
 * 100,000-object snapshot ~30 ms of main-thread time, more than the copy itself (it pushed the graph's pages out of
 * the caches), and hashing them ~25 ms more (BENCHMARKS.md, sixteenth session).
 */
export interface RendersInto {
  /** Each patch file, its bytes rendered into `space(bytes)` (valid until the next entry is taken). */
  patchesInto(space: (bytes: number) => Uint8Array): Iterable<readonly [string, Uint8Array]>;
  /** The files that come after the patch files (the manifest), given each patch file's SHA-256 (hex) by its path. */
  after(digestOf: (path: string) => string): Iterable<readonly [string, string | Uint8Array]>;
}

/**
 * Reads files to compare into one reused buffer: no fresh memory per file. Synchronous, as the writes: for a few
 * hundred small files, each promise-based open, stat, read and close cost more main-thread CPU than the call itself.
 */
class FileReader {
  private buffer = Buffer.allocUnsafe(0);

  /** Whether `file` holds exactly `next`; undefined when it does not exist; its bytes when they differ. */
  compare(file: string, next: Uint8Array): true | Buffer | undefined {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw error;
    }
    try {
      const { size } = fstatSync(fd);
      if (size !== next.length) return readFileSync(fd);
      if (this.buffer.length < size + 1)
        this.buffer = Buffer.allocUnsafeSlow(Math.max(size + 1, 2 * this.buffer.length));
      // One byte more than expected: a file that grew since stat is not taken as equal.
      let read = 0;
      for (;;) {
        const bytesRead = readSync(fd, this.buffer, read, this.buffer.length - read, read);
        if (bytesRead === 0) break;
        read += bytesRead;
        if (read === this.buffer.length) break;
      }
      const current = this.buffer.subarray(0, read);
      return current.equals(next) ? true : Buffer.from(current);
    } finally {
      closeSync(fd);
    }
  }
}

/** The size of a batch of files handed to the writer thread at once (a larger file goes alone, in its own buffer). */
const BATCH_BYTES = 1 << 20;
/** How many batch buffers exist at once: how far the writer thread may lag behind the caller. */
const BATCH_BUFFERS = 8;

/**
 * The writer thread: creates each file of a batch (`[name, start, length]` in the batch's buffer) with synchronous
 * calls, and hands the buffer back with its first failure, where it stopped. CommonJS source evaluated by
 * the worker: nothing to ship or resolve, from the sources, a build or a bundle.
 */
const WRITER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { closeSync, openSync, writeSync } = require("node:fs");
const { createHash } = require("node:crypto");
const failureOf = (error, name) => ({ code: error.code, path: error.path ?? name, message: String(error.message) });
parentPort.on("message", ({ buffer, files }) => {
  const bytes = new Uint8Array(buffer);
  let failure;
  const digests = [];
  for (const [name, start, length, hash] of files) {
    if (hash) digests.push([name, createHash("sha256").update(bytes.subarray(start, start + length)).digest("hex")]);
    let fd;
    try {
      fd = openSync(name, "wx", 0o666);
    } catch (error) {
      failure = failureOf(error, name);
      break;
    }
    try {
      for (let at = 0; at < length; ) at += writeSync(fd, bytes, start + at, length - at);
    } catch (error) {
      failure = failureOf(error, name);
    }
    try {
      closeSync(fd);
    } catch (error) {
      failure ??= failureOf(error, name);
    }
    if (failure) break;
  }
  parentPort.postMessage({ buffer, failure, digests }, [buffer]);
});
`;

/** A file of a batch: its name, where its bytes are in the batch's buffer, and whether the thread hashes it (1). */
type BatchFile = [name: string, start: number, length: number, hash: 0 | 1];

interface BatchDone {
  buffer: ArrayBuffer;
  failure?: { code?: string; path: string; message: string };
  /** The files of the batch the thread was to hash, each with its SHA-256 (hex), up to a failure. */
  digests: [string, string][];
}

/**
 * Writes temporary files on a thread of its own while the caller renders and compares the next files. Creating a
 * file blocks in the kernel (a new inode, its directory entry): written synchronously, 522 new patch files held the
 * main thread for ~50-150 ms. Written through libuv's threads (open, write and close: three hand-overs per file), the
 * thread each hand-over woke often ran on the main thread's core: the main thread's CPU profile showed ~130 ms in
 * those calls, which only queue the work, and its wait for a core in that part of a snapshot was 14-379 ms against
 * 4-22 ms here (idle 2-core VM, 9 runs each). The same libuv calls made from this thread instead brought that wait
 * back (66-145 ms): the thread writes with synchronous calls. Files go over in batches of about a megabyte, copied
 * into one of a few reused buffers (the caller's bytes are only valid until its next file), one hand-over per batch;
 * `write` waits when every buffer is under way.
 */
class TemporaryWriter {
  private worker: Worker | undefined;
  private readonly free: ArrayBuffer[] = [];
  private buffers = 0;
  private batch: { buffer: ArrayBuffer; at: number; files: BatchFile[] } | undefined;
  private pending = 0;
  private wake: (() => void) | undefined;
  private failure: { error: unknown } | undefined;
  /**
   * Temporary files handed to the writer thread so far: the ones to remove if the run is refused or fails (some may
   * not exist: the thread stops a batch at its first failure).
   */
  readonly created: string[] = [];
  /** The SHA-256 (hex) of each file `commit` had the thread hash, by file (known once its batch is back). */
  readonly digests = new Map<string, string>();

  /** The buffer `space` gave last, and where: `commit` writes a file from there. */
  private reserved: { buffer: ArrayBuffer; at: number; dedicated: boolean } | undefined;
  /** A buffer for the next batch, taken by `ready` (so that `space` need not wait). */
  private spare: ArrayBuffer | undefined;

  /** Waits until `space` can give room for any file without waiting; throws the error of an earlier write. */
  async ready(): Promise<void> {
    this.throwFailure();
    this.spare ??= await this.buffer(0);
    this.throwFailure();
  }

  /**
   * Room for a file of `bytes` bytes, to render it into (after `ready`): in the batch being filled, in a new one (the
   * one before is handed over), or in a buffer of its own for a file larger than a batch. Valid until the next call.
   */
  space(bytes: number): Uint8Array {
    this.throwFailure();
    if (bytes > BATCH_BYTES) {
      // Counted among the buffers once handed over (`commit`): dropped when the file is not written.
      const buffer = new ArrayBuffer(bytes);
      this.reserved = { buffer, at: 0, dedicated: true };
      return new Uint8Array(buffer, 0, bytes);
    }
    if (this.batch && this.batch.at + bytes > this.batch.buffer.byteLength) this.send();
    if (!this.batch) {
      const buffer = this.spare;
      if (!buffer) throw new Error("TemporaryWriter.space called without ready");
      this.spare = undefined;
      this.batch = { buffer, at: 0, files: [] };
    }
    this.reserved = { buffer: this.batch.buffer, at: this.batch.at, dedicated: false };
    return new Uint8Array(this.batch.buffer, this.batch.at, bytes);
  }

  /** Whether `bytes` are where `space` gave room last (then `commit` writes them from there). */
  holds(bytes: Uint8Array): boolean {
    const reserved = this.reserved;
    return reserved !== undefined && bytes.buffer === reserved.buffer && bytes.byteOffset === reserved.at;
  }

  /**
   * Writes the new file `file` from the bytes rendered where `space` gave room last (`holds` said so); with `hash`,
   * the thread hashes it too (`digests`).
   */
  commit(file: string, bytes: Uint8Array, hash: boolean): void {
    const reserved = this.reserved as NonNullable<TemporaryWriter["reserved"]>;
    this.reserved = undefined;
    this.created.push(file);
    // Started with the first file to write, not the first batch handed over: its start (~40 ms on the other core)
    // then overlaps the rendering of the first batch instead of keeping the run waiting for a buffer.
    this.worker ??= this.start();
    if (reserved.dedicated) {
      // A file larger than a batch goes alone, in its own buffer (the batch being filled goes on filling).
      this.buffers++;
      this.post(reserved.buffer, [[file, 0, bytes.length, hash ? 1 : 0]]);
      return;
    }
    const batch = this.batch as NonNullable<TemporaryWriter["batch"]>;
    batch.files.push([file, batch.at, bytes.length, hash ? 1 : 0]);
    batch.at += bytes.length;
  }

  /** Whether the thread has half of the buffers or more under way: it writes more slowly than files come. */
  behind(): boolean {
    return this.pending >= BATCH_BUFFERS / 2;
  }

  /** Starts writing `bytes` to the new file `file`; throws the error of an earlier write that failed. */
  async write(file: string, bytes: Uint8Array): Promise<void> {
    this.throwFailure();
    this.worker ??= this.start();
    if (this.batch && this.batch.at + bytes.length > this.batch.buffer.byteLength) this.send();
    if (!this.batch) this.batch = { buffer: await this.buffer(bytes.length), at: 0, files: [] };
    // The thread may have failed while this waited for a buffer.
    this.throwFailure();
    const batch = this.batch;
    new Uint8Array(batch.buffer, batch.at, bytes.length).set(bytes);
    batch.files.push([file, batch.at, bytes.length, 0]);
    batch.at += bytes.length;
    this.created.push(file);
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Hands over the files not sent yet and waits until every file is written; throws the first failure. */
  async flush(): Promise<void> {
    // A batch `space` opened for a file that was then not written holds nothing: its buffer goes back to the free ones.
    if (this.batch?.files.length === 0) {
      if (this.batch.buffer.byteLength === BATCH_BYTES) this.free.push(this.batch.buffer);
      this.batch = undefined;
    }
    if (this.batch && !this.failure) this.send();
    await this.settle();
    this.throwFailure();
  }

  /** Waits for the batches under way, failed or not; files not handed over yet are dropped. */
  async settle(): Promise<void> {
    this.batch = undefined;
    while (this.pending > 0) await this.returned();
  }

  /** Ends the writer thread (after `settle`). */
  close(): void {
    this.worker?.terminate().catch(() => undefined);
    this.worker = undefined;
  }

  private send(): void {
    const batch = this.batch as NonNullable<TemporaryWriter["batch"]>;
    this.batch = undefined;
    this.post(batch.buffer, batch.files);
  }

  /** Hands `files` in `buffer` to the writer thread (started now if need be). */
  private post(buffer: ArrayBuffer, files: BatchFile[]): void {
    this.worker ??= this.start();
    this.pending++;
    this.worker.postMessage({ buffer, files }, [buffer]);
  }

  private start(): Worker {
    // No loader or flag of the parent (tsx, --import hooks): the thread needs node:fs only, and starts sooner.
    const worker = new Worker(WRITER_SOURCE, { eval: true, execArgv: [] });
    worker.on("message", (done: BatchDone) => {
      this.pending--;
      for (const [file, digest] of done.digests) this.digests.set(file, digest);
      if (done.failure && !this.failure) {
        const { code, path: file, message } = done.failure;
        this.failure = { error: Object.assign(new Error(message), { code, path: file }) };
      }
      if (done.buffer.byteLength === BATCH_BYTES) this.free.push(done.buffer);
      else this.buffers--;
      this.wake?.();
    });
    worker.on("error", (error) => {
      this.failure ??= { error };
      this.pending = 0;
      this.wake?.();
    });
    return worker;
  }

  /** A buffer for a batch holding at least `bytes` bytes: a free one, a new one, or the next one handed back. */
  private async buffer(bytes: number): Promise<ArrayBuffer> {
    if (bytes > BATCH_BYTES) {
      this.buffers++;
      return new ArrayBuffer(bytes);
    }
    for (;;) {
      const free = this.free.pop();
      if (free) return free;
      if (this.buffers < BATCH_BUFFERS) {
        this.buffers++;
        return new ArrayBuffer(BATCH_BYTES);
      }
      await this.returned();
      if (this.failure) return new ArrayBuffer(0);
    }
  }

  /** Resolves when the writer thread hands a batch back (or fails). */
  private returned(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** Temporary files beside their targets, for atomic writes: one random name per run, numbered. */
function temporaryNames(): (file: string) => string {
  const run = randomBytes(6).toString("hex");
  let count = 0;
  return (file) => path.join(path.dirname(file), `.${path.basename(file)}.tmp-${run}${(count++).toString(16)}`);
}

/**
 * Makes `dir` hold exactly `files` (relative paths → content) among the patch files. With `dryRun`, only reports
 * what would change. Each file that differs is written to a temporary file as soon as it is compared; once every
 * file is compared and the deletion guard has passed, the temporary files are renamed over their patches (the
 * manifest last), then removals. Refused or failed, the temporary files are removed: nothing has changed.
 */
export async function syncPatchFiles(
  dir: string,
  files: PatchFileSet,
  options: { dryRun?: boolean; signal?: AbortSignal; guard?: DeletionGuard | undefined } = {},
): Promise<FileChanges> {
  const changes: FileChanges = { added: [], changed: [], removed: [] };
  const staged: [rel: string, temp: string][] = [];
  const created: string[] = [];
  // Rendered straight into the writer's buffers and hashed there when the set can (a snapshot's PatchFiles), unless
  // nothing is written.
  const into = options.dryRun || !files.patchesInto || !files.after ? undefined : (files as RendersInto);
  const writer = new TemporaryWriter();
  try {
    const existing = await existingPatchFiles(dir);
    const reader = new FileReader();
    const temporaryFor = temporaryNames();
    const made = new Set<string>();
    const paths = new Set<string>();
    const before = new Map<string, Buffer>();
    /** With `into`: the SHA-256 of each patch file the writer thread does not write, and which file it writes. */
    const digests = new Map<string, string>();
    const temporaryOf = new Map<string, string>();

    /** Compares one file with the folder's, and hands it to the writer when it differs. */
    const take = async (rel: string, content: string | Uint8Array, patch: boolean): Promise<void> => {
      paths.add(rel);
      // Synchronous work (rendering, compare): let signals (an abort) through now and then, and the writer thread's
      // answers, which free its buffers.
      if (paths.size % 16 === 0) {
        await new Promise(setImmediate);
        throwIfAborted(options.signal);
      }
      const next =
        typeof content === "string"
          ? Buffer.from(content)
          : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
      const file = path.join(dir, rel);
      // A patch path the listing did not find does not exist: no read to try.
      const listed = existing.patches.has(rel) || !PATCH_FILE_PATTERN.test(rel);
      const current = listed ? reader.compare(file, next) : undefined;
      // Written from where it was rendered, the writer thread hashes it, unless it is behind (a slow file system):
      // then this thread, which would otherwise wait for a buffer.
      const handedOver = patch && current !== true && writer.holds(next);
      const threadHashes = handedOver && !writer.behind();
      if (patch && !threadHashes) digests.set(rel, createHash("sha256").update(next).digest("hex"));
      if (current === true) return;
      if (current === undefined) changes.added.push(rel);
      else {
        changes.changed.push(rel);
        before.set(rel, current);
      }
      if (options.dryRun) return;
      throwIfAborted(options.signal);
      const folder = path.dirname(file);
      if (!made.has(folder)) {
        const first = await mkdir(folder, { recursive: true });
        made.add(folder);
        // Folders this run made, deepest first, to remove again if it is refused.
        for (let f = folder; first !== undefined && f.length >= first.length; f = path.dirname(f)) created.push(f);
      }
      const temp = temporaryFor(file);
      if (handedOver) {
        writer.commit(temp, next, threadHashes);
        if (threadHashes) temporaryOf.set(rel, temp);
      } else await writer.write(temp, next);
      staged.push([rel, temp]);
    };

    if (into) {
      const iterator = into.patchesInto((bytes) => writer.space(bytes))[Symbol.iterator]();
      try {
        for (;;) {
          await writer.ready();
          const step = iterator.next();
          if (step.done) break;
          await take(step.value[0], step.value[1], true);
        }
      } finally {
        // Left early (a failure, an abort): the iteration is closed, as for…of would.
        iterator.return?.();
      }
      // Every patch file written and hashed: then the manifest, which lists their hashes.
      await writer.flush();
      const digestOf = (rel: string) => {
        const temp = temporaryOf.get(rel);
        const digest = temp === undefined ? digests.get(rel) : writer.digests.get(temp);
        if (digest === undefined) throw new Error(`no SHA-256 for ${rel}`);
        return digest;
      };
      for (const [rel, content] of into.after(digestOf)) await take(rel, content, false);
    } else for (const [rel, content] of files) await take(rel, content, false);
    await writer.flush();
    for (const rel of existing.patches) if (!paths.has(rel)) changes.removed.push(rel);
    changes.removed.sort();
    if (options.guard && (changes.changed.length > 0 || changes.removed.length > 0)) {
      await checkDeletions(dir, changes, before, options.guard);
    }
    if (options.dryRun) return changes;

    throwIfAborted(options.signal);
    for (const rel of existing.temporary) await unlink(path.join(dir, rel)).catch(() => undefined);
    const manifestLast = staged.sort(([a], [b]) => Number(a === MANIFEST_FILE) - Number(b === MANIFEST_FILE));
    while (manifestLast.length > 0) {
      const [rel, temp] = manifestLast[0] as [string, string];
      renameSync(temp, path.join(dir, rel));
      manifestLast.shift();
    }
    for (const rel of changes.removed) await unlink(path.join(dir, rel));
    return changes;
  } catch (error) {
    await writer.settle();
    await Promise.all(writer.created.map((temp) => unlink(temp).catch(() => undefined)));
    for (const folder of created.sort((a, b) => b.length - a.length)) await rmdir(folder).catch(() => undefined);
    if (error instanceof SnapshooterError) throw error;
    const errno = error as NodeJS.ErrnoException;
    throw new SnapshooterError("WRITE_FAILED", `cannot write the patches in ${dir}`, {
      problems: [{ path: errno.path ?? dir, message: errno.code ?? String(error) }],
      cause: error,
    });
  } finally {
    writer.close();
  }
}

/** Refuses, before anything is written, a run that removes more than the guard's share of the objects. */
async function checkDeletions(
  dir: string,
  changes: FileChanges,
  before: ReadonlyMap<string, Buffer>,
  guard: DeletionGuard,
): Promise<void> {
  const manifest = before.get(MANIFEST_FILE) ?? (await readIfExists(path.join(dir, MANIFEST_FILE)));
  let held = 0;
  try {
    held = manifest ? Number((JSON.parse(manifest.toString("utf8")) as { objects?: unknown }).objects) || 0 : 0;
  } catch {
    return; // No readable manifest: nothing to measure against (a first snapshot, or a hand-made folder).
  }
  if (held === 0 || guard.maxShare >= 1) return;
  const removed = new Set<string>();
  for (const rel of [...changes.changed, ...changes.removed]) {
    if (rel === MANIFEST_FILE) continue;
    const old = before.get(rel) ?? (await readIfExists(path.join(dir, rel)));
    if (!old) continue;
    let objects: { tag?: unknown }[] = [];
    try {
      objects = (JSON.parse(old.toString("utf8")) as { objects?: { tag?: unknown }[] }).objects ?? [];
    } catch {
      continue;
    }
    for (const object of objects) {
      if (typeof object.tag === "string" && !guard.keep.has(object.tag)) removed.add(object.tag);
    }
  }
  if (removed.size / held <= guard.maxShare) return;
  const share = (n: number) => `${Math.round(n * 1000) / 10}%`;
  throw new SnapshooterError(
    "TOO_MANY_REMOVED",
    `this run would remove ${removed.size.toLocaleString("en-US")} of the ${held.toLocaleString("en-US")} objects in ${dir} (${share(removed.size / held)}), more than the ${share(guard.maxShare)} allowed; nothing was written or pushed. A truncated or partial export looks like this: check the export, or allow it once with ${guard.override}`,
  );
}
