/**
 * Server-side apply (`application/apply-patch+yaml`), the subset rollway relies on: field sets in the FieldsV1
 * format, the manager's Apply entry in `metadata.managedFields`, conflicts with other managers, `force`, and
 * removal of fields a manager stops applying when nobody else owns them. Built-in kinds merge like a strategic
 * merge patch (lists with merge keys merge element by element, other lists are atomic); custom resources merge
 * like a JSON merge patch (every list is atomic).
 */
import { applyMergePatch, isPlainObject } from "./merge.js";
import { applyStrategicMergePatch, mergeKeyFor } from "./strategic.js";

type Json = Record<string, unknown>;
/** FieldsV1: `f:<field>`, `k:<merge key as JSON>`, `v:<value as JSON>`, `.` for the element itself. */
export type FieldSet = { [segment: string]: FieldSet };

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: FieldSet;
  subresource?: string;
}

export interface ApplyConflict {
  manager: string;
  /** The manager as k8s.io/apiserver's printManager words it: `"kubectl-scale" with subresource "scale" using apps/v1`. */
  printed: string;
  /** The manager identifier the apiserver sorts conflicts by (the entry as JSON without time and fields). */
  identifier: string;
  /** As structured-merge-diff prints paths: `.spec.replicas`, `.spec.template.spec.containers[name="web"].image`. */
  path: string;
}

export interface ApplyInput {
  live: Json;
  applied: Json;
  manager: string;
  force: boolean;
  kind: string;
  custom: boolean;
  apiVersion: string;
  time: string;
}

export type ApplyOutcome =
  | { ok: true; object: Json; managedFields: ManagedFieldsEntry[] }
  | { ok: false; conflicts: ApplyConflict[] };

/** Fields the server owns or that are never recorded for an apply to the main resource. */
function configOf(applied: Json): Json {
  const { status: _s, apiVersion: _a, kind: _k, ...rest } = applied;
  const meta = isPlainObject(rest.metadata) ? { ...rest.metadata } : undefined;
  if (meta) {
    for (const k of ["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"])
      delete meta[k];
    if (Object.keys(meta).length === 0) delete rest.metadata;
    else rest.metadata = meta;
  }
  return rest;
}

const stable = (v: unknown): string =>
  isPlainObject(v)
    ? `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${stable(v[k])}`)
        .join(",")}}`
    : JSON.stringify(v);

/** The FieldsV1 set of an applied configuration. */
export function fieldSetOf(config: Json, kind: string, custom: boolean): FieldSet {
  return objectSet(configOf(config), [], kind, custom);
}

function objectSet(obj: Json, path: string[], kind: string, custom: boolean): FieldSet {
  const out: FieldSet = {};
  // String maps (labels, annotations, matchLabels, data) own their own presence, as the real sets show with ".".
  const entries = Object.entries(obj).filter(([, v]) => v !== null && v !== undefined);
  if (path.length > 0 && entries.length > 0 && entries.every(([, v]) => typeof v === "string")) out["."] = {};
  for (const [key, value] of entries) out[`f:${key}`] = valueSet(value, [...path, key], key, kind, custom);
  return out;
}

function valueSet(value: unknown, path: string[], field: string, kind: string, custom: boolean): FieldSet {
  if (isPlainObject(value)) return objectSet(value, path, kind, custom);
  if (!Array.isArray(value) || custom) return {};
  const mergeKey = mergeKeyFor(path.slice(0, -1), field, kind);
  if (mergeKey === undefined) return {};
  const out: FieldSet = {};
  for (const element of value) {
    if (mergeKey === "set") out[`v:${JSON.stringify(element)}`] = {};
    else if (isPlainObject(element) && element[mergeKey] !== undefined)
      out[`k:${stable({ [mergeKey]: element[mergeKey] })}`] = { ".": {}, ...objectSet(element, path, kind, custom) };
  }
  return out;
}

/** Every path to a leaf of a set (a `.` counts as a leaf of its element). */
export function leaves(set: FieldSet, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [segment, child] of Object.entries(set)) {
    const path = [...prefix, segment];
    if (Object.keys(child).length === 0) out.push(path);
    else out.push(...leaves(child, path));
  }
  return out;
}

function has(set: FieldSet, path: string[]): boolean {
  let node: FieldSet | undefined = set;
  for (const segment of path) {
    node = node[segment];
    if (node === undefined) return false;
  }
  return Object.keys(node).length === 0;
}

function without(set: FieldSet, drop: string[][]): FieldSet {
  const out = structuredClone(set);
  for (const path of drop) {
    const trail: FieldSet[] = [out];
    let node: FieldSet | undefined = out;
    for (const segment of path.slice(0, -1)) {
      node = node[segment];
      if (!node) break;
      trail.push(node);
    }
    if (!node) continue;
    delete node[path[path.length - 1] as string];
    // Prune parents left empty.
    for (let i = trail.length - 1; i > 0; i--) {
      if (Object.keys(trail[i] as FieldSet).length > 0) break;
      delete (trail[i - 1] as FieldSet)[path[i - 1] as string];
    }
  }
  return out;
}

/** The value a path points at; `undefined` when it is not there. */
function valueAt(obj: unknown, path: string[]): unknown {
  let v: unknown = obj;
  for (const segment of path) {
    if (segment === ".") return v;
    if (segment.startsWith("f:")) v = isPlainObject(v) ? v[segment.slice(2)] : undefined;
    else if (segment.startsWith("k:")) {
      const key = JSON.parse(segment.slice(2)) as Json;
      v = Array.isArray(v)
        ? v.find((e) => isPlainObject(e) && Object.entries(key).every(([k, x]) => e[k] === x))
        : undefined;
    } else if (segment.startsWith("v:")) {
      const want = segment.slice(2);
      v = Array.isArray(v) ? v.find((e) => JSON.stringify(e) === want) : undefined;
    }
    if (v === undefined) return undefined;
  }
  return v;
}

function removeAt(obj: Json, path: string[]): void {
  const last = path[path.length - 1] as string;
  const elementPath = last === "." ? path.slice(0, -1) : path;
  const parentPath = elementPath.slice(0, -1);
  const target = elementPath[elementPath.length - 1] as string;
  const parent = parentPath.length === 0 ? obj : valueAt(obj, parentPath);
  if (target.startsWith("f:")) {
    if (isPlainObject(parent)) delete parent[target.slice(2)];
  } else if (Array.isArray(parent)) {
    const element = valueAt(obj, elementPath);
    const index = parent.indexOf(element);
    if (index >= 0) parent.splice(index, 1);
    // The list was this manager's alone: it goes with its last element rather than staying as [].
    const listField = parentPath[parentPath.length - 1];
    if (parent.length === 0 && listField?.startsWith("f:")) {
      const holder = parentPath.length === 1 ? obj : valueAt(obj, parentPath.slice(0, -1));
      if (isPlainObject(holder)) delete holder[listField.slice(2)];
    }
  }
}

/** A path as structured-merge-diff prints it. */
export function printPath(path: string[]): string {
  let out = "";
  for (const segment of path) {
    if (segment === ".") continue;
    if (segment.startsWith("f:")) out += `.${segment.slice(2)}`;
    else if (segment.startsWith("k:")) {
      const key = JSON.parse(segment.slice(2)) as Json;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    } else if (segment.startsWith("v:")) out += `[=${segment.slice(2)}]`;
  }
  return out;
}

function sameEntryOwner(e: ManagedFieldsEntry, manager: string): boolean {
  return e.manager === manager && e.operation === "Apply" && e.subresource === undefined;
}

/** Merges an applied configuration into the live object for `manager`; pure. */
export function serverSideApply(input: ApplyInput): ApplyOutcome {
  const { live, applied, manager, force, kind, custom } = input;
  const config = configOf(applied);
  const mine = fieldSetOf(applied, kind, custom);
  const entries = (
    Array.isArray(live.metadata && (live.metadata as Json).managedFields)
      ? ((live.metadata as Json).managedFields as ManagedFieldsEntry[])
      : []
  ).filter((e) => isPlainObject(e) && isPlainObject(e.fieldsV1));
  const previous = entries.find((e) => sameEntryOwner(e, manager));
  const others = entries.filter((e) => !sameEntryOwner(e, manager));

  const patch = { ...config, metadata: { ...(isPlainObject(config.metadata) ? config.metadata : {}) } };
  const liveMeta = isPlainObject(live.metadata) ? live.metadata : {};
  if (isPlainObject(applied.metadata) && applied.metadata.resourceVersion !== undefined)
    patch.metadata.resourceVersion = applied.metadata.resourceVersion;
  patch.metadata.name = liveMeta.name;
  const merged = (
    custom
      ? applyMergePatch(structuredClone(live), patch)
      : applyStrategicMergePatch(structuredClone(live), patch, kind)
  ) as Json;

  const myLeaves = leaves(mine).filter((p) => p[p.length - 1] !== ".");
  const conflicts: ApplyConflict[] = [];
  const taken = new Map<ManagedFieldsEntry, string[][]>();
  for (const other of others) {
    for (const path of myLeaves) {
      if (!has(other.fieldsV1, path)) continue;
      if (stable(valueAt(live, path)) === stable(valueAt(merged, path))) continue;
      conflicts.push({
        manager: other.manager,
        printed: printManager(other),
        identifier: managerIdentifier(other),
        path: printPath(path),
      });
      taken.set(other, [...(taken.get(other) ?? []), path]);
    }
  }
  if (conflicts.length > 0 && !force) return { ok: false, conflicts };

  // Fields this manager applied before and no longer does go, unless another manager owns them.
  if (previous) {
    const gone = leaves(previous.fieldsV1).filter(
      (p) => !has(mine, p) && !others.some((o) => has(o.fieldsV1, p)) && !(p.length === 1 && p[0] === "f:metadata"),
    );
    for (const path of gone) if (!(path[0] === "f:metadata" && path[1] === "f:name")) removeAt(merged, path);
  }

  const kept = others
    .map((e) => (taken.has(e) ? { ...e, fieldsV1: without(e.fieldsV1, taken.get(e) ?? []) } : e))
    .filter((e) => Object.keys(e.fieldsV1).length > 0);
  const unchanged =
    previous &&
    stable(previous.fieldsV1) === stable(mine) &&
    stable(withoutManaged(merged)) === stable(withoutManaged(live));
  const entry: ManagedFieldsEntry = unchanged
    ? previous
    : {
        manager,
        operation: "Apply",
        apiVersion: input.apiVersion,
        time: input.time,
        fieldsType: "FieldsV1",
        fieldsV1: mine,
      };
  // The real server keeps entries in their first-seen order; a new manager goes last.
  const managedFields = previous
    ? entries
        .map((e) =>
          e === previous
            ? entry
            : kept.includes(e)
              ? e
              : kept.find((k) => k.manager === e.manager && k.operation === e.operation),
        )
        .filter((e): e is ManagedFieldsEntry => e !== undefined)
    : [...kept, entry];
  return { ok: true, object: merged, managedFields };
}

/** k8s.io/apiserver fieldmanager's BuildManagerIdentifier: the entry as JSON without time and fields (and, for Apply, apiVersion). */
function managerIdentifier(e: ManagedFieldsEntry): string {
  return JSON.stringify({
    manager: e.manager,
    operation: e.operation,
    ...(e.operation === "Update" && e.apiVersion ? { apiVersion: e.apiVersion } : {}),
    ...(e.subresource ? { subresource: e.subresource } : {}),
  });
}

/** k8s.io/apiserver fieldmanager's printManager (the identifier carries no time, so no "at ..."). */
function printManager(e: ManagedFieldsEntry): string {
  let out = JSON.stringify(e.manager);
  if (e.subresource) out += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === "Update") out += ` using ${e.apiVersion}`;
  return out;
}

export interface UpdateInput {
  /** The object before the write; undefined for a create. */
  live: Json | undefined;
  /** The object as it will be stored. */
  next: Json;
  /** The entries to start from (the live object's, or the ones the client sent). */
  entries: ManagedFieldsEntry[];
  manager: string;
  apiVersion: string;
  time: string;
  kind: string;
  custom: boolean;
  /** "status" or "scale" for writes to a subresource. */
  subresource?: string;
}

function addPath(set: FieldSet, path: string[]): void {
  let node = set;
  for (const segment of path) {
    node[segment] ??= {};
    node = node[segment] as FieldSet;
  }
}

/** The fields of an object a non-apply write can own: everything but server-set metadata (status included). */
function writableSet(obj: Json, kind: string, custom: boolean, subresource: string | undefined): FieldSet {
  if (subresource === "scale") {
    const replicas = isPlainObject(obj.spec) ? obj.spec.replicas : undefined;
    return replicas === undefined ? {} : { "f:spec": { "f:replicas": {} } };
  }
  const set = fieldSetOf(obj, kind, custom);
  if (subresource === "status") {
    const status = isPlainObject(obj.status) ? objectSet(obj.status, ["status"], kind, custom) : undefined;
    return status ? { "f:status": status } : {};
  }
  return set;
}

/**
 * The managedFields after a create, update or patch (operation Update), as k8s.io/apiserver's fieldmanager keeps
 * them: the writer's entry (one per manager, apiVersion and subresource) gains every field the write set or
 * changed; other managers lose those fields and any the write removed; entries left empty go. Pure.
 */
export function recordUpdate(input: UpdateInput): ManagedFieldsEntry[] {
  const { live, next, manager, kind, custom, subresource } = input;
  const after = writableSet(next, kind, custom, subresource);
  const before = live ? writableSet(live, kind, custom, subresource) : {};
  const changed = leaves(after).filter(
    (p) => live === undefined || stable(valueAt(live, p)) !== stable(valueAt(next, p)),
  );
  const removed = leaves(before).filter((p) => valueAt(next, p) === undefined);
  if (changed.length === 0 && removed.length === 0) return input.entries;
  const isMine = (e: ManagedFieldsEntry) =>
    e.manager === manager &&
    e.operation === "Update" &&
    e.apiVersion === input.apiVersion &&
    (e.subresource ?? "") === (subresource ?? "");
  const previous = input.entries.find(isMine);
  const mine = without(previous?.fieldsV1 ?? {}, removed);
  for (const p of changed) addPath(mine, p);
  const entry: ManagedFieldsEntry = {
    manager,
    operation: "Update",
    apiVersion: input.apiVersion,
    time: input.time,
    fieldsType: "FieldsV1",
    fieldsV1: mine,
    ...(subresource ? { subresource } : {}),
  };
  const drop = [...changed, ...removed];
  const out: ManagedFieldsEntry[] = [];
  for (const e of input.entries) {
    if (e === previous) {
      out.push(entry);
      continue;
    }
    const kept = { ...e, fieldsV1: without(e.fieldsV1, drop) };
    if (Object.keys(kept.fieldsV1).length > 0) out.push(kept);
  }
  if (!previous) out.push(entry);
  return out;
}

function withoutManaged(obj: Json): Json {
  const meta = isPlainObject(obj.metadata) ? { ...obj.metadata } : {};
  delete meta.managedFields;
  delete meta.resourceVersion;
  return { ...obj, metadata: meta };
}
