/**
 * What the server reads in the cluster beside the release records: the event log of each release (written by
 * whichever process ran it, through @rollway/release's runner: server, CLI or Action), and Flagger gates, which are
 * the server's alone. A gate is a ConfigMap created with POST (a 409 AlreadyExists means another replica got there
 * first) and deleted to close it.
 */
import { createHash } from "node:crypto";
import { type EventLog, followEventLog, readEventLog, type StoredEvent } from "@rollway/release";
import { type Connection, hasHttpStatus } from "@rollway/rollout-client";

export type { EventLog, StoredEvent };

const MANAGED_BY = { "app.kubernetes.io/managed-by": "rollway" };
const LABEL_GATE = "rollway.dev/flagger-gate";

/** API paths, named here so a reader sees what reaches the cluster. */
const paths = {
  configMaps: (ns: string) => `/api/v1/namespaces/${ns}/configmaps`,
  configMap: (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`,
};

const hashed = (prefix: string, ...parts: string[]) =>
  `${prefix}-${createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 40)}`;
export const gateName = (kind: GateKind, name: string, namespace: string) =>
  hashed("rollway-gate", kind, name, namespace);

export type GateKind = "gate" | "rollback";

/** The cluster answered this HTTP status, whichever path the request took (rollout-client's one error class). */
export const isStatus = (error: unknown, status: number): boolean => hasHttpStatus(error, status);

export class ClusterState {
  constructor(readonly api: Connection) {}

  // --- release events (the package's log) ---

  readEvents(ns: string, release: string, signal?: AbortSignal): Promise<EventLog | undefined> {
    return readEventLog(this.api, ns, release, signal);
  }

  /**
   * Every version of a release's event log from now on (the current one first), through rollout-client's one
   * list-then-watch; ends after the version marked done, or when the signal aborts. `_from` is kept for callers
   * that resume: the list gives the current version, and events are numbered, so nothing is sent twice.
   */
  watchEvents(ns: string, release: string, _from: string | undefined, signal: AbortSignal): AsyncIterable<EventLog> {
    return followEventLog(this.api, ns, release, signal);
  }

  // --- Flagger gates ---

  async isGateOpen(kind: GateKind, name: string, namespace: string): Promise<boolean> {
    try {
      await this.api.request({
        method: "GET",
        path: paths.configMap(namespace, gateName(kind, name, namespace)),
        resource: { kind: "ConfigMap", name: gateName(kind, name, namespace), namespace },
      });
      return true;
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }

  async setGate(kind: GateKind, name: string, namespace: string, open: boolean): Promise<void> {
    const cmName = gateName(kind, name, namespace);
    try {
      if (!open)
        await this.api.request({
          method: "DELETE",
          path: paths.configMap(namespace, cmName),
          resource: { kind: "ConfigMap", name: cmName, namespace },
        });
      else
        await this.api.request({
          method: "POST",
          path: paths.configMaps(namespace),
          body: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: cmName, labels: { ...MANAGED_BY, [LABEL_GATE]: kind } },
            data: { kind, canary: name, namespace },
          },
          resource: { kind: "ConfigMap", name: cmName, namespace },
        });
    } catch (error) {
      // Already closed (404) or already open (409 AlreadyExists): what was asked holds.
      if (!isStatus(error, open ? 409 : 404)) throw error;
    }
  }
}
