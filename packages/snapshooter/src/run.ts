/**
 * `runSnapshots`: everything `rollway snapshot` does, so the command stays a few lines. Reads the configuration and
 * the source once, then for each entry selects, renders and writes its patches, directly or through git.
 */
import path from "node:path";
import {
  formatCommitMessage,
  loadSnapshooterConfig,
  parseSnapshooterConfig,
  type SnapshooterConfig,
  type SnapshooterEntry,
} from "./config.js";
import { isAbortError, SnapshooterError, type SnapshooterErrorCode, throwIfAborted } from "./errors.js";
import { type GitEvent, snapshotToGit, withLock } from "./git.js";
import { loadPrerenderedGraph, type PrerenderedGraph, renderPrerendered } from "./prerendered.js";
import { redactUrlCredentials } from "./redact.js";
import { type CodeAsDataSource, openSource } from "./sources/source.js";
import { DEFAULT_MAX_REMOVED_SHARE, type DeletionGuard, type FileChanges, syncPatchFiles } from "./write.js";

export type EntryStatus =
  /** The patches were already up to date: nothing written, nothing committed. */
  | "unchanged"
  /** Patches written (no git part), or committed and pushed. */
  | "updated"
  /** Dry run: `files` says what a real run would change; nothing was written. */
  | "would-update"
  /** Another run holds the checkout (LOCKED): this run did nothing, the other one does the work. */
  | "skipped"
  | "failed";

export interface EntryReport {
  name: string;
  outputDir: string;
  status: EntryStatus;
  /** Objects in the snapshot. */
  objects: number;
  /** Paths relative to outputDir. */
  files: FileChanges;
  /** The commit pushed (or made), or null when none was needed. */
  commit: string | null;
  pushed: boolean;
  /** Pushes tried, refused ones included. */
  pushAttempts: number;
  /** Set when status is `failed` (or `skipped`: LOCKED); the message never holds a credential. */
  error?: { code: SnapshooterErrorCode | "UNEXPECTED"; message: string };
}

export interface SnapshotReport {
  dryRun: boolean;
  source: string;
  entries: EntryReport[];
}

export type SnapshotEvent =
  | { type: "source-loaded"; source: string; objects: number; relations: number }
  | { type: "entry-started"; entry: string }
  | { type: "files-changed"; entry: string; files: FileChanges; dryRun: boolean }
  | GitEvent
  | { type: "entry-finished"; entry: string; report: EntryReport };

export interface RunSnapshotsOptions {
  /** The configuration file; relative outputDirs of entries without git are resolved from its folder. */
  configPath?: string;
  /** The configuration itself, instead of a file (parsed and validated like one). */
  config?: unknown;
  /** Where code as data comes from: a source, an export file path, or an http(s) URL serving the export. */
  source: CodeAsDataSource | string;
  dryRun?: boolean;
  /** Only the entry with this name. */
  entry?: string;
  signal?: AbortSignal;
  onEvent?: (event: SnapshotEvent) => void;
  /** The clock for `{date}`. */
  now?: () => Date;
  /** Base folder for relative outputDirs when `config` is given inline. Default: the current directory. */
  cwd?: string;
  /** Where git checkouts are made. Default: `<os tmpdir>/rollway-snapshooter`. */
  workDir?: string;
  author?: { name: string; email: string };
  maxPushAttempts?: number;
  /**
   * The most a run may remove, as a share (0..1) of the objects the outputDir holds; default 0.1. A run over it
   * fails with TOO_MANY_REMOVED, nothing written or pushed. 1 turns the guard off.
   */
  maxRemovedShare?: number;
  /** How the user raises the limit, named in the refusal; default `maxRemovedShare`. */
  maxRemovedOverride?: string;
}

function selectEntries(config: SnapshooterConfig, name: string | undefined): SnapshooterEntry[] {
  if (name === undefined) return config;
  const found = config.filter((e) => e.snapshooter.name === name);
  if (found.length === 0) {
    throw new SnapshooterError("UNKNOWN_ENTRY", `no entry named ${JSON.stringify(name)} in the configuration`, {
      problems: [
        {
          path: "--entry",
          message: `known entries: ${config.map((e) => JSON.stringify(e.snapshooter.name)).join(", ")}`,
        },
      ],
    });
  }
  return found;
}

function failureOf(error: unknown): NonNullable<EntryReport["error"]> {
  if (error instanceof SnapshooterError) return { code: error.code, message: error.message };
  if (isAbortError(error)) return { code: "ABORTED", message: "the snapshot was aborted" };
  return { code: "UNEXPECTED", message: redactUrlCredentials(error instanceof Error ? error.message : String(error)) };
}

/**
 * Runs every entry of the configuration (or the one named by `entry`) against one read of the source. Problems of
 * the whole run (configuration, unknown entry, unreadable or invalid source) throw a `SnapshooterError`; an entry
 * that fails is reported as `failed` and the other entries still run.
 */
export async function runSnapshots(options: RunSnapshotsOptions): Promise<SnapshotReport> {
  const { signal, dryRun = false } = options;
  const emit = options.onEvent ?? (() => undefined);
  let config: SnapshooterConfig;
  let baseDir: string;
  if (options.config !== undefined) {
    config = parseSnapshooterConfig(options.config);
    baseDir = path.resolve(options.cwd ?? ".");
  } else if (options.configPath !== undefined) {
    config = await loadSnapshooterConfig(options.configPath);
    baseDir = path.dirname(path.resolve(options.configPath));
  } else {
    throw new SnapshooterError("INVALID_CONFIG", "runSnapshots needs a configPath or a config");
  }
  const entries = selectEntries(config, options.entry);

  const source = typeof options.source === "string" ? openSource(options.source) : options.source;
  throwIfAborted(signal);
  const graph = await loadPrerenderedGraph(source, signal);
  emit({
    type: "source-loaded",
    source: source.description,
    objects: graph.objectCount,
    relations: graph.relationCount,
  });

  const reports: EntryReport[] = [];
  for (const entry of entries) {
    const report = await runEntry(entry, graph, baseDir, options, emit);
    emit({ type: "entry-finished", entry: report.name, report });
    reports.push(report);
  }
  return { dryRun, source: source.description, entries: reports };
}

async function runEntry(
  entry: SnapshooterEntry,
  graph: PrerenderedGraph,
  baseDir: string,
  options: RunSnapshotsOptions,
  emit: (event: SnapshotEvent) => void,
): Promise<EntryReport> {
  const { name, rootTags, exclude, outputDir } = entry.snapshooter;
  const report: EntryReport = {
    name,
    outputDir,
    status: "unchanged",
    objects: 0,
    files: { added: [], changed: [], removed: [] },
    commit: null,
    pushed: false,
    pushAttempts: 0,
  };
  emit({ type: "entry-started", entry: name });
  try {
    throwIfAborted(options.signal);
    const snapshot = renderPrerendered(graph, { name, rootTags, exclude });
    const { files } = snapshot;
    report.objects = snapshot.objects;
    const guard: DeletionGuard = {
      keep: snapshot,
      maxShare: options.maxRemovedShare ?? DEFAULT_MAX_REMOVED_SHARE,
      override: options.maxRemovedOverride ?? "maxRemovedShare",
    };
    if (entry.git) {
      const result = await snapshotToGit({
        entry: name,
        target: { repo: entry.git.repo, branch: entry.git.branch },
        outputDir,
        files,
        commitMessage: formatCommitMessage(entry.git.commitMessage, {
          date: (options.now ?? (() => new Date()))(),
          folder: outputDir,
        }),
        ...(options.dryRun ? { dryRun: true } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.workDir ? { workDir: options.workDir } : {}),
        ...(options.author ? { author: options.author } : {}),
        ...(options.maxPushAttempts ? { maxPushAttempts: options.maxPushAttempts } : {}),
        guard,
        onEvent: emit,
      });
      report.files = result.changes;
      report.commit = result.commit;
      report.pushed = result.pushed;
      report.pushAttempts = result.pushAttempts;
    } else {
      const dir = path.resolve(baseDir, outputDir);
      // The same lock as a git checkout's: two runs writing one outputDir would interleave their patches.
      report.files = await withLock(dir, name, () =>
        syncPatchFiles(dir, files, {
          ...(options.dryRun ? { dryRun: true } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          guard,
        }),
      );
    }
    const changed = report.files.added.length + report.files.changed.length + report.files.removed.length > 0;
    report.status = !changed ? "unchanged" : options.dryRun ? "would-update" : "updated";
    if (entry.git && !options.dryRun && report.commit === null) {
      // The remote already holds this very snapshot (another run pushed it first): nothing changed there.
      report.status = "unchanged";
      report.files = { added: [], changed: [], removed: [] };
    }
    if (report.status !== "unchanged")
      emit({ type: "files-changed", entry: name, files: report.files, dryRun: !!options.dryRun });
  } catch (error) {
    report.error = failureOf(error);
    report.status = report.error.code === "LOCKED" ? "skipped" : "failed";
  }
  return report;
}
