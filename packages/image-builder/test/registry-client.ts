/** Reads images back from a test registry over its HTTP API (v2): tags, manifest, labels and the files of a layer. */
import { gunzipSync } from "node:zlib";
import { extract } from "tar-stream";

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export interface RegistryReader {
  tags(repository: string): Promise<string[]>;
  image(repository: string, tag: string): Promise<RegistryImage>;
}

export interface RegistryImage {
  digest: string;
  labels: Record<string, string>;
  /** Every file of every layer, with its owner and mode. */
  files: { name: string; uid: number; gid: number; mode: number; content: string }[];
}

export function registryReader(host: string, user?: { name: string; password: string }): RegistryReader {
  const headers: Record<string, string> = user
    ? { authorization: `Basic ${Buffer.from(`${user.name}:${user.password}`).toString("base64")}` }
    : {};
  const get = async (path: string, accept?: string) => {
    const response = await fetch(`http://${host}/v2/${path}`, {
      headers: { ...headers, ...(accept ? { accept } : {}) },
    });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return response;
  };
  return {
    async tags(repository) {
      const body = (await (await get(`${repository}/tags/list`)).json()) as { tags: string[] };
      return [...body.tags].sort();
    },
    async image(repository, tag) {
      const response = await get(`${repository}/manifests/${tag}`, MANIFEST_TYPES);
      const digest = response.headers.get("docker-content-digest") ?? "";
      const manifest = (await response.json()) as { config: { digest: string }; layers: { digest: string }[] };
      const config = (await (await get(`${repository}/blobs/${manifest.config.digest}`)).json()) as {
        config?: { Labels?: Record<string, string> };
      };
      const files: RegistryImage["files"] = [];
      for (const layer of manifest.layers) {
        const blob = Buffer.from(await (await get(`${repository}/blobs/${layer.digest}`)).arrayBuffer());
        files.push(...(await listTar(blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob)));
      }
      return { digest, labels: config.config?.Labels ?? {}, files };
    },
  };
}

function listTar(tar: Buffer): Promise<RegistryImage["files"]> {
  return new Promise((resolve, reject) => {
    const files: RegistryImage["files"] = [];
    const reader = extract();
    reader.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on("end", () => {
        files.push({
          name: header.name.replace(/^\.?\//, ""),
          uid: header.uid ?? 0,
          gid: header.gid ?? 0,
          mode: (header.mode ?? 0) & 0o7777,
          content: Buffer.concat(chunks).toString("utf8"),
        });
        next();
      });
      stream.on("error", reject);
    });
    reader.on("finish", () => resolve(files));
    reader.on("error", reject);
    reader.end(tar);
  });
}
