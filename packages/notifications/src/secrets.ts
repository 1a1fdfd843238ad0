/**
 * Secret values by reference: a Kubernetes Secret's key (read through the cluster client) or a file. Read when a
 * notification is sent and kept a minute, so a rotated secret is picked up without a restart. Errors name the
 * reference, never the value.
 */
import { readFile } from "node:fs/promises";
import type { Connection } from "@rollway/rollout-client";
import type { SecretRef } from "./config.js";
import { NotificationError } from "./errors.js";

const CACHE_MS = 60_000;
export const secretPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`;

export class Secrets {
  readonly #cache = new Map<string, { value: string; until: number }>();

  constructor(
    readonly api: Connection | undefined,
    readonly namespace: string,
    readonly now: () => number = Date.now,
  ) {}

  async read(ref: SecretRef, where: string): Promise<string> {
    const key = "file" in ref ? `file:${ref.file}` : `secret:${ref.secret.name}/${ref.secret.key}`;
    const cached = this.#cache.get(key);
    if (cached && cached.until > this.now()) return cached.value;
    const value = ("file" in ref ? await this.#file(ref.file, where) : await this.#secret(ref.secret, where)).trim();
    if (!value) throw new NotificationError("SECRET", `${where}: the secret ${describe(ref)} is empty`, { where });
    this.#cache.set(key, { value, until: this.now() + CACHE_MS });
    return value;
  }

  async #file(path: string, where: string): Promise<string> {
    try {
      return await readFile(path, "utf8");
    } catch (cause) {
      throw new NotificationError(
        "SECRET",
        `${where}: cannot read secret file ${path}: ${(cause as NodeJS.ErrnoException).code}`,
        { where, cause },
      );
    }
  }

  async #secret(ref: { name: string; key: string }, where: string): Promise<string> {
    if (!this.api)
      throw new NotificationError("SECRET", `${where}: Secret "${ref.name}" needs a cluster; use a file instead`, {
        where,
      });
    let secret: { data?: Record<string, string> };
    try {
      secret = await this.api.request({
        method: "GET",
        path: secretPath(this.namespace, ref.name),
        resource: { kind: "Secret", name: ref.name, namespace: this.namespace },
      });
    } catch (cause) {
      throw new NotificationError(
        "SECRET",
        `${where}: cannot read Secret "${ref.name}" in namespace "${this.namespace}": ${(cause as Error).message}`,
        { where, cause },
      );
    }
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined)
      throw new NotificationError("SECRET", `${where}: Secret "${ref.name}" has no key "${ref.key}"`, { where });
    return Buffer.from(encoded, "base64").toString("utf8");
  }
}

const describe = (ref: SecretRef) =>
  "file" in ref ? `file ${ref.file}` : `Secret "${ref.secret.name}" key "${ref.secret.key}"`;
