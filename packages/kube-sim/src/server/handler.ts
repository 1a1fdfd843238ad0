/**
 * The HTTP face of the store: turns Kubernetes REST requests into store calls and store answers (or errors) into
 * the JSON a real kube-apiserver sends, including list envelopes, watch streams and Status objects.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import jsYaml from "js-yaml";
import type { KubeObject } from "../crds.js";
import { apiErrors, KubeApiError } from "../errors.js";
import { type Faults, type RequestInfo, SIM_USER } from "../faults.js";
import { applyJsonPatch, applyMergePatch, isPlainObject, PATCH_CONTENT_TYPES } from "../patch/index.js";
import { apiVersionOf, type ResourceType } from "../resources.js";
import { formatSelector, fromLabelSelectorObject, type LabelSelectorObject } from "../selectors.js";
import type { PatchType, Propagation, Store } from "../store.js";
import type { FieldValidation } from "../validation.js";
import { openWatch, type WatchEvent } from "../watch.js";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from "./discovery.js";
import { toCoreEvent, toEventsV1 } from "./events-v1.js";
import {
  OPENAPI_V2_PROTOBUF,
  openApiV2Json,
  openApiV2Protobuf,
  openApiV3GroupVersion,
  openApiV3Index,
  parseOpenApiPath,
} from "./openapi.js";
import { decodeProtobuf, PROTOBUF_CONTENT_TYPE } from "./protobuf.js";
import { BadPathError, parsePath, type ResourceRequest } from "./routes.js";
import { toTable, wantsTable } from "./table.js";

const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** How much of an unread or refused body is read and dropped so the connection stays usable; past it, closed. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * A boolean query parameter as apimachinery's `Convert_Slice_string_To_bool` reads it: absent is false, and so are
 * "0" and "false" (any case); every other value, the empty string included, is true (`?watch=True`, `?watch=`).
 */
export function queryBool(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null) return false;
  return !(v === "0" || v.toLowerCase() === "false");
}

const notFoundPath = () => new KubeApiError(404, "NotFound", "the server could not find the requested resource", {});

export interface HandlerDeps {
  store: Store;
  faults: Faults;
  serverAddress: () => string;
  now: () => number;
}

export interface ApiHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every open watch stream (on close, or as a fault); `expired`: after an `ERROR` event with 410 Expired. */
  closeWatches(ending?: "expired"): void;
}

function sendJson(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(text)),
    "Cache-Control": "no-cache, private",
  };
  if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

function sendError(res: ServerResponse, error: KubeApiError): void {
  if (error.code === 429 && error.details?.retryAfterSeconds)
    res.setHeader("Retry-After", String(error.details.retryAfterSeconds));
  sendJson(res, error.code, error.toStatus());
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Not `for await`: leaving it early destroys the socket. Past the limit the body stops being kept, and the rest
  // is dropped by drain() before the 413 goes out, so the client reads it on a usable connection.
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        req.pause();
        resolve();
      } else chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve());
    req.once("error", reject);
    req.once("close", () => (req.complete ? resolve() : reject(new Error("the client closed the request"))));
  });
  if (size > MAX_BODY_BYTES)
    // apiserver: errors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", limit))
    throw new KubeApiError(413, "RequestEntityTooLarge", `Request entity too large: limit is ${MAX_BODY_BYTES}`);
  const raw = Buffer.concat(chunks);
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
  if (type === PROTOBUF_CONTENT_TYPE && raw.length > 0) return decodeProtobuf(raw);
  const text = raw.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    if (type.includes("yaml")) return jsYaml.load(text);
    return JSON.parse(text);
  } catch (error) {
    throw apiErrors.badRequest(
      `the request body is not valid ${type.includes("yaml") ? "YAML" : "JSON"}: ${(error as Error).message}`,
    );
  }
}

/** Objects go out in the version the client asked for; custom resources have no conversion beyond apiVersion. */
function inVersion(obj: KubeObject, type: ResourceType, version: string): KubeObject {
  const want = apiVersionOf(type.group, version);
  return obj.apiVersion === want ? obj : { ...obj, apiVersion: want };
}

function verbOf(method: string, r: ResourceRequest, query: URLSearchParams): string {
  switch (method) {
    case "GET":
    case "HEAD":
      if (r.legacyWatch || queryBool(query, "watch")) return "watch";
      return r.name === undefined ? "list" : "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return r.name === undefined ? "deletecollection" : "delete";
    default:
      return method.toLowerCase();
  }
}

/**
 * Who a create, update or patch is recorded for in managedFields: `?fieldManager=`, else (as the apiserver's
 * prefixFromUserAgent) the User-Agent up to its first "/", printable characters only, at most 128.
 */
function writeManagerOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const given = query.get("fieldManager");
  if (given) return given;
  const agent = (req.headers["user-agent"] ?? "").split("/")[0] ?? "";
  const printable = [...agent]
    .filter((c) => c >= " " && c !== "\u007f")
    .join("")
    .slice(0, 128);
  return printable === "" ? undefined : printable;
}

function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const v = query.get("fieldValidation");
  if (v === null || v === "") return "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw apiErrors.badRequest(`fieldValidation must be one of Strict, Warn, Ignore; got "${v}"`);
}

function dryRunOf(query: URLSearchParams): boolean {
  const v = query.getAll("dryRun");
  if (v.length === 0) return false;
  if (v.every((x) => x === "All")) return true;
  throw apiErrors.badRequest(`dryRun: Unsupported value: ${JSON.stringify(v)}: supported values: "All"`);
}

function isApply(contentType: string): boolean {
  return (contentType.split(";")[0]?.trim() ?? "") === PATCH_CONTENT_TYPES.apply;
}

function patchTypeOf(contentType: string): PatchType {
  const t = contentType.split(";")[0]?.trim() ?? "";
  if (t === PATCH_CONTENT_TYPES.json) return "json";
  if (t === PATCH_CONTENT_TYPES.merge) return "merge";
  if (t === PATCH_CONTENT_TYPES.strategic) return "strategic";
  if (t === PATCH_CONTENT_TYPES.apply)
    throw apiErrors.badRequest("server-side apply is not supported on the scale subresource by kube-sim");
  throw apiErrors.unsupportedMediaType(t);
}

/**
 * `pods/log`: no container runs, so the log is what the simulated kubelet did, one line per container, in the
 * stamped with the container's start time for `--timestamps`. It lets scripts that call `kubectl logs` run.
 */
function sendLog(res: ServerResponse, pod: KubeObject, query: URLSearchParams): void {
  const containers = (pod.spec as { containers?: { name: string; image: string }[] })?.containers ?? [];
  const want = query.get("container") ?? containers[0]?.name;
  const c = containers.find((x) => x.name === want);
  if (!c) throw apiErrors.badRequest(`container ${want} is not valid for pod ${pod.metadata.name}`);
  const statuses =
    (
      pod.status as {
        containerStatuses?: { name: string; state?: Record<string, { startedAt?: string; reason?: string }> }[];
      }
    )?.containerStatuses ?? [];
  const state = statuses.find((s) => s.name === c.name)?.state ?? {};
  const started = state.running?.startedAt ?? state.terminated?.startedAt;
  if (!started) {
    const reason = state.waiting?.reason ?? "ContainerCreating";
    throw apiErrors.badRequest(`container "${c.name}" in pod "${pod.metadata.name}" is waiting to start: ${reason}`);
  }
  const line = `kube-sim: container ${c.name} started from image ${c.image} (simulated: no process runs)\n`;
  const text = queryBool(query, "timestamps") ? `${started} ${line}` : line;
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": String(Buffer.byteLength(text)) });
  res.end(text);
}

function scaleOf(obj: KubeObject) {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const status = (obj.status ?? {}) as Record<string, unknown>;
  let selector: string | undefined;
  if (typeof status.selector === "string") selector = status.selector;
  else if (isPlainObject(spec.selector))
    selector = formatSelector(fromLabelSelectorObject(spec.selector as LabelSelectorObject));
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: {
      replicas: status.replicas ?? 0,
      ...(selector ? { selector } : {}),
    },
  };
}

export function createApiHandler(deps: HandlerDeps): ApiHandler {
  const { store, faults } = deps;
  /** Each open watch stream, with what stops it (no event is written to a stream once it is ended). */
  const watches = new Map<ServerResponse, () => void>();

  async function handleResource(
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceRequest,
    query: URLSearchParams,
  ): Promise<void> {
    const method = req.method ?? "GET";
    const verb = verbOf(method, r, query);
    const info: RequestInfo = { verb, resource: r.resource, group: r.group };
    if (r.namespace !== undefined) info.namespace = r.namespace;
    if (r.name !== undefined) info.name = r.name;
    if (r.subresource !== undefined) info.subresource = r.subresource;
    const fault = faults.forRequest(info);
    if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault.error) throw fault.error;
    // Authorization comes before the resource is looked up, as in the real server.
    if (faults.isDenied(info)) throw forbidden(info);

    const served = store.types.lookup(r.group, r.version, r.resource);
    if (!served) throw notFoundPath();
    // An API over another type's storage (events.k8s.io/v1 Events): store calls use the stored type, bodies are
    // converted on the way in and objects on the way out.
    const alias = served.storedAs;
    const type = alias ? store.types.get(alias.group, alias.resource) : served;
    if (!type) throw notFoundPath();
    const toWire = alias ? toEventsV1 : (o: KubeObject) => o;
    const readBodyIn = alias ? async (rq: IncomingMessage) => toCoreEvent(await readBody(rq)) : readBody;
    if (type.verbs) {
      // Only the routes for served verbs exist: other verbs on the collection are 405, paths with a name 404.
      if (r.name !== undefined || r.subresource !== undefined) throw notFoundPath();
      if (!type.verbs.includes(verb))
        throw apiErrors.methodNotAllowed("the server does not allow this method on the requested resource");
      if (type.group === "authorization.k8s.io" && type.kind === "SelfSubjectAccessReview")
        return sendJson(res, 201, selfSubjectAccessReview(await readBody(req), faults, r.version));
    }
    if (r.namespace !== undefined && !type.namespaced) throw notFoundPath();
    const ns = type.namespaced ? r.namespace : undefined;
    if (
      r.subresource !== undefined &&
      !(
        (r.subresource === "status" && type.status) ||
        (r.subresource === "scale" && type.scale) ||
        (r.subresource === "log" && type.group === "" && type.resource === "pods" && verb === "get")
      )
    )
      throw notFoundPath();
    const version = alias ? (type.versions[0] as string) : r.version;
    const out = alias ? toWire : (o: KubeObject) => inVersion(o, type, version);

    switch (verb) {
      case "get": {
        const obj = store.peek(type, ns, r.name as string);
        if (!obj) throw apiErrors.notFound(type, r.name as string);
        if (r.subresource === "scale") return sendJson(res, 200, scaleOf(obj));
        if (r.subresource === "log") return sendLog(res, obj, query);
        if (wantsTable(req.headers.accept))
          return sendJson(res, 200, toTable(type, version, [obj], store.resourceVersion(), undefined, deps.now()));
        return sendJson(res, 200, out(obj));
      }
      case "list": {
        const limit = query.get("limit");
        const result = store.listRaw(type, ns, {
          labelSelector: query.get("labelSelector") ?? undefined,
          fieldSelector: query.get("fieldSelector") ?? undefined,
          limit: limit ? Number(limit) : undefined,
          continue: query.get("continue") ?? undefined,
        });
        const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
        if (result.continue) metadata.continue = result.continue;
        if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
        if (wantsTable(req.headers.accept))
          return sendJson(res, 200, toTable(type, version, result.items, result.resourceVersion, metadata, deps.now()));
        // Built-in list items carry no apiVersion/kind on the wire; custom resource items do.
        const items = type.custom
          ? result.items.map(out)
          : result.items.map((o) => {
              const { apiVersion: _a, kind: _k, ...rest } = toWire(o);
              return rest;
            });
        return sendJson(res, 200, {
          kind: `${type.kind}List`,
          apiVersion: apiVersionOf(served.group, r.version),
          metadata,
          items,
        });
      }
      case "watch":
        return startWatch(req, res, type, version, ns, r, query, alias ? served : undefined);
      case "create": {
        if (r.name !== undefined && r.subresource === undefined)
          throw apiErrors.methodNotAllowed(`the server does not allow this method on the requested resource`);
        const body = await readBodyIn(req);
        const { object, warnings } = store.create(type, ns, body, {
          dryRun: dryRunOf(query),
          fieldValidation: fieldValidationOf(query),
          version,
          manager: writeManagerOf(req, query),
        });
        return sendJson(res, 201, out(object), warnings);
      }
      case "update":
      case "patch": {
        if (alias && verb === "patch") return patchAlias(req, res, type, ns, r.name as string, query, toWire);
        const body = await readBodyIn(req);
        const name = r.name as string;
        const options = { dryRun: dryRunOf(query), fieldValidation: fieldValidationOf(query), version };
        if (r.subresource === "scale")
          return writeScale(res, type, ns, name, verb, body, req.headers["content-type"] ?? "", {
            dryRun: options.dryRun,
            manager: writeManagerOf(req, query),
          });
        const sub = r.subresource === "status" ? { subresource: "status" as const } : {};
        if (verb === "patch" && isApply(req.headers["content-type"] ?? "")) {
          if (r.subresource !== undefined)
            throw apiErrors.badRequest(`kube-sim does not apply server-side to the ${r.subresource} subresource`);
          const manager = query.get("fieldManager") ?? "";
          if (manager === "")
            throw apiErrors.invalid({ group: "meta.k8s.io", resource: "patchoptions", kind: "PatchOptions" }, "", [
              {
                reason: "FieldValueRequired",
                field: "fieldManager",
                message: "Required value: is required for apply patch",
              },
            ]);
          const applied = store.apply(type, ns, name, body, {
            ...options,
            manager,
            force: queryBool(query, "force"),
          });
          return sendJson(res, applied.created ? 201 : 200, out(applied.object), applied.warnings);
        }
        const write = { ...options, ...sub, manager: writeManagerOf(req, query) };
        const result =
          verb === "update"
            ? store.update(type, ns, name, body, write)
            : store.patch(type, ns, name, patchTypeOf(req.headers["content-type"] ?? ""), body, write);
        return sendJson(res, 200, out(result.object), result.warnings);
      }
      case "delete": {
        const body = await readBody(req);
        const opts = isPlainObject(body) ? body : {};
        const propagation = (query.get("propagationPolicy") ?? opts.propagationPolicy) as Propagation | undefined;
        if (propagation !== undefined && !["Background", "Foreground", "Orphan"].includes(propagation)) {
          throw apiErrors.badRequest(
            `propagationPolicy: Unsupported value: "${propagation}": supported values: "Foreground", "Background", "Orphan"`,
          );
        }
        const graceRaw = query.get("gracePeriodSeconds") ?? opts.gracePeriodSeconds;
        const gracePeriodSeconds = graceRaw === undefined || graceRaw === null ? undefined : Number(graceRaw);
        if (gracePeriodSeconds !== undefined && (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0)) {
          throw apiErrors.badRequest(`gracePeriodSeconds must be an integer >= 0, got ${JSON.stringify(graceRaw)}`);
        }
        const result = store.delete(type, ns, r.name as string, {
          gracePeriodSeconds,
          dryRun: dryRunOf(query),
          propagationPolicy: propagation,
          preconditions: isPlainObject(opts.preconditions)
            ? (opts.preconditions as { uid?: string; resourceVersion?: string })
            : undefined,
        });
        // A real server answers 200 with the object when it is gone or only marked for deletion (finalizers).
        return sendJson(
          res,
          200,
          result.deleted && !type.custom && type.resource !== "pods"
            ? successStatus(type, result.object)
            : out(result.object),
        );
      }
      case "deletecollection": {
        const items = store.deleteCollection(type, ns, {
          labelSelector: query.get("labelSelector") ?? undefined,
          fieldSelector: query.get("fieldSelector") ?? undefined,
          dryRun: dryRunOf(query),
        });
        return sendJson(res, 200, {
          kind: `${type.kind}List`,
          apiVersion: apiVersionOf(served.group, r.version),
          metadata: { resourceVersion: store.resourceVersion() },
          items: items.map(out),
        });
      }
      default:
        throw apiErrors.methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
  }

  /** A patch to an object served in another shape: patched in that shape, stored back as an update. */
  async function patchAlias(
    req: IncomingMessage,
    res: ServerResponse,
    type: ResourceType,
    ns: string | undefined,
    name: string,
    query: URLSearchParams,
    toWire: (o: KubeObject) => KubeObject,
  ): Promise<void> {
    const body = await readBody(req);
    const contentType = req.headers["content-type"] ?? "";
    if (isApply(contentType))
      throw apiErrors.badRequest(
        "kube-sim does not apply server-side to events.k8s.io/v1 Events; apply core/v1 Events",
      );
    const current = store.get(type, ns, name);
    const kind = patchTypeOf(contentType);
    const wire = toWire(current);
    const patched = kind === "json" ? applyJson(wire, body) : mergeLike(wire, body);
    const core = toCoreEvent(patched) as KubeObject;
    if (isPlainObject(core.metadata)) core.metadata.resourceVersion ??= current.metadata.resourceVersion;
    const result = store.update(type, ns, name, core, {
      dryRun: dryRunOf(query),
      fieldValidation: fieldValidationOf(query),
      manager: writeManagerOf(req, query),
    });
    sendJson(res, 200, toWire(result.object), result.warnings);
  }

  function successStatus(type: ResourceType, obj: KubeObject) {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: obj.metadata.name, group: type.group, kind: type.resource, uid: obj.metadata.uid },
    };
  }

  function writeScale(
    res: ServerResponse,
    type: ResourceType,
    ns: string | undefined,
    name: string,
    verb: string,
    body: unknown,
    contentType: string,
    write: { dryRun: boolean; manager: string | undefined },
  ): void {
    const current = store.get(type, ns, name);
    let scale: unknown = scaleOf(current);
    if (verb === "update") scale = body;
    else {
      const kind = patchTypeOf(contentType);
      scale = kind === "json" ? applyJson(scale, body) : mergeLike(scale, body);
    }
    const replicas = isPlainObject(scale) && isPlainObject(scale.spec) ? scale.spec.replicas : undefined;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
      throw apiErrors.invalid({ group: "autoscaling", resource: "scale", kind: "Scale" }, name, [
        { field: "spec.replicas", message: `Invalid value: ${String(replicas)}: must be greater than or equal to 0` },
      ]);
    }
    const { object } = store.patch(
      type,
      ns,
      name,
      "merge",
      { spec: { replicas } },
      {
        dryRun: write.dryRun,
        manager: write.manager,
        managerSubresource: "scale",
      },
    );
    sendJson(res, 200, scaleOf(object));
  }

  function startWatch(
    req: IncomingMessage,
    res: ServerResponse,
    type: ResourceType,
    version: string,
    ns: string | undefined,
    r: ResourceRequest,
    query: URLSearchParams,
    served?: ResourceType,
  ): void {
    let fieldSelector = query.get("fieldSelector") ?? undefined;
    if (r.name !== undefined) fieldSelector = [fieldSelector, `metadata.name=${r.name}`].filter(Boolean).join(",");
    const pending: string[] = [];
    let started = false;
    // The real server ends the stream after an ERROR event (e.g. 410 Expired): the client must list again.
    let ended = false;
    // `kubectl get -w` asks for Tables: each event carries a one-row Table, the first with the column definitions.
    const asTable = wantsTable(req.headers.accept);
    let columnsSent = false;
    const write = (e: WatchEvent) => {
      if (ended) return;
      let object: unknown;
      if (e.type === "ERROR") object = e.object;
      else if (asTable && e.type !== "BOOKMARK") {
        object = toTable(
          type,
          version,
          [e.object],
          e.object.metadata.resourceVersion ?? "",
          undefined,
          deps.now(),
          !columnsSent,
        );
        columnsSent = true;
      } else object = served ? toEventsV1(e.object) : inVersion(e.object, type, version);
      const line = `${JSON.stringify({ type: e.type, object })}\n`;
      if (e.type === "ERROR") ended = true;
      if (started) {
        res.write(line);
        if (ended) res.end();
      } else pending.push(line);
    };
    const watch = openWatch(
      store,
      type,
      {
        namespace: ns,
        labelSelector: query.get("labelSelector") ?? undefined,
        fieldSelector,
        resourceVersion: query.get("resourceVersion") ?? undefined,
      },
      write,
    );
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Transfer-Encoding": "chunked",
      "Cache-Control": "no-cache, private",
    });
    res.flushHeaders();
    started = true;
    for (const line of pending) res.write(line);
    if (ended) {
      watch.close();
      res.end();
      return;
    }
    if (queryBool(query, "allowWatchBookmarks") && queryBool(query, "sendInitialEvents")) {
      res.write(
        `${JSON.stringify({ type: "BOOKMARK", object: { kind: type.kind, apiVersion: apiVersionOf((served ?? type).group, served ? r.version : version), metadata: { resourceVersion: store.resourceVersion(), annotations: { "k8s.io/initial-events-end": "true" } } } })}\n`,
      );
    }
    const timeout = Number(query.get("timeoutSeconds") ?? "0");
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    timer?.unref();
    const stop = () => {
      ended = true;
      watch.close();
      if (timer) clearTimeout(timer);
      watches.delete(res);
    };
    watches.set(res, stop);
    res.on("close", stop);
    req.on("close", stop);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Split by hand: `new URL()` reads a path starting with "//" as a host name and throws on odd ones.
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const url = {
      pathname: q < 0 ? raw : raw.slice(0, q),
      searchParams: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)),
    };
    let parsed: ReturnType<typeof parsePath>;
    try {
      parsed = parsePath(url.pathname);
    } catch (error) {
      if (error instanceof BadPathError) throw apiErrors.badRequest(error.message);
      throw error;
    }
    if (parsed.kind === "other") {
      const p = parsed.path.replace(/\/+$/, "");
      if (req.method === "GET" && p === "/version") return sendJson(res, 200, SERVER_VERSION);
      if (req.method === "GET" && p === "/openapi/v2") {
        if ((req.headers.accept ?? "").includes(OPENAPI_V2_PROTOBUF)) {
          const body = openApiV2Protobuf();
          // kube-openapi answers the protobuf form as an octet stream (Go's mime parser refuses the "@" in the type).
          res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(body.length) });
          res.end(body);
          return;
        }
        return sendJson(res, 200, openApiV2Json());
      }
      const openapi = req.method === "GET" ? parseOpenApiPath(p) : undefined;
      if (openapi === "index") return sendJson(res, 200, openApiV3Index(store.types));
      if (openapi) {
        const doc = openApiV3GroupVersion(store.types, openapi.group, openapi.version);
        if (doc) return sendJson(res, 200, doc);
      }
      if (req.method === "GET" && (p === "/healthz" || p === "/readyz" || p === "/livez")) {
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("ok");
        return;
      }
      throw notFoundPath();
    }
    if (parsed.kind === "discovery") {
      if (req.method !== "GET")
        throw apiErrors.methodNotAllowed("the server does not allow this method on the requested resource");
      if (parsed.legacy && parsed.version === undefined) return sendJson(res, 200, apiVersions(deps.serverAddress()));
      if (parsed.group === undefined) return sendJson(res, 200, apiGroupList(store.types));
      if (parsed.version === undefined) {
        const g = apiGroup(store.types, parsed.group);
        if (!g) throw notFoundPath();
        return sendJson(res, 200, g);
      }
      const list = apiResourceList(store.types, parsed.group, parsed.version);
      if (!list) throw notFoundPath();
      return sendJson(res, 200, list);
    }
    return handleResource(req, res, parsed.request, url.searchParams);
  }

  return {
    handle(req, res) {
      route(req, res).catch(async (error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // A request refused before its body was read (an injected fault, a denial, a bad path, a body too large):
        // read the rest and drop it before answering, so the client has finished sending and the next request on
        // this keep-alive connection starts where the parser expects it. A body too large even to drop: close.
        if (!(await drain(req))) res.setHeader("Connection", "close");
        if (error instanceof KubeApiError) sendError(res, error);
        else sendError(res, apiErrors.internal((error as Error)?.message ?? String(error), error));
      });
    },
    closeWatches(ending) {
      const rv = Number(store.resourceVersion());
      const expired = apiErrors.gone(`too old resource version: ${rv - 1} (${rv})`).toStatus();
      for (const [res, stop] of [...watches]) {
        stop();
        if (ending === "expired") res.write(`${JSON.stringify({ type: "ERROR", object: expired })}\n`);
        res.end();
      }
    },
  };
}

/** Reads and drops what is left of a request body; false when it was more than MAX_DRAIN_BYTES or broke off. */
function drain(req: IncomingMessage): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  if (req.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let size = 0;
    const done = (ok: boolean) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      resolve(ok);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.pause();
        done(false);
      }
    };
    const onEnd = () => done(true);
    const onClose = () => done(req.complete);
    const onError = () => done(false);
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
    req.resume();
  });
}

/** RBAC's refusal, worded as `k8s.io/apiserver` and the RBAC authorizer word it. */
function forbidden(info: RequestInfo): KubeApiError {
  const group = info.group ?? "";
  const resource = info.resource ?? "";
  const qualifiedName = group ? `${resource}.${group}` : resource;
  const what = info.subresource ? `${resource}/${info.subresource}` : resource;
  const scope = info.namespace !== undefined ? `in the namespace "${info.namespace}"` : "at the cluster scope";
  const why = `User "${SIM_USER}" cannot ${info.verb} resource "${what}" in API group "${group}" ${scope}`;
  const subject = info.name ? `${qualifiedName} "${info.name}"` : qualifiedName;
  return new KubeApiError(403, "Forbidden", `${subject} is forbidden: ${why}`, {
    ...(info.name ? { name: info.name } : {}),
    group,
    kind: resource,
  });
}

const SSAR = { group: "authorization.k8s.io", resource: "selfsubjectaccessreviews", kind: "SelfSubjectAccessReview" };

/** POST selfsubjectaccessreviews: nothing is stored; allowed unless a `faults.deny()` rule matches. */
function selfSubjectAccessReview(body: unknown, faults: Faults, version: string) {
  if (!isPlainObject(body))
    throw apiErrors.badRequest("the body of the request is not a SelfSubjectAccessReview object");
  if (body.kind !== undefined && body.kind !== SSAR.kind)
    throw apiErrors.badRequest(
      `the kind of the object (${String(body.kind)}) does not match the kind of the resource (${SSAR.kind})`,
    );
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  if ((ra === undefined || ra === null) === (nra === undefined || nra === null))
    throw apiErrors.invalid(SSAR, "", [
      {
        field: "spec.resourceAttributes",
        message: `Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified`,
      },
    ]);
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  let allowed = true;
  if (isPlainObject(ra)) {
    allowed = !faults.isDenied({
      verb: str(ra.verb),
      group: str(ra.group) ?? "",
      resource: str(ra.resource),
      subresource: str(ra.subresource),
      namespace: str(ra.namespace),
      name: str(ra.name),
    });
  }
  const metadata = isPlainObject(body.metadata) ? body.metadata : {};
  return {
    kind: SSAR.kind,
    apiVersion: `${SSAR.group}/${version}`,
    metadata: { ...metadata, creationTimestamp: null },
    spec,
    // RBAC never denies outright, it only has no rule that allows: no `denied`, no reason (kubectl prints "no").
    status: allowed ? { allowed: true, reason: "kube-sim: no faults.deny() rule matches" } : { allowed: false },
  };
}

function applyJson(target: unknown, patch: unknown): unknown {
  try {
    return applyJsonPatch(target, patch);
  } catch (error) {
    throw apiErrors.badRequest((error as Error).message);
  }
}

function mergeLike(target: unknown, patch: unknown): unknown {
  return applyMergePatch(target, patch);
}
