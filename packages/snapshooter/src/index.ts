export { type AppliedPatches, applyPatches, buildCodeAsData } from "./apply.js";
export {
  canonicalJson,
  MANIFEST_FILE,
  type Manifest,
  type ManifestEntry,
  PATCH_FORMAT,
  type PatchFile,
  renderPatches,
} from "./canonical.js";
export {
  DEFAULT_COMMIT_MESSAGE,
  formatCommitMessage,
  loadSnapshooterConfig,
  parseSnapshooterConfig,
  parseSnapshooterConfigText,
  type SnapshooterConfig,
  type SnapshooterConfigInput,
  type SnapshooterEntry,
  snapshooterConfigJsonSchema,
  snapshooterConfigSchema,
} from "./config.js";
export { SnapshooterError, type SnapshooterErrorCode, type SnapshooterProblem } from "./errors.js";
export { type GitEvent, snapshotToGit } from "./git.js";
export { loadGraph, type Selection, selectSnapshot } from "./graph.js";
export {
  CONTAINS,
  type CodeGraph,
  type CodeObject,
  codeObjectSchema,
  type ExportRecord,
  exportRecordSchema,
  HOME_TAG,
  type ObjectKind,
  type Relation,
  relationSchema,
} from "./model.js";
export { redactUrlCredentials } from "./redact.js";
export { EXIT_CODES, type ExitCode, exitCodeOf, formatError, formatReport } from "./report.js";
export {
  type EntryReport,
  type EntryStatus,
  type RunSnapshotsOptions,
  runSnapshots,
  type SnapshotEvent,
  type SnapshotReport,
} from "./run.js";
export type { RawRecord } from "./sources/parse-stream.js";
export { type CodeAsDataSource, fileSource, httpSource, openSource } from "./sources/source.js";
export {
  DEFAULT_MAX_REMOVED_SHARE,
  type DeletionGuard,
  type FileChanges,
  type PatchFileSet,
  type RendersInto,
  syncPatchFiles,
} from "./write.js";
