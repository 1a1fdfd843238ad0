/**
 * The object store behind the API server: what etcd plus the generic registry do in a real cluster.
 *
 * - One global resource version counter, as etcd's revision: every write gets the next integer, as a string.
 * - `generation` starts at 1 and bumps only when the spec changes (for custom resources: anything outside
 *   metadata and status), never for status or metadata writes.
 * - With a status subresource, writes to the main resource keep the old status and writes to `/status` keep
 *   everything but the status.
 * - A write that changes nothing stores nothing: no new resource version, no watch event.
 * - Deletion honours finalizers (sets `deletionTimestamp`, removes the object once the last finalizer goes) and
 *   owner references (dependents are deleted, or orphaned with `propagationPolicy: Orphan`), at once rather than
 *   through an asynchronous garbage collector.
 * - Every change is kept in a bounded history so watches can resume from a resource version, or get 410 Gone.
 */
import type { Clock } from "./clock.js";
import { crdToType, type KubeObject } from "./crds.js";
import { applyDefaults } from "./defaults.js";
import { apiErrors, KubeApiError, type StatusCause } from "./errors.js";
import {
  type ApplyConflict,
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  fieldSetOf,
  isPlainObject,
  type ManagedFieldsEntry,
  PatchError,
  recordUpdate,
  serverSideApply,
} from "./patch/index.js";
import { apiVersionOf, type ResourceType, type ResourceTypes, typeKey } from "./resources.js";
import {
  type FieldRequirement,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  type Selector,
  SelectorParseError,
} from "./selectors.js";
import { checkShapes } from "./shapes.js";
import {
  checkBuiltIn,
  checkBuiltInUpdate,
  checkCustomResource,
  checkMetadata,
  checkName,
  type FieldValidation,
} from "./validation.js";

export type PatchType = "json" | "merge" | "strategic";
export type Propagation = "Background" | "Foreground" | "Orphan";

/** The finalizer the garbage collector puts on an owner deleted with `propagationPolicy: Foreground`. */
const FOREGROUND_DELETION = "foregroundDeletion";

export interface StoreEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  resourceVersion: number;
  typeKey: string;
  object: KubeObject;
  /** The object before the change, for MODIFIED: lets filtered watches turn it into ADDED or DELETED. */
  previous: KubeObject | undefined;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  subresource?: "status";
  /** The API version the request was made in (for custom resources served in several versions). */
  version?: string;
  /** Set by server-side apply: the object's new `metadata.managedFields` (other writes keep the old ones). */
  managedFields?: ManagedFieldsEntry[];
  /**
   * `fieldManager` of a create, update or patch made through the API: its changes are recorded in
   * `metadata.managedFields` with operation Update, as the real server does (controllers writing through the store
   * directly record nothing).
   */
  manager?: string;
  /** The subresource a manager wrote through ("scale" for `kubectl scale`); "status" follows `subresource`. */
  managerSubresource?: "scale";
}

export interface ApplyOptions extends WriteOptions {
  /** `fieldManager`: who owns the applied fields. */
  manager: string;
  /** Take fields over from other managers instead of answering 409 Conflict. */
  force?: boolean;
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
}

export interface DeleteOptions {
  dryRun?: boolean;
  /** For pods: seconds the kubelet gets to stop the containers; 0 removes the pod at once. */
  gracePeriodSeconds?: number;
  propagationPolicy?: Propagation;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListOptions {
  labelSelector?: string | Selector;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** Fields that `?fieldSelector=` accepts per type, beyond metadata.name and metadata.namespace. */
const extraFieldLabels: Record<string, string[]> = {
  "/pods": [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  "/events": [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  "/secrets": ["type"],
  "/nodes": ["spec.unschedulable"],
  "/namespaces": ["status.phase"],
  "apps/replicasets": ["status.replicas"],
  "batch/jobs": ["status.successful"],
};

function fieldValue(obj: KubeObject, field: string): string {
  let v: unknown = obj;
  for (const part of field.split(".")) v = isPlainObject(v) ? v[part] : undefined;
  if (field === "metadata.namespace" && v === undefined) return "";
  return v === undefined || v === null ? "" : String(v);
}

function dropNulls(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) dropNulls(v);
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (v === null) delete value[k];
      else dropNulls(v);
    }
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function withoutMetaAndStatus(o: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

interface Selection {
  labels: Selector;
  fields: FieldRequirement[];
  namespace: string | undefined;
}

/** 409 as k8s.io/apiserver's fieldmanager words it (Apply managers print as their quoted name). */
function applyConflict(conflicts: ApplyConflict[]): KubeApiError {
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0] as ApplyConflict;
    message = `Apply failed with 1 conflict: conflict with ${c.printed}: ${c.path}`;
  } else {
    const managers = [...new Set(conflicts.map((c) => c.identifier))].sort();
    const lines = managers.flatMap((m) => {
      const mine = conflicts.filter((c) => c.identifier === m);
      return [`conflicts with ${mine[0]?.printed}:`, ...mine.map((c) => `- ${c.path}`)];
    });
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new KubeApiError(409, "Conflict", message, {
    causes: conflicts.map((c) => ({
      reason: "FieldManagerConflict",
      message: `conflict with ${c.printed}`,
      field: c.path,
    })),
  });
}

export class Store {
  readonly types: ResourceTypes;
  private readonly clock: Clock;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private rv = 0;
  private readonly history: StoreEvent[] = [];
  private readonly historySize: number;
  /** The oldest resource version a watch can still resume from. */
  private compactedAt = 0;
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private seed: number;

  constructor(types: ResourceTypes, options: { clock: Clock; seed?: number; historySize?: number }) {
    this.types = types;
    this.clock = options.clock;
    this.seed = options.seed ?? 0x5eed;
    this.historySize = options.historySize ?? 10_000;
  }

  // ----- reading -------------------------------------------------------------------------------------------------

  resourceVersion(): string {
    return String(this.rv);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.bucket(type).get(this.objectKey(type, namespace, name));
    if (!found) throw apiErrors.notFound(type, name);
    return structuredClone(found);
  }

  /** Like `get`, but `undefined` when missing, and the stored object itself: never modify it. */
  peek(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.bucket(type).get(this.objectKey(type, namespace, name));
  }

  /** Parses selectors once, throwing 400 BadRequest for bad ones, as the server does. */
  selection(
    type: ResourceType,
    namespace: string | undefined,
    options: Pick<ListOptions, "labelSelector" | "fieldSelector">,
  ): Selection {
    try {
      const labels =
        typeof options.labelSelector === "string"
          ? parseLabelSelector(options.labelSelector)
          : (options.labelSelector ?? []);
      const fields = parseFieldSelector(options.fieldSelector ?? "");
      const allowed = ["metadata.name", "metadata.namespace", ...(extraFieldLabels[typeKey(type)] ?? [])];
      for (const f of fields) {
        if (!allowed.includes(f.field)) throw apiErrors.badRequest(`field label not supported: ${f.field}`);
      }
      return { labels, fields, namespace };
    } catch (error) {
      if (error instanceof SelectorParseError) throw apiErrors.badRequest(error.message);
      throw error;
    }
  }

  matches(obj: KubeObject, s: Selection): boolean {
    if (s.namespace !== undefined && (obj.metadata.namespace ?? "") !== s.namespace) return false;
    if (!matchesLabels(s.labels, obj.metadata.labels)) return false;
    for (const f of s.fields) {
      const v = fieldValue(obj, f.field);
      if ((f.op === "=") !== (v === f.value)) return false;
    }
    return true;
  }

  /** Objects in key order (namespace/name), as etcd returns them. Returned objects are the stored ones: read only. */
  listRaw(type: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const selection = this.selection(type, namespace, options);
    const bucket = this.bucket(type);
    const keys = [...bucket.keys()].sort();
    let start = 0;
    if (options.continue) {
      let after: string;
      try {
        const decoded = JSON.parse(Buffer.from(options.continue, "base64url").toString("utf8")) as {
          start?: unknown;
          rv?: unknown;
        };
        if (typeof decoded.start !== "string") throw new Error("no start key");
        after = decoded.start;
      } catch {
        throw apiErrors.badRequest("continue key is not valid: the token was not made by this server");
      }
      start = keys.findIndex((k) => k > after);
      if (start < 0) start = keys.length;
    }
    const items: KubeObject[] = [];
    let last = "";
    let i = start;
    for (; i < keys.length; i++) {
      const key = keys[i] as string;
      const obj = bucket.get(key) as KubeObject;
      if (!this.matches(obj, selection)) continue;
      if (options.limit && options.limit > 0 && items.length >= options.limit) break;
      items.push(obj);
      last = key;
    }
    const result: ListResult = { items, resourceVersion: this.resourceVersion() };
    if (i < keys.length) {
      let remaining = 0;
      for (let j = i; j < keys.length; j++)
        if (this.matches(bucket.get(keys[j] as string) as KubeObject, selection)) remaining++;
      if (remaining > 0) {
        result.continue = Buffer.from(JSON.stringify({ rv: this.rv, start: last })).toString("base64url");
        result.remainingItemCount = remaining;
      }
    }
    return result;
  }

  list(type: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const result = this.listRaw(type, namespace, options);
    return { ...result, items: result.items.map((o) => structuredClone(o)) };
  }

  /** Changes after `resourceVersion`, or `undefined` when the history no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] | undefined {
    if (resourceVersion < this.compactedAt) return undefined;
    const first = this.history.findIndex((e) => e.resourceVersion > resourceVersion);
    return first < 0 ? [] : this.history.slice(first);
  }

  oldestResumableVersion(): number {
    return this.compactedAt;
  }

  /** Listens to every change, synchronously, in order. Returns the unsubscribe function. */
  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets history before the current version, so resuming watches get 410 Gone (a fault to inject). */
  compact(): void {
    this.history.length = 0;
    this.compactedAt = this.rv;
  }

  // ----- writing -------------------------------------------------------------------------------------------------

  create(type: ResourceType, namespace: string | undefined, input: unknown, options: WriteOptions = {}): WriteResult {
    const obj = this.decode(type, input, options.version);
    const meta = obj.metadata;
    const ns = this.namespaceFor(type, namespace, meta.namespace);
    if (!meta.name) {
      if (meta.generateName) meta.name = `${meta.generateName}${this.randomSuffix()}`;
      else
        throw apiErrors.invalid(type, "", [
          {
            reason: "FieldValueRequired",
            field: "metadata.name",
            message: "Required value: name or generateName is required",
          },
        ]);
    }
    const name = meta.name;
    if (ns !== undefined) this.requireNamespace(ns);
    if (this.bucket(type).has(this.objectKey(type, ns, name))) throw apiErrors.alreadyExists(type, name);
    for (const k of [
      "resourceVersion",
      "uid",
      "creationTimestamp",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
      "generation",
      "managedFields",
      "selfLink",
    ])
      delete meta[k];
    if (ns !== undefined) meta.namespace = ns;
    else delete meta.namespace;
    meta.uid = this.uid();
    meta.creationTimestamp = this.timestamp();
    if (type.generation) meta.generation = 1;
    if (options.managedFields) meta.managedFields = options.managedFields;
    let warnings: string[] = [];
    let result = obj;
    if (type.custom) {
      ({ object: result, warnings } = this.checkCustom(type, obj, options));
    } else {
      applyDefaults(type.group, type.resource, result);
      this.onCreateBuiltIn(type, result);
      this.checkBuiltIn(type, result);
    }
    if (options.manager && !options.managedFields)
      result.metadata.managedFields = recordUpdate({
        live: undefined,
        next: result as unknown as Record<string, unknown>,
        entries: [],
        manager: options.manager,
        apiVersion: apiVersionOf(type.group, options.version ?? type.versions[0] ?? "v1"),
        time: this.timestamp(),
        kind: type.kind,
        custom: type.custom,
      });
    if (options.dryRun) return { object: structuredClone(result), warnings };
    this.write(type, "ADDED", result, undefined);
    return { object: structuredClone(result), warnings };
  }

  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    input: unknown,
    options: WriteOptions = {},
  ): WriteResult {
    const ns = this.namespaceFor(type, namespace, undefined);
    const current = this.bucket(type).get(this.objectKey(type, ns, name));
    if (!current) throw apiErrors.notFound(type, name);
    const obj = this.decode(type, input, options.version);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw apiErrors.badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (obj.metadata.namespace !== undefined && ns !== undefined && obj.metadata.namespace !== ns) {
      throw apiErrors.badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== current.metadata.resourceVersion) {
      throw apiErrors.conflict(
        type,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    }
    return this.replace(type, current, obj, options);
  }

  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    body: unknown,
    options: WriteOptions = {},
  ): WriteResult {
    const ns = this.namespaceFor(type, namespace, undefined);
    const current = this.bucket(type).get(this.objectKey(type, ns, name));
    if (!current) throw apiErrors.notFound(type, name);
    if (patchType === "strategic" && type.custom) {
      throw new KubeApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
      );
    }
    let patched: unknown;
    try {
      const base = structuredClone(current);
      patched =
        patchType === "json"
          ? applyJsonPatch(base, body)
          : patchType === "merge"
            ? applyMergePatch(base, body)
            : applyStrategicMergePatch(base, body, type.kind);
    } catch (error) {
      if (error instanceof PatchError) throw apiErrors.badRequest(error.message);
      throw error;
    }
    if (!isPlainObject(patched))
      throw apiErrors.badRequest("the patch turned the object into something that is not an object");
    const meta = (isPlainObject(patched.metadata) ? patched.metadata : {}) as Record<string, unknown>;
    if (meta.name !== name)
      throw apiErrors.badRequest(
        `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
      );
    // A patch that sets metadata.resourceVersion is a precondition, as for updates.
    const rv = meta.resourceVersion;
    if (rv !== undefined && rv !== current.metadata.resourceVersion) {
      throw apiErrors.conflict(
        type,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    }
    return this.replace(type, current, this.decode(type, patched, options.version ?? undefined), options);
  }

  /**
   * Server-side apply: creates the object when it is missing, otherwise merges the applied configuration into it
   * for `options.manager` (see patch/apply.ts). `created` tells the server to answer 201.
   */
  apply(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: ApplyOptions,
  ): WriteResult & { created: boolean } {
    const { manager, force, ...write } = options;
    if (!isPlainObject(body) || typeof body.apiVersion !== "string" || typeof body.kind !== "string")
      throw apiErrors.badRequest(
        `the applied configuration must be an object with apiVersion and kind (${type.kind} ${apiVersionOf(type.group, options.version ?? type.versions[0] ?? "v1")})`,
      );
    this.decode(type, body, options.version); // refuses a wrong kind or apiVersion before anything else
    const bodyName = isPlainObject(body.metadata) ? body.metadata.name : undefined;
    if (bodyName !== undefined && bodyName !== name)
      throw apiErrors.badRequest(
        `the name of the object (${String(bodyName)}) does not match the name on the URL (${name})`,
      );
    const ns = this.namespaceFor(type, namespace, undefined);
    const current = this.bucket(type).get(this.objectKey(type, ns, name));
    const time = this.timestamp();
    const apiVersion = apiVersionOf(type.group, options.version ?? type.versions[0] ?? "v1");
    if (!current) {
      const obj = structuredClone(body);
      obj.metadata = { ...(isPlainObject(obj.metadata) ? obj.metadata : {}), name };
      if (type.status) delete obj.status;
      const entry: ManagedFieldsEntry = {
        manager,
        operation: "Apply",
        apiVersion,
        time,
        fieldsType: "FieldsV1",
        fieldsV1: typedPatch(type, apiVersion, () => fieldSetOf(obj, type.kind, type.custom)),
      };
      return { ...this.create(type, ns, obj, { ...write, managedFields: [entry] }), created: true };
    }
    const outcome = typedPatch(type, apiVersion, () =>
      serverSideApply({
        live: structuredClone(current) as Record<string, unknown>,
        applied: body,
        manager,
        force: force ?? false,
        kind: type.kind,
        custom: type.custom,
        apiVersion,
        time,
      }),
    );
    if (!outcome.ok) throw applyConflict(outcome.conflicts);
    const rv = (outcome.object.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata.resourceVersion)
      throw apiErrors.conflict(
        type,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    const next = this.decode(type, outcome.object, options.version);
    return { ...this.replace(type, current, next, { ...write, managedFields: outcome.managedFields }), created: false };
  }

  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): { object: KubeObject; deleted: boolean } {
    const ns = this.namespaceFor(type, namespace, undefined);
    const current = this.bucket(type).get(this.objectKey(type, ns, name));
    if (!current) throw apiErrors.notFound(type, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw apiErrors.conflict(
        type,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw apiErrors.conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    if (options.dryRun) return { object: structuredClone(current), deleted: false };
    const propagation = options.propagationPolicy ?? "Background";
    if (propagation === "Orphan") this.orphanDependents(current);
    if (propagation === "Foreground" && !current.metadata.deletionTimestamp) {
      const foreground = this.foregroundDelete(type, current);
      if (foreground) return foreground;
    }
    const graceful = this.gracefulPodDeletion(type, current, options.gracePeriodSeconds);
    if (graceful) return { object: structuredClone(graceful), deleted: false };
    if ((current.metadata.finalizers?.length ?? 0) > 0) {
      if (current.metadata.deletionTimestamp) return { object: structuredClone(current), deleted: false };
      const next = structuredClone(current);
      next.metadata.deletionTimestamp = this.timestamp();
      next.metadata.deletionGracePeriodSeconds = 0;
      this.write(type, "MODIFIED", next, current);
      return { object: structuredClone(next), deleted: false };
    }
    this.remove(type, current);
    return { object: structuredClone(current), deleted: true };
  }

  /**
   * Graceful deletion of a running pod (pkg/registry/core/pod strategy CheckGracefulDelete): the pod stays,
   * Terminating, with `deletionTimestamp` = now + grace period, until the kubelet has stopped it. Pods that are
   * not on a node, or have finished, go at once. Returns the terminating pod, or undefined to delete now.
   */
  private gracefulPodDeletion(
    type: ResourceType,
    pod: KubeObject,
    requested: number | undefined,
  ): KubeObject | undefined {
    if (typeKey(type) !== "/pods") return undefined;
    const spec = (pod.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    const grace = requested ?? spec.terminationGracePeriodSeconds ?? 30;
    if (grace <= 0 || !spec.nodeName || phase === "Succeeded" || phase === "Failed") return undefined;
    const existing = pod.metadata.deletionGracePeriodSeconds;
    if (pod.metadata.deletionTimestamp && existing !== undefined && existing <= grace) return pod;
    const next = structuredClone(pod);
    next.metadata.deletionTimestamp = `${new Date(this.clock.now() + grace * 1000).toISOString().slice(0, 19)}Z`;
    next.metadata.deletionGracePeriodSeconds = grace;
    this.write(type, "MODIFIED", next, pod);
    return next;
  }

  deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions & DeleteOptions = {},
  ): KubeObject[] {
    const { items } = this.listRaw(type, namespace, {
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
    });
    const out: KubeObject[] = [];
    for (const item of [...items]) {
      out.push(this.delete(type, item.metadata.namespace, item.metadata.name as string, options).object);
    }
    return out;
  }

  /**
   * Adds a CRD loaded at start-up and its already-built type without copying the (large) spec: the parsed CRD is
   * shared between simulators, and nothing in the store ever modifies a stored object in place.
   */
  seedCrd(crdType: ResourceType, crd: KubeObject, type: ResourceType): void {
    const name = crd.metadata.name as string;
    if (this.bucket(crdType).has(name)) throw apiErrors.alreadyExists(crdType, name);
    const now = this.timestamp();
    const spec = crd.spec as Record<string, unknown>;
    const obj: KubeObject = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { ...structuredClone(crd.metadata), uid: this.uid(), creationTimestamp: now, generation: 1 },
      spec: crd.spec,
      status: {
        acceptedNames: spec.names,
        storedVersions: type.versions.slice(0, 1),
        conditions: [
          {
            type: "NamesAccepted",
            status: "True",
            reason: "NoConflicts",
            message: "no conflicts found",
            lastTransitionTime: now,
          },
          {
            type: "Established",
            status: "True",
            reason: "InitialNamesAccepted",
            message: "the initial names have been accepted",
            lastTransitionTime: now,
          },
        ],
      },
    };
    delete obj.metadata.resourceVersion;
    this.types.add(type);
    this.write(crdType, "ADDED", obj, undefined);
  }

  // ----- internals -----------------------------------------------------------------------------------------------

  private replace(type: ResourceType, current: KubeObject, input: KubeObject, options: WriteOptions): WriteResult {
    // managedFields a client sends on the main resource replace the live ones (how kubectl moves client-side
    // apply's fields to a server-side apply manager); an empty or missing list keeps the live ones.
    const sentManaged =
      options.manager !== undefined &&
      options.subresource === undefined &&
      options.managerSubresource === undefined &&
      Array.isArray(input.metadata.managedFields) &&
      input.metadata.managedFields.length > 0 &&
      (input.metadata.managedFields as unknown[]).every((e) => isPlainObject(e) && isPlainObject(e.fieldsV1))
        ? (structuredClone(input.metadata.managedFields) as ManagedFieldsEntry[])
        : undefined;
    let next: KubeObject;
    if (options.subresource === "status") {
      next = structuredClone(current);
      if (input.status === undefined) delete next.status;
      else next.status = structuredClone(input.status);
    } else {
      next = input;
      if (type.status) {
        if (current.status === undefined) delete next.status;
        else next.status = structuredClone(current.status);
      }
    }
    const meta = next.metadata;
    const old = current.metadata;
    // Fields only the server sets.
    meta.name = old.name;
    if (old.namespace !== undefined) meta.namespace = old.namespace;
    meta.uid = old.uid;
    meta.creationTimestamp = old.creationTimestamp;
    if (old.deletionTimestamp !== undefined) {
      meta.deletionTimestamp = old.deletionTimestamp;
      meta.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    meta.resourceVersion = old.resourceVersion;
    if (options.managedFields) meta.managedFields = options.managedFields;
    else if (old.managedFields !== undefined) meta.managedFields = old.managedFields;
    else delete meta.managedFields;
    delete meta.selfLink;
    if (type.generation) meta.generation = old.generation ?? 1;
    else delete meta.generation;
    let warnings: string[] = [];
    if (options.subresource !== "status") {
      if (type.custom) ({ object: next, warnings } = this.checkCustom(type, next, options));
      else {
        applyDefaults(type.group, type.resource, next);
        this.onUpdateBuiltIn(type, current, next);
        this.checkBuiltIn(type, next, current);
      }
    }
    if (options.manager && !options.managedFields) {
      const managedFields = recordUpdate({
        live: current as unknown as Record<string, unknown>,
        next: next as unknown as Record<string, unknown>,
        entries: sentManaged ?? (old.managedFields as ManagedFieldsEntry[] | undefined) ?? [],
        manager: options.manager,
        apiVersion: apiVersionOf(type.group, options.version ?? type.versions[0] ?? "v1"),
        time: this.timestamp(),
        kind: type.kind,
        custom: type.custom,
        subresource: options.subresource ?? options.managerSubresource,
      });
      if (managedFields.length > 0) next.metadata.managedFields = managedFields;
      else delete next.metadata.managedFields;
    }
    if (type.generation) {
      const specChanged = type.custom
        ? !same(withoutMetaAndStatus(current), withoutMetaAndStatus(next))
        : !same(current.spec, next.spec);
      if (specChanged) next.metadata.generation = (old.generation ?? 1) + 1;
    }
    if (same(current, next)) return { object: structuredClone(current), warnings };
    if (options.dryRun) return { object: structuredClone(next), warnings };
    // The last finalizer removed from an object being deleted: it goes (a terminating pod waits for its kubelet).
    if (
      next.metadata.deletionTimestamp &&
      (next.metadata.finalizers?.length ?? 0) === 0 &&
      (next.metadata.deletionGracePeriodSeconds ?? 0) === 0
    ) {
      this.remove(type, next);
      return { object: structuredClone(next), warnings };
    }
    this.write(type, "MODIFIED", next, current);
    return { object: structuredClone(next), warnings };
  }

  private decode(type: ResourceType, input: unknown, version: string | undefined): KubeObject {
    if (!isPlainObject(input)) throw apiErrors.badRequest(`the body of the request is not a ${type.kind} object`);
    const obj = structuredClone(input) as KubeObject;
    const wantVersion = version ?? type.versions[0] ?? "v1";
    const expected = apiVersionOf(type.group, wantVersion);
    if (obj.kind !== undefined && obj.kind !== type.kind) {
      throw apiErrors.badRequest(
        `the kind of the object (${String(obj.kind)}) does not match the kind of the resource (${type.kind})`,
      );
    }
    if (
      obj.apiVersion !== undefined &&
      obj.apiVersion !== expected &&
      !(type.custom && type.versions.some((v) => apiVersionOf(type.group, v) === obj.apiVersion))
    ) {
      throw apiErrors.badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expected})`,
      );
    }
    // Stored in the preferred version; custom resources have no conversion webhooks here, so only apiVersion changes.
    obj.apiVersion = apiVersionOf(type.group, type.versions[0] ?? wantVersion);
    // Built-in kinds are decoded into typed structs, where `null` is the zero value and disappears (kubectl
    // rollout undo sends `creationTimestamp: null` inside templates, for one).
    if (!type.custom) {
      dropNulls(obj);
      // What typed decoding refuses before anything else looks at the object.
      let problem: string | undefined;
      for (const field of ["spec", "status"]) {
        const v = obj[field];
        if (v !== undefined && !isPlainObject(v)) {
          problem = `json: cannot unmarshal ${Array.isArray(v) ? "array" : typeof v} into Go struct field ${type.kind}.${field} of type struct`;
        }
      }
      problem ??= checkShapes(type.group, type.resource, type.kind, obj);
      if (problem)
        throw apiErrors.badRequest(
          `${type.kind} in version "${wantVersion}" cannot be handled as a ${type.kind}: ${problem}`,
        );
    }
    obj.kind = type.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isPlainObject(obj.metadata)) throw apiErrors.badRequest("metadata must be an object");
    return obj;
  }

  private checkCustom(type: ResourceType, obj: KubeObject, options: WriteOptions): WriteResult {
    const version = options.version ?? type.versions[0] ?? "";
    const check = checkCustomResource(type, version, obj, options.fieldValidation ?? "Warn");
    if (check.strictError) throw apiErrors.badRequest(check.strictError);
    const causes = [...this.commonCauses(type, check.object), ...check.causes];
    if (causes.length > 0) throw apiErrors.invalid(type, obj.metadata.name ?? "", causes);
    return { object: check.object, warnings: check.warnings };
  }

  private checkBuiltIn(type: ResourceType, obj: KubeObject, old?: KubeObject): void {
    const causes = [...this.commonCauses(type, obj), ...checkBuiltIn(type, obj)];
    if (old) causes.push(...checkBuiltInUpdate(type, old, obj));
    if (causes.length > 0) throw apiErrors.invalid(type, obj.metadata.name ?? "", causes);
  }

  private commonCauses(type: ResourceType, obj: KubeObject): StatusCause[] {
    const causes: StatusCause[] = [];
    const nameCause = checkName(type, obj.metadata.name ?? "");
    if (nameCause) causes.push(nameCause);
    causes.push(...checkMetadata(obj));
    return causes;
  }

  private onCreateBuiltIn(type: ResourceType, obj: KubeObject): void {
    const key = typeKey(type);
    if (key === "/services") {
      const spec = obj.spec as Record<string, unknown> | undefined;
      if (spec && spec.clusterIP !== "None" && spec.type !== "ExternalName") {
        spec.clusterIP ??= this.clusterIP();
        spec.clusterIPs ??= [spec.clusterIP];
      }
    } else if (key === "/pods") {
      obj.status ??= { phase: "Pending", qosClass: "BestEffort" };
    } else if (key === "apiextensions.k8s.io/customresourcedefinitions") {
      this.registerCrd(obj);
    } else if (key === "batch/jobs") {
      this.generateJobSelector(obj);
    }
  }

  /** As the job registry's PrepareForCreate: unless manualSelector, select the Job's own pods by its UID. */
  private generateJobSelector(job: KubeObject): void {
    const spec = job.spec as
      | { manualSelector?: boolean; selector?: unknown; template?: { metadata?: { labels?: Record<string, string> } } }
      | undefined;
    if (!spec || spec.manualSelector === true) return;
    const uid = job.metadata.uid as string;
    const name = job.metadata.name as string;
    spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
    spec.template ??= {};
    spec.template.metadata ??= {};
    spec.template.metadata.labels = {
      ...(spec.template.metadata.labels ?? {}),
      "batch.kubernetes.io/controller-uid": uid,
      "batch.kubernetes.io/job-name": name,
      "controller-uid": uid,
      "job-name": name,
    };
  }

  private onUpdateBuiltIn(type: ResourceType, current: KubeObject, next: KubeObject): void {
    if (typeKey(type) === "/services") {
      const was = current.spec as Record<string, unknown> | undefined;
      const spec = next.spec as Record<string, unknown> | undefined;
      if (spec && was?.clusterIP !== undefined && spec.clusterIP === undefined) {
        spec.clusterIP = was.clusterIP;
        spec.clusterIPs = was.clusterIPs;
      }
    }
  }

  private registerCrd(crd: KubeObject): void {
    let t: ResourceType;
    try {
      t = crdToType(crd);
    } catch (error) {
      throw apiErrors.invalid(
        { group: "apiextensions.k8s.io", resource: "customresourcedefinitions", kind: "CustomResourceDefinition" },
        crd.metadata.name ?? "",
        [
          {
            field: "spec",
            message: `Invalid value: the CRD's names, group or versions are malformed (${(error as Error).message})`,
          },
        ],
      );
    }
    const expectedName = `${t.resource}.${t.group}`;
    if (crd.metadata.name !== expectedName) {
      throw apiErrors.invalid(
        { group: "apiextensions.k8s.io", resource: "customresourcedefinitions", kind: "CustomResourceDefinition" },
        crd.metadata.name ?? "",
        [
          {
            field: "metadata.name",
            message: `Invalid value: "${crd.metadata.name}": must be spec.names.plural+"."+spec.group`,
          },
        ],
      );
    }
    this.types.add(t);
    crd.status = {
      acceptedNames: (crd.spec as Record<string, unknown>).names,
      storedVersions: t.versions.slice(0, 1),
      conditions: [
        {
          type: "NamesAccepted",
          status: "True",
          reason: "NoConflicts",
          message: "no conflicts found",
          lastTransitionTime: this.timestamp(),
        },
        {
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
          lastTransitionTime: this.timestamp(),
        },
      ],
    };
  }

  private requireNamespace(ns: string): void {
    const nsType = this.types.get("", "namespaces");
    if (!nsType) return;
    const found = this.bucket(nsType).get(ns);
    if (!found) throw apiErrors.notFound(nsType, ns);
    if (found.metadata.deletionTimestamp) {
      throw apiErrors.forbidden(
        nsType,
        ns,
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  private namespaceFor(
    type: ResourceType,
    fromPath: string | undefined,
    fromBody: string | undefined,
  ): string | undefined {
    if (!type.namespaced) return undefined;
    if (fromPath !== undefined && fromBody !== undefined && fromPath !== fromBody) {
      throw apiErrors.badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const ns = fromPath ?? fromBody;
    if (!ns) throw apiErrors.badRequest(`a namespace is required for ${type.resource}`);
    return ns;
  }

  private write(
    type: ResourceType,
    kind: "ADDED" | "MODIFIED",
    obj: KubeObject,
    previous: KubeObject | undefined,
  ): void {
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    this.bucket(type).set(this.objectKey(type, obj.metadata.namespace, obj.metadata.name as string), obj);
    this.emit({ type: kind, resourceVersion: this.rv, typeKey: typeKey(type), object: obj, previous });
  }

  private remove(type: ResourceType, obj: KubeObject): void {
    const key = this.objectKey(type, obj.metadata.namespace, obj.metadata.name as string);
    if (!this.bucket(type).delete(key)) return;
    this.rv++;
    const gone = structuredClone(obj);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit({ type: "DELETED", resourceVersion: this.rv, typeKey: typeKey(type), object: gone, previous: obj });
    if (typeKey(type) === "/namespaces") this.emptyNamespace(obj.metadata.name as string);
    if (typeKey(type) === "apiextensions.k8s.io/customresourcedefinitions") {
      const spec = obj.spec as { group: string; names: { plural: string } };
      const crType = this.types.get(spec.group, spec.names.plural);
      if (crType) {
        for (const o of [...this.bucket(crType).values()]) this.remove(crType, o);
        this.types.remove(spec.group, spec.names.plural);
      }
    }
    this.deleteDependents(obj);
    // An owner waiting in foreground deletion for this dependent may now go.
    for (const ref of obj.metadata.ownerReferences ?? []) this.releaseForeground(ref.uid);
  }

  private emptyNamespace(ns: string): void {
    for (const t of this.types.all()) {
      if (!t.namespaced) continue;
      for (const o of [...this.bucket(t).values()]) if (o.metadata.namespace === ns) this.remove(t, o);
    }
  }

  /** Background garbage collection, done at once: dependents whose every owner is gone are deleted. */
  private deleteDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    for (const t of this.types.all()) {
      for (const o of [...this.bucket(t).values()]) {
        const refs = o.metadata.ownerReferences;
        if (!refs?.some((r) => r.uid === uid)) continue;
        const otherOwnerAlive = refs.some((r) => r.uid !== uid && this.findByUid(r.uid));
        if (otherOwnerAlive) continue;
        if (this.bucket(t).has(this.objectKey(t, o.metadata.namespace, o.metadata.name as string))) {
          this.delete(t, o.metadata.namespace, o.metadata.name as string);
        }
      }
    }
  }

  private dependentsOf(uid: string | undefined): [ResourceType, KubeObject][] {
    const out: [ResourceType, KubeObject][] = [];
    if (!uid) return out;
    for (const t of this.types.all())
      for (const o of this.bucket(t).values())
        if (o.metadata.ownerReferences?.some((r) => r.uid === uid)) out.push([t, o]);
    return out;
  }

  /**
   * Foreground cascading deletion, as the garbage collector does it: the owner stays, with `deletionTimestamp`
   * and the `foregroundDeletion` finalizer, while its dependents are deleted (foreground too); once the last one
   * is gone the finalizer is removed and the owner goes. Undefined when there are no dependents (deleted at once).
   */
  private foregroundDelete(
    type: ResourceType,
    current: KubeObject,
  ): { object: KubeObject; deleted: boolean } | undefined {
    const dependents = this.dependentsOf(current.metadata.uid);
    if (dependents.length === 0) return undefined;
    const next = structuredClone(current);
    next.metadata.deletionTimestamp = this.timestamp();
    next.metadata.deletionGracePeriodSeconds = 0;
    next.metadata.finalizers = [...(next.metadata.finalizers ?? []), FOREGROUND_DELETION];
    this.write(type, "MODIFIED", next, current);
    for (const [t, d] of dependents) {
      if (!this.bucket(t).has(this.objectKey(t, d.metadata.namespace, d.metadata.name as string))) continue;
      this.delete(t, d.metadata.namespace, d.metadata.name as string, { propagationPolicy: "Foreground" });
    }
    this.releaseForeground(current.metadata.uid);
    const now = this.bucket(type).get(
      this.objectKey(type, current.metadata.namespace, current.metadata.name as string),
    );
    return now ? { object: structuredClone(now), deleted: false } : { object: structuredClone(next), deleted: true };
  }

  /** Removes `foregroundDeletion` from an owner being deleted once no dependent is left (it then goes). */
  private releaseForeground(uid: string | undefined): void {
    if (!uid) return;
    for (const t of this.types.all()) {
      for (const owner of this.bucket(t).values()) {
        if (owner.metadata.uid !== uid) continue;
        if (!owner.metadata.deletionTimestamp || !owner.metadata.finalizers?.includes(FOREGROUND_DELETION)) return;
        if (this.dependentsOf(uid).length > 0) return;
        const next = structuredClone(owner);
        next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== FOREGROUND_DELETION);
        if (next.metadata.finalizers.length === 0) {
          delete next.metadata.finalizers;
          this.remove(t, next);
        } else this.write(t, "MODIFIED", next, owner);
        return;
      }
    }
  }

  private orphanDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    for (const t of this.types.all()) {
      for (const o of [...this.bucket(t).values()]) {
        if (!o.metadata.ownerReferences?.some((r) => r.uid === uid)) continue;
        const next = structuredClone(o);
        next.metadata.ownerReferences = (next.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.write(t, "MODIFIED", next, o);
      }
    }
  }

  private findByUid(uid: string): KubeObject | undefined {
    for (const bucket of this.objects.values()) for (const o of bucket.values()) if (o.metadata.uid === uid) return o;
    return undefined;
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.compactedAt = dropped[dropped.length - 1]?.resourceVersion ?? this.compactedAt;
    }
    for (const l of [...this.listeners]) l(event);
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    const key = typeKey(type);
    let b = this.objects.get(key);
    if (!b) {
      b = new Map();
      this.objects.set(key, b);
    }
    return b;
  }

  private objectKey(type: ResourceType, namespace: string | undefined, name: string): string {
    return type.namespaced ? `${namespace ?? ""}/${name}` : name;
  }

  private random(): number {
    // mulberry32: deterministic names and UIDs for a given seed, so test output is reproducible.
    this.seed = (this.seed + 0x6d2b79f5) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Five characters from the alphabet apimachinery's `rand.String` uses for generated names. */
  randomSuffix(): string {
    let s = "";
    for (let i = 0; i < 5; i++) s += ALPHANUMS[Math.floor(this.random() * ALPHANUMS.length)];
    return s;
  }

  private uid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.random() * 16).toString(16)).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((Number.parseInt(hex[16] as string, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  private ipCounter = 0;
  private clusterIP(): string {
    this.ipCounter++;
    return `10.96.${Math.floor(this.ipCounter / 250)}.${(this.ipCounter % 250) + 2}`;
  }

  /** RFC 3339 with second precision, as metav1.Time marshals. */
  timestamp(): string {
    return `${new Date(this.clock.now()).toISOString().slice(0, 19)}Z`;
  }
}

/**
 * The apiserver's field manager turns an applied configuration into a typed object before merging; one it cannot
 * type (a list element without its merge key) is a 400 BadRequest with this wording, never a 500.
 */
function typedPatch<T>(type: ResourceType, apiVersion: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof PatchError)
      throw apiErrors.badRequest(
        `failed to create typed patch object (${apiVersion}, Kind=${type.kind}): ${error.message}`,
      );
    throw error;
  }
}
