/**
 * Never twice across replicas: before sending, a replica creates a ConfigMap named after the notification (a hash
 * of its key and destination), as the server's Idempotency-Keys are claimed. The create that succeeds sends; a 409
 * AlreadyExists means another replica (or an earlier run of this one) has it. A claim left `claimed` by a replica that
 * died before it finished is taken over once it is older than `staleAfterMs` (with the resourceVersion: one winner),
 * so the notification is still delivered at least once.
 */
import { createHash } from "node:crypto";
import { type Connection, hasHttpStatus } from "@rollway/rollout-client";

export const LABEL_NOTIFICATION_OF = "rollway.dev/notification-of";
const paths = {
  configMaps: (ns: string) => `/api/v1/namespaces/${ns}/configmaps`,
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
};

export const claimName = (key: string, destination: string): string =>
  `rollway-notify-${createHash("sha256").update(`${key}\n${destination}`).digest("hex").slice(0, 40)}`;

export type ClaimState = "claimed" | "sent" | "gave-up";

interface ClaimMap {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** A label value: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
const labelValue = (value: string) =>
  value
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");

export class Claims {
  constructor(
    readonly api: Connection,
    readonly namespace: string,
    readonly holder: string,
    readonly options: { staleAfterMs: number; now: () => number },
  ) {}

  /** True when this replica may send: it created the claim, or took over a stale one. */
  async claim(key: string, destination: string, release: string): Promise<boolean> {
    const name = claimName(key, destination);
    const data = { key, destination, holder: this.holder, claimedAt: new Date(this.options.now()).toISOString() };
    try {
      await this.api.request({
        method: "POST",
        path: paths.configMaps(this.namespace),
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name,
            labels: { "app.kubernetes.io/managed-by": "rollway", [LABEL_NOTIFICATION_OF]: labelValue(release) },
          },
          data: { ...data, state: "claimed" },
        },
        resource: { kind: "ConfigMap", name, namespace: this.namespace },
      });
      return true;
    } catch (error) {
      if (!hasHttpStatus(error, 409)) throw error;
    }
    const existing = await this.api.request<ClaimMap>({
      method: "GET",
      path: paths.configMap(this.namespace, name),
      resource: { kind: "ConfigMap", name, namespace: this.namespace },
    });
    const claimedAt = Date.parse(existing.data?.claimedAt ?? "");
    const stale =
      existing.data?.state === "claimed" &&
      existing.data.holder !== this.holder &&
      !(this.options.now() - claimedAt < this.options.staleAfterMs);
    if (!stale) return false;
    try {
      await this.api.request({
        method: "PUT",
        path: paths.configMap(this.namespace, name),
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: existing.metadata,
          data: { ...data, state: "claimed", takenOverFrom: existing.data?.holder ?? "" },
        },
        resource: { kind: "ConfigMap", name, namespace: this.namespace },
      });
      return true;
    } catch (error) {
      if (hasHttpStatus(error, 409)) return false;
      throw error;
    }
  }

  /** Records how the delivery ended (a merge patch: nothing else of the claim changes). */
  async finish(key: string, destination: string, state: ClaimState, attempts: number): Promise<void> {
    const name = claimName(key, destination);
    await this.api.request({
      method: "PATCH",
      path: paths.configMap(this.namespace, name),
      body: { data: { state, attempts: String(attempts), finishedAt: new Date(this.options.now()).toISOString() } },
      patchType: "merge",
      resource: { kind: "ConfigMap", name, namespace: this.namespace },
    });
  }
}
