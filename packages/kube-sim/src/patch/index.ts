export { applyJsonPatch, PatchError } from "./json-patch.js";
export { applyMergePatch, isPlainObject } from "./merge.js";
export { applyStrategicMergePatch } from "./strategic.js";

export const PATCH_CONTENT_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;
export {
  type ApplyConflict,
  fieldSetOf,
  type ManagedFieldsEntry,
  recordUpdate,
  serverSideApply,
} from "./apply.js";
