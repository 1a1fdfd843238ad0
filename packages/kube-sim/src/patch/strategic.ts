/**
 * Strategic merge patch for the built-in kinds, the parts that real clients (kubectl apply, kubectl patch,
 * client-go) rely on:
 * - lists of objects with a merge key merge element by element: containers, initContainers, ephemeralContainers,
 *   env, volumes, imagePullSecrets, resourceClaims (by `name`), container ports (`containerPort`), service ports
 *   (`port`), volumeMounts (`mountPath`), volumeDevices (`devicePath`), hostAliases (`ip`), conditions (`type`),
 *   ownerReferences (`uid`), topologySpreadConstraints (`topologyKey`);
 * - `metadata.finalizers` merges as a set of strings;
 * - every other list is replaced, as the server does for lists without a patch strategy;
 * - `null` deletes a field; `$patch: replace` replaces a map or (as a list element) the whole list; `$patch: delete`
 *   deletes a map or the list element with that merge key; `$deleteFromPrimitiveList/<field>` removes values from a
 *   merged list of strings; `$retainKeys` keeps only the named fields;
 * - `$setElementOrder/<field>` is accepted and ignored: the patched order is the original order followed by new
 *   elements in the patch's order.
 */

import { PatchError } from "./json-patch.js";
import { isPlainObject } from "./merge.js";

type Json = Record<string, unknown>;

/** The merge key of a list, from the field's name and the name of the object holding it. */
export function mergeKeyFor(path: string[], field: string, kind: string): string | "set" | undefined {
  switch (field) {
    case "containers":
    case "initContainers":
    case "ephemeralContainers":
    case "env":
    case "volumes":
    case "imagePullSecrets":
    case "resourceClaims":
      return "name";
    case "ports":
      // Service.spec.ports merge on `port`; container ports on `containerPort`.
      return kind === "Service" && path.length === 1 && path[0] === "spec" ? "port" : "containerPort";
    case "volumeMounts":
      return "mountPath";
    case "volumeDevices":
      return "devicePath";
    case "hostAliases":
      return "ip";
    case "conditions":
      return "type";
    case "ownerReferences":
      return "uid";
    case "topologySpreadConstraints":
      return "topologyKey";
    case "finalizers":
      return path.length === 1 && path[0] === "metadata" ? "set" : undefined;
    default:
      return undefined;
  }
}

export function applyStrategicMergePatch(target: unknown, patch: unknown, kind: string): unknown {
  if (!isPlainObject(patch)) throw new PatchError("a strategic merge patch must be a JSON object");
  return mergeMap(isPlainObject(target) ? target : {}, patch, [], kind);
}

function mergeMap(original: Json, patch: Json, path: string[], kind: string): Json | undefined {
  const directive = patch.$patch;
  if (directive === "delete") return undefined;
  if (directive === "replace") {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest) as Json;
  }
  if (directive !== undefined && directive !== "merge")
    throw new PatchError(`unknown $patch directive "${String(directive)}"`);
  let out: Json = { ...original };
  const retainKeys = patch.$retainKeys;
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys" || key.startsWith("$setElementOrder/")) continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) out[field] = current.filter((v) => !value.includes(v));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    if (Array.isArray(value)) {
      const mergeKey = mergeKeyFor(path, key, kind);
      out[key] = mergeKey
        ? mergeList(Array.isArray(current) ? current : [], value, mergeKey, [...path, key], kind)
        : stripDirectives(value);
    } else if (isPlainObject(value)) {
      const merged = mergeMap(isPlainObject(current) ? current : {}, value, [...path, key], kind);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else {
      out[key] = value;
    }
  }
  if (Array.isArray(retainKeys)) {
    const keep = new Set(retainKeys.map(String));
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  return out;
}

function mergeList(original: unknown[], patch: unknown[], mergeKey: string, path: string[], kind: string): unknown[] {
  if (mergeKey === "set") {
    const out = [...original];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  if (patch.some((e) => isPlainObject(e) && e.$patch === "replace")) {
    return patch.filter((e) => !(isPlainObject(e) && e.$patch === "replace")).map(stripDirectives);
  }
  const out: unknown[] = [...original];
  for (const element of patch) {
    if (!isPlainObject(element))
      throw new PatchError(
        `the list ${path.join(".")} holds objects merged on "${mergeKey}"; got ${JSON.stringify(element)}`,
      );
    const key = element[mergeKey];
    if (key === undefined) throw new PatchError(`an element of ${path.join(".")} has no merge key "${mergeKey}"`);
    const index = out.findIndex((e) => isPlainObject(e) && e[mergeKey] === key);
    if (element.$patch === "delete") {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = mergeMap(out[index] as Json, element, path, kind);
      if (merged === undefined) out.splice(index, 1);
      else out[index] = merged;
    } else {
      out.push(stripDirectives(element));
    }
  }
  return out;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isPlainObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith("$")) continue;
    if (v === null) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}
