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

/**
 * Canonical JSON: every object's keys inserted in sorted order (so JSON.stringify prints them sorted, integer-like
 * keys first as JavaScript always orders them), arrays kept in order, two-space indent, newline at the end.
 */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

export const NOT_JSON: unique symbol = Symbol("not JSON");

/**
 * `Object.keys(value).sort()`: an insertion sort for the few keys objects usually have (the built-in sort's set-up
 * costs more than sorting them), the built-in one past that. Same order: both compare UTF-16 code units.
 */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  if (keys.length > 12) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/**
 * A sorted-key copy of a JSON value in one pass, or NOT_JSON when it holds anything JSON cannot (a function, a
 * class instance, Infinity). The export loader uses it so rendering never copies again.
 */
export function canonicalCopy(value: unknown): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : NOT_JSON;
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const out = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = canonicalCopy(value[i]);
          if (item === NOT_JSON) return NOT_JSON;
          out[i] = item;
        }
        return out;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return NOT_JSON;
      const out: Record<string, unknown> = {};
      for (const key of sortedKeys(value)) {
        const item = canonicalCopy((value as Record<string, unknown>)[key]);
        if (item === NOT_JSON) return NOT_JSON;
        out[key] = item;
      }
      return out;
    }
    default:
      return NOT_JSON;
  }
}

/** A copy of `value` with every object's keys in sorted order; `undefined` members dropped as JSON.stringify would. */
export function sortKeys<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out as T;
}

export function patchPath(kind: ObjectKind, tag: string): string {
  return `${kind}s/${tag}.json`;
}

const byTag = (a: { tag: string }, b: { tag: string }) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function compareRelations(a: Relation, b: Relation): number {
  if (a.from !== b.from) return a.from < b.from ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return a.to < b.to ? -1 : a.to > b.to ? 1 : 0;
}

/**
 * One patch file's text: canonical JSON laid out with one object and one relation per line, so a change to one
 * object is a one-line diff, and the file stays about half the size of a fully indented one.
 */
function renderPatchText(
  file: Omit<PatchFile, "objects" | "relations">,
  objects: readonly string[],
  relations: readonly string[],
): string {
  const list = (items: readonly string[]) => (items.length === 0 ? "[]" : `[\n    ${items.join(",\n    ")}\n  ]`);
  return `{
  "format": ${JSON.stringify(file.format)},
  "kind": ${JSON.stringify(file.kind)},
  "name": ${JSON.stringify(file.name)},
  "objects": ${list(objects)},
  "parent": ${JSON.stringify(file.parent)},
  "relations": ${list(relations)},
  "tag": ${JSON.stringify(file.tag)}
}
`;
}

// Tags are 20 digits, so only the type can need escaping: the same bytes as JSON.stringify({ from, to, type }).
function relationJson(from: string, to: string, type: string): string {
  return `{"from":"${from}","to":"${to}","type":${JSON.stringify(type)}}`;
}

/**
 * A relation as one string that sorts (by plain string order) as `compareRelations` does: from (20 digits), type,
 * then to after a NUL (which sorts before any character a type can hold, so "a" before "ab" as strings compare).
 * Sorting these strings natively is several times faster than sorting objects with a comparator. Tags are 20
 * characters, so the key always splits back into its parts, whatever the type holds.
 */
export function relationKey(r: Relation): string {
  return `${r.from}${r.type}\u0000${r.to}`;
}

function relationOfKey(key: string): Relation {
  return { from: key.slice(0, 20), to: key.slice(-20), type: key.slice(20, -21) };
}

/** What one patch file holds, already in canonical text: the form both renderers share. */
export interface PatchGroup {
  kind: ObjectKind;
  name: string;
  /** The tag of the folder or project this one was reached from; null for a root. */
  parent: string | null;
  /** Each object's canonical JSON, in tag order. */
  objects: string[];
  /** `relationKey` of each relation whose `from` is in this file, in any order, duplicates allowed. */
  relationKeys: string[];
}

/** The patch files of a snapshot from its groups (keyed by owner tag), the manifest included. */
export function renderPatchGroups(
  groups: ReadonlyMap<string, PatchGroup>,
  meta: { name: string; rootTags: readonly string[]; exclude: readonly string[] },
  objectCount: number,
): Map<string, string> {
  const files = new Map<string, string>();
  const entries: ManifestEntry[] = [];
  let relationCount = 0;
  for (const [owner, group] of groups) {
    // Sorted, then duplicates (an export may list a relation twice) dropped as neighbours.
    const relations: string[] = [];
    if (group.relationKeys.some((key) => key.indexOf("\u0000") !== key.length - 21)) {
      // A type holding NUL would break the sort keys' order: the comparator, as before.
      let previous: Relation | undefined;
      for (const r of group.relationKeys.map(relationOfKey).sort(compareRelations)) {
        if (previous && compareRelations(previous, r) === 0) continue;
        relations.push(relationJson(r.from, r.to, r.type));
        previous = r;
      }
    } else {
      let previous: string | undefined;
      for (const key of group.relationKeys.sort()) {
        if (key === previous) continue;
        previous = key;
        // from is the first 20 characters, to the last 20, the type between them and the NUL.
        relations.push(relationJson(key.slice(0, 20), key.slice(-20), key.slice(20, -21)));
      }
    }
    relationCount += relations.length;
    const file: Omit<PatchFile, "objects" | "relations"> = {
      format: PATCH_FORMAT,
      tag: owner,
      kind: group.kind,
      name: group.name,
      parent: group.parent,
    };
    const text = renderPatchText(file, group.objects, relations);
    const path = patchPath(group.kind, owner);
    files.set(path, text);
    entries.push({
      path,
      tag: owner,
      kind: group.kind,
      name: group.name,
      objects: group.objects.length,
      relations: relations.length,
      sha256: sha256(text),
    });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest: Manifest = {
    format: PATCH_FORMAT,
    name: meta.name,
    rootTags: [...new Set(meta.rootTags)].sort(),
    exclude: [...new Set(meta.exclude)].sort(),
    objects: objectCount,
    relations: relationCount,
    files: entries,
  };
  const sorted = new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  sorted.set(MANIFEST_FILE, canonicalJson(manifest));
  return sorted;
}

/** The patch files of a snapshot, keyed by path relative to outputDir, the manifest included. */
export function renderPatches(
  selection: Selection,
  meta: { name: string; rootTags: readonly string[]; exclude: readonly string[] },
): Map<string, string> {
  const members = new Map<string, { objects: CodeObject[]; relationKeys: string[] }>();
  for (const owner of selection.parents.keys()) members.set(owner, { objects: [], relationKeys: [] });
  for (const [tag, object] of selection.objects) {
    members.get(selection.owners.get(tag) as string)?.objects.push(object);
  }
  for (const relation of selection.relations) {
    members.get(selection.owners.get(relation.from) as string)?.relationKeys.push(relationKey(relation));
  }
  // Objects loaded by loadGraph have sorted keys all the way down already: no sorted copy to make.
  const objectJson = selection.canonical
    ? (o: CodeObject) => JSON.stringify(o)
    : (o: CodeObject) => JSON.stringify(sortKeys(o));
  const groups = new Map<string, PatchGroup>();
  for (const [owner, { objects, relationKeys }] of members) {
    const container = selection.objects.get(owner) as CodeObject;
    groups.set(owner, {
      kind: container.kind,
      name: container.name,
      parent: selection.parents.get(owner) ?? null,
      objects: objects.sort(byTag).map(objectJson),
      relationKeys,
    });
  }
  return renderPatchGroups(groups, meta, selection.objects.size);
}
