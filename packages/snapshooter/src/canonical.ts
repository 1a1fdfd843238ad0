/**
 * Turns a snapshot into patch files: canonical JSON (sorted keys, stable order, two-space indent, final newline), one
 * file per folder or project named by its tag (names change, tags do not), and a manifest listing them. Pure: the
 * same snapshot always gives byte-identical files, whatever order the export listed things in.
 */
import { createHash } from "node:crypto";
import type { Selection } from "./graph.js";
import type { CodeObject, ObjectKind, Relation } from "./model.js";

export const PATCH_FORMAT = "rollway.snapshooter/v1";
export const MANIFEST_FILE = "manifest.json";
/** The patch files this package owns inside an outputDir; nothing else there is ever touched. */
export const PATCH_FILE_PATTERN = /^(folders|projects|objects)\/\d{20}\.json$/;

export interface PatchFile {
  format: typeof PATCH_FORMAT;
  tag: string;
  kind: ObjectKind;
  name: string;
  /** The tag of the folder or project this one was reached from; null for a root. */
  parent: string | null;
  objects: CodeObject[];
  relations: Relation[];
}

export interface ManifestEntry {
  path: string;
  tag: string;
  kind: ObjectKind;
  name: string;
  objects: number;
  relations: number;
  sha256: string;
}

export interface Manifest {
  format: typeof PATCH_FORMAT;
  name: string;
  rootTags: string[];
  exclude: string[];
  objects: number;
  relations: number;
  files: ManifestEntry[];
}

/** Canonical JSON: object keys sorted by code unit, arrays kept in order, two-space indent, newline at the end. */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function patchPath(kind: ObjectKind, tag: string): string {
  return `${kind}s/${tag}.json`;
}

const byTag = (a: { tag: string }, b: { tag: string }) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
function compareRelations(a: Relation, b: Relation): number {
  return a.from !== b.from
    ? a.from < b.from
      ? -1
      : 1
    : a.type !== b.type
      ? a.type < b.type
        ? -1
        : 1
      : a.to < b.to
        ? -1
        : a.to > b.to
          ? 1
          : 0;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The patch files of a snapshot, keyed by path relative to outputDir, the manifest included. */
export function renderPatches(
  selection: Selection,
  meta: { name: string; rootTags: readonly string[]; exclude: readonly string[] },
): Map<string, string> {
  const groups = new Map<string, { objects: CodeObject[]; relations: Relation[] }>();
  for (const owner of selection.parents.keys()) groups.set(owner, { objects: [], relations: [] });
  for (const [tag, object] of selection.objects) {
    groups.get(selection.owners.get(tag) as string)?.objects.push(object);
  }
  const seen = new Set<string>();
  let relationCount = 0;
  for (const relation of selection.relations) {
    const key = `${relation.from}\u0000${relation.type}\u0000${relation.to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    relationCount++;
    groups.get(selection.owners.get(relation.from) as string)?.relations.push(relation);
  }

  const files = new Map<string, string>();
  const entries: ManifestEntry[] = [];
  for (const [owner, group] of groups) {
    const container = selection.objects.get(owner) as CodeObject;
    const file: PatchFile = {
      format: PATCH_FORMAT,
      tag: owner,
      kind: container.kind,
      name: container.name,
      parent: selection.parents.get(owner) ?? null,
      objects: group.objects.sort(byTag),
      relations: group.relations.sort(compareRelations).map(({ from, to, type }) => ({ from, to, type })),
    };
    const text = canonicalJson(file);
    const path = patchPath(container.kind, owner);
    files.set(path, text);
    entries.push({
      path,
      tag: owner,
      kind: container.kind,
      name: container.name,
      objects: group.objects.length,
      relations: group.relations.length,
      sha256: sha256(text),
    });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest: Manifest = {
    format: PATCH_FORMAT,
    name: meta.name,
    rootTags: [...new Set(meta.rootTags)].sort(),
    exclude: [...new Set(meta.exclude)].sort(),
    objects: selection.objects.size,
    relations: relationCount,
    files: entries,
  };
  const sorted = new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  sorted.set(MANIFEST_FILE, canonicalJson(manifest));
  return sorted;
}
