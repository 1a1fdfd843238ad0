/**
 * A minimal OpenAPI v3 surface: the /openapi/v3 index and, per group-version, a document that lists each
 * resource's paths with their `x-kubernetes-group-version-kind` and the `fieldValidation`/`dryRun` query
 * parameters. That is what kubectl 1.32 reads to decide that validation can be left to the server
 * (it then sends `fieldValidation=Strict`); without it, `kubectl apply` stops with "failed to download openapi".
 * Schemas (components) are not published, so clients fall back to their compiled-in types for strategic merge.
 */
import type { ResourceType, ResourceTypes } from "../resources.js";

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function openApiV3Index(types: ResourceTypes) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [group, versions] of types.groups()) {
    for (const version of versions) {
      const p = gvPath(group, version);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=kube-sim-${types.all().length}` };
    }
  }
  return { paths };
}

const queryParams = ["dryRun", "fieldManager", "fieldValidation", "pretty"].map((name) => ({
  name,
  in: "query",
  schema: { type: "string", uniqueItems: true },
}));

function pathsFor(t: ResourceType, version: string): Record<string, unknown> {
  const gvk = { group: t.group, version, kind: t.kind };
  const base = `/${gvPath(t.group, version)}${t.namespaced ? "/namespaces/{namespace}" : ""}/${t.resource}`;
  const op = (action: string) => ({
    operationId: `${action}${t.kind}`,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
    parameters: queryParams,
    responses: { "200": { description: "OK" } },
  });
  return {
    [base]: { get: op("list"), post: op("post"), delete: op("deletecollection") },
    [`${base}/{name}`]: { get: op("get"), put: op("put"), patch: op("patch"), delete: op("delete") },
  };
}

/** The document for one group-version, or undefined when the server does not serve it. */
export function openApiV3GroupVersion(types: ResourceTypes, group: string, version: string) {
  const served = types.all().filter((t) => t.group === group && t.versions.includes(version));
  if (served.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const t of served) Object.assign(paths, pathsFor(t, version));
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: "v1.32.0" }, paths, components: {} };
}

/** Parses `/openapi/v3/apis/apps/v1` or `/openapi/v3/api/v1` into group and version. */
export function parseOpenApiPath(pathname: string): { group: string; version: string } | "index" | undefined {
  const p = pathname.replace(/\/+$/, "");
  if (p === "/openapi/v3") return "index";
  let m = /^\/openapi\/v3\/api\/([^/]+)$/.exec(p);
  if (m) return { group: "", version: m[1] as string };
  m = /^\/openapi\/v3\/apis\/([^/]+)\/([^/]+)$/.exec(p);
  if (m) return { group: m[1] as string, version: m[2] as string };
  return undefined;
}

/**
 * `/openapi/v2`: an empty Swagger 2.0 document (no definitions). kubectl downloads it to validate, client-side,
 * objects whose kind the OpenAPI v3 documents do not list (kinds that are not installed); a kind with no definition
 * is not validated there, so kubectl goes on to report `no matches for kind` for that object and applies the
 * others, as against a real cluster. client-go asks for it as gnostic protobuf (openapi_v2.Document:
 * swagger = 1, info = 2; Info: title = 1, version = 2); other clients get JSON.
 */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

const OPENAPI_V2_INFO = { title: "Kubernetes", version: "v1.32.0" };

export function openApiV2Json() {
  return { swagger: "2.0", info: OPENAPI_V2_INFO, paths: {}, definitions: {} };
}

function protoString(field: number, value: Buffer): Buffer {
  const len: number[] = [];
  let n = value.length;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...len]), value]);
}

export function openApiV2Protobuf(): Buffer {
  const info = Buffer.concat([
    protoString(1, Buffer.from(OPENAPI_V2_INFO.title)),
    protoString(2, Buffer.from(OPENAPI_V2_INFO.version)),
  ]);
  return Buffer.concat([protoString(1, Buffer.from("2.0")), protoString(2, info)]);
}
