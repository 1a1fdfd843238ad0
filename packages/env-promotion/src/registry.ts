/**
 * Digest pinning: each promoted image's tag is resolved to the digest the registry serves for it (Docker Registry
 * HTTP API v2, `HEAD /v2/<name>/manifests/<tag>`, `Docker-Content-Digest`), answering a Bearer or Basic auth
 * challenge when the registry asks. An image the registry does not have is refused before anything is written.
 */
import { PromotionError } from "./errors.js";
import type { OverlayImage } from "./kustomization.js";

/** The manifest types a tag may point at: OCI index/manifest, Docker manifest list/v2 (multi-arch first). */
export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryAccess {
  /** Credentials per registry host (`ghcr.io`, `127.0.0.1:5000`); never logged or put in errors. */
  credentials?: Readonly<Record<string, RegistryCredentials>>;
  /** Hosts reached over plain http. Loopback hosts (localhost, 127.x) always are, as Docker treats them. */
  plainHttp?: readonly string[];
  signal?: AbortSignal;
  /** Injected for tests of other transports; the global fetch by default. */
  fetch?: typeof fetch;
}

export interface ImageLocation {
  /** The host in the image name, `docker.io` when it has none. */
  registry: string;
  /** The repository path inside the registry (`library/redis` for `redis`). */
  repository: string;
}

/** Splits an image name the way Docker does: the first component is a host if it has a `.` or `:` or is localhost. */
export function locateImage(name: string): ImageLocation {
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  if (first && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return { registry: first, repository: name.slice(slash + 1) };
  }
  return { registry: "docker.io", repository: slash === -1 ? `library/${name}` : name };
}

function baseUrl(registry: string, access: RegistryAccess): string {
  const host = registry === "docker.io" ? "registry-1.docker.io" : registry;
  const hostname = host.replace(/:\d+$/, "");
  const plain =
    access.plainHttp?.includes(registry) || hostname === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  return `${plain ? "http" : "https"}://${host}`;
}

/** The digest the registry serves for `name:reference` (a tag or a digest). */
export async function resolveDigest(name: string, reference: string, access: RegistryAccess = {}): Promise<string> {
  const { registry, repository } = locateImage(name);
  const doFetch = access.fetch ?? fetch;
  const url = `${baseUrl(registry, access)}/v2/${repository}/manifests/${reference}`;
  const shown = `${name}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
  const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT };
  const request = (h: Record<string, string>) =>
    doFetch(url, { method: "HEAD", headers: h, ...(access.signal ? { signal: access.signal } : {}) }).catch(
      (error: unknown) => {
        throw new PromotionError(
          "REGISTRY_REQUEST_FAILED",
          `Could not reach registry ${registry} to resolve ${shown}: ${(error as Error).message}.`,
          "check the registry host in the image name and the network, or promote without pinning digests.",
          { images: [name] },
          { cause: error },
        );
      },
    );
  let response = await request(headers);
  if (response.status === 401) {
    const authorization = await answerChallenge(
      response.headers.get("www-authenticate") ?? "",
      registry,
      repository,
      access,
    );
    if (authorization) response = await request({ ...headers, Authorization: authorization });
  }
  if (response.status === 404) {
    throw new PromotionError(
      "IMAGE_NOT_IN_REGISTRY",
      `Image ${shown} does not exist in registry ${registry}.`,
      "push the image (or correct its tag in the source overlay) before promoting it.",
      { images: [name], status: 404 },
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new PromotionError(
      "REGISTRY_REQUEST_FAILED",
      `Registry ${registry} refused to show ${shown} (HTTP ${response.status}).`,
      `give credentials for ${registry} that may pull ${repository}.`,
      { images: [name], status: response.status },
    );
  }
  const digest = response.headers.get("docker-content-digest");
  if (!response.ok || !digest || !/^sha256:[a-f0-9]{64}$/.test(digest)) {
    throw new PromotionError(
      "REGISTRY_REQUEST_FAILED",
      `Registry ${registry} answered HTTP ${response.status} ${
        response.ok ? "without a Docker-Content-Digest" : ""
      } for ${shown}.`.replace("  ", " "),
      "check that the registry speaks the Docker Registry HTTP API v2, or promote without pinning digests.",
      { images: [name], status: response.status },
    );
  }
  return digest;
}

/** `Bearer realm="…",service="…",scope="…"` → a token from the realm; `Basic` → the credentials. */
async function answerChallenge(
  challenge: string,
  registry: string,
  repository: string,
  access: RegistryAccess,
): Promise<string | undefined> {
  const credentials = access.credentials?.[registry];
  const basic = credentials
    ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
    : undefined;
  const scheme = challenge.split(" ", 1)[0]?.toLowerCase();
  if (scheme === "basic") return basic;
  if (scheme !== "bearer") return undefined;
  const params = new Map<string, string>();
  for (const m of challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params.set(m[1] as string, m[2] as string);
  const realm = params.get("realm");
  if (!realm) return undefined;
  const tokenUrl = new URL(realm);
  if (params.get("service")) tokenUrl.searchParams.set("service", params.get("service") as string);
  tokenUrl.searchParams.set("scope", params.get("scope") ?? `repository:${repository}:pull`);
  const response = await (access.fetch ?? fetch)(tokenUrl, {
    headers: basic ? { Authorization: basic } : {},
    ...(access.signal ? { signal: access.signal } : {}),
  }).catch(() => undefined);
  if (!response?.ok) return undefined;
  const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  return token ? `Bearer ${token}` : undefined;
}

/**
 * Each image with its `digest` set to what its tag resolves to. An image that already carries a digest is checked to
 * exist and kept; one with neither tag nor digest is refused (there is nothing to resolve).
 */
export async function pinDigests(
  images: readonly OverlayImage[],
  access: RegistryAccess = {},
): Promise<Map<string, string>> {
  const pins = new Map<string, string>();
  for (const image of images) {
    const name = image.newName ?? image.name;
    const reference = image.digest ?? image.newTag;
    if (!reference) {
      throw new PromotionError(
        "INVALID_OPTIONS",
        `Image ${image.name} has no newTag or digest in the source overlay, so there is no tag to pin to a digest.`,
        "give the image a newTag in the source overlay, or promote without pinning digests.",
        { images: [image.name] },
      );
    }
    try {
      pins.set(image.name, await resolveDigest(name, reference, access));
    } catch (error) {
      // Named as the overlay names it, like every other promotion error's images.
      if (!(error instanceof PromotionError)) throw error;
      throw new PromotionError(
        error.code,
        error.problem,
        error.hint,
        { ...error.details, images: [image.name] },
        {
          cause: error,
        },
      );
    }
  }
  return pins;
}
