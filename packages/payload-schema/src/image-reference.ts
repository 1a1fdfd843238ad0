/**
 * OCI image references, checked against the grammar of distribution/reference (the one Docker, containerd and
 * every registry client use): `[registry[:port]/]repository[:tag][@digest]`.
 */

export interface ImageReference {
  /** The registry host (and port) when the reference names one, e.g. `ghcr.io` or `localhost:5000`. */
  registry: string | undefined;
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

const alphaNumeric = "[a-z0-9]+";
const separator = "(?:[_.]|__|[-]+)";
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`;
/** The whole grammar as one anchored pattern (exported for the test that proves it ReDoS-safe). */
export const IMAGE_REFERENCE_PATTERN = new RegExp(
  `^(?:(${host}(?::[0-9]+)?)/)?(${pathComponent}(?:/${pathComponent})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);
const PATH_COMPONENT = new RegExp(`^${pathComponent}$`);
const MAX_NAME_LENGTH = 255;
const MAX_REFERENCE_LENGTH = 512;

/** Parses a reference, or says in one sentence why it is not one. */
export function parseImageReference(
  text: string,
): { ok: true; value: ImageReference } | { ok: false; message: string } {
  if (text.trim() !== text || text.length === 0) {
    return { ok: false, message: "not an image reference: empty or surrounded by spaces" };
  }
  if (text.length > MAX_REFERENCE_LENGTH) {
    return { ok: false, message: `not an image reference: ${text.length} characters, at most ${MAX_REFERENCE_LENGTH}` };
  }
  const match = IMAGE_REFERENCE_PATTERN.exec(text);
  if (!match) {
    const hint = /[A-Z]/.test(text.split("/").slice(-1)[0]?.split(/[:@]/)[0] ?? "")
      ? "; repository names must be lowercase"
      : "; expected [registry[:port]/]repository[:tag][@sha256:digest]";
    return { ok: false, message: `"${text}" is not a valid OCI image reference${hint}` };
  }
  let [, registry, repository = "", tag, digest] = match;
  // Like Docker: a first component is a registry only if it looks like a host; otherwise it is part of the path.
  if (registry !== undefined && !/[.:]/.test(registry) && registry !== "localhost" && !/[A-Z]/.test(registry)) {
    if (!PATH_COMPONENT.test(registry)) {
      return {
        ok: false,
        message: `"${text}" is not a valid OCI image reference; "${registry}" is neither a registry host nor a lowercase path`,
      };
    }
    repository = `${registry}/${repository}`;
    registry = undefined;
  }
  const name = registry ? `${registry}/${repository}` : repository;
  if (name.length > MAX_NAME_LENGTH) {
    return {
      ok: false,
      message: `"${text.slice(0, 40)}…" is not a valid OCI image reference; its name exceeds ${MAX_NAME_LENGTH} characters`,
    };
  }
  return { ok: true, value: { registry, repository, tag, digest } };
}
