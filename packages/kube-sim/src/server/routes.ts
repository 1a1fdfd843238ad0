/**
 * Parses API paths into a request description, as the apiserver's RequestInfoResolver does:
 *   /api/v1/namespaces/{ns}/{resource}/{name}/{subresource}
 *   /apis/{group}/{version}/{resource}/{name}
 *   /api/v1/watch/...   (the legacy watch prefix)
 */

export interface ResourceRequest {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}

export type ParsedPath =
  | { kind: "resource"; request: ResourceRequest }
  | { kind: "discovery"; group: string | undefined; version: string | undefined; legacy: boolean }
  | { kind: "other"; path: string };

export class BadPathError extends Error {
  override readonly name = "BadPathError";
}

function decode(parts: string[]): string[] {
  return parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      throw new BadPathError(`the request path has an invalid percent-encoded segment: ${JSON.stringify(p)}`);
    }
  });
}

export function parsePath(pathname: string): ParsedPath {
  const parts = decode(pathname.split("/").filter((p) => p !== ""));
  let group: string;
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === "api") {
    group = "";
    version = parts[1];
    rest = parts.slice(2);
    if (!version) return { kind: "discovery", group: "", version: undefined, legacy: true };
  } else if (parts[0] === "apis") {
    group = parts[1] ?? "";
    version = parts[2];
    rest = parts.slice(3);
    if (!parts[1]) return { kind: "discovery", group: undefined, version: undefined, legacy: false };
    if (!version) return { kind: "discovery", group, version: undefined, legacy: false };
  } else {
    return { kind: "other", path: pathname };
  }
  if (rest.length === 0) return { kind: "discovery", group, version, legacy: group === "" };
  let legacyWatch = false;
  if (rest[0] === "watch") {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // "namespaces/x" alone, or "namespaces/x/status|finalize", is the Namespace object itself.
  if (
    rest[0] === "namespaces" &&
    rest.length >= 3 &&
    !(group === "" && rest.length === 3 && (rest[2] === "status" || rest[2] === "finalize"))
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource || extra.length > 0) return { kind: "other", path: pathname };
  const request: ResourceRequest = { group, version, resource, legacyWatch };
  if (namespace !== undefined) request.namespace = namespace;
  if (name !== undefined) request.name = name;
  if (subresource !== undefined) request.subresource = subresource;
  return { kind: "resource", request };
}
