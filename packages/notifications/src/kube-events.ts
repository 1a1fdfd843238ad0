/**
 * Kubernetes Events for every release step, on the workload of the component the step is about (every component's
 * workload for a release-wide step), so `kubectl describe`, `kubectl get events` and Argo CD's UI show the release.
 * Written as events.k8s.io/v1 Events; an API server that does not serve that group (404) gets core v1 Events, the
 * same facts in the older shape. Names are derived from the step, so a replayed step is one Event (409 is fine).
 * Writes are queued: a slow API server never delays the release.
 */
import { createHash } from "node:crypto";
import { type Environment, listComponents, type ReleaseEvent } from "@rollway/release";
import { type Connection, hasHttpStatus } from "@rollway/rollout-client";

export const REPORTING_CONTROLLER = "rollway.dev/release-engine";
export const LABEL_EVENT_RELEASE = "rollway.dev/release";
export const EVENT_PATHS = {
  eventsV1: (ns: string) => `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
  coreV1: (ns: string) => `/api/v1/namespaces/${ns}/events`,
};

const API_VERSIONS: Record<string, string> = {
  Rollout: "argoproj.io/v1alpha1",
  Deployment: "apps/v1",
  Canary: "flagger.app/v1beta1",
};

export interface WorkloadRef {
  component: string;
  apiVersion: string;
  kind: string;
  name: string;
}

/** The workloads an environment's events are written on, by component. */
export function workloadsOf(env: Pick<Environment, "frontend" | "backends">): WorkloadRef[] {
  return listComponents(env).map(({ name, component }) => ({
    component: name,
    apiVersion: API_VERSIONS[component.workload.kind] ?? "v1",
    kind: component.workload.kind,
    name: component.workload.name,
  }));
}

const WARNINGS = new Set(["failed", "aborted", "aborting", "component-aborted", "component-stuck", "warning"]);
/** `waiting-for-approval` → `WaitingForApproval`: the Event's reason, UpperCamelCase as Kubernetes' own. */
export const reasonOf = (type: string): string =>
  type === "started" ? "ReleaseStarted" : type.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());

export interface KubeEventsOptions {
  api: Connection;
  namespace: string;
  /** This replica (the Event's reportingInstance). */
  instance: string;
  workloads: WorkloadRef[];
  logger?: { warn(fields: Record<string, unknown>, message: string): void };
  now?: () => Date;
}

export class KubeEventWriter {
  readonly #o: KubeEventsOptions;
  #useCore = false;
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(options: KubeEventsOptions) {
    this.#o = options;
  }

  /** Queues the Events of one release step; returns at once. */
  write(event: ReleaseEvent): void {
    const targets = event.component
      ? this.#o.workloads.filter((w) => w.component === event.component)
      : this.#o.workloads;
    for (const target of targets) {
      this.#pending++;
      this.#chain = this.#chain
        .then(() => this.#post(event, target))
        .catch((error: unknown) =>
          this.#o.logger?.warn(
            { release: event.release, reason: reasonOf(event.type), err: (error as Error).message },
            "kubernetes event not written",
          ),
        )
        .finally(() => {
          this.#pending--;
        });
    }
  }

  /** Resolves once every queued Event is written (or failed). */
  async flushed(): Promise<void> {
    while (this.#pending > 0) await this.#chain;
  }

  async #post(event: ReleaseEvent, target: WorkloadRef): Promise<void> {
    const ns = this.#o.namespace;
    const digest = createHash("sha256")
      .update([event.release, event.type, event.at, event.component ?? "", event.message].join("\n"))
      .digest("hex")
      .slice(0, 16);
    const name = `${target.name}.rollway.${digest}`;
    const reason = reasonOf(event.type);
    const type = WARNINGS.has(event.type) ? "Warning" : "Normal";
    // The release id leads the note: `kubectl get events` shows it beside the step.
    const note = `release ${event.release}: ${event.message}`.slice(0, 1024);
    const metadata = { name, namespace: ns, labels: { [LABEL_EVENT_RELEASE]: labelValue(event.release) } };
    const regarding = { apiVersion: target.apiVersion, kind: target.kind, name: target.name, namespace: ns };
    const at = new Date(event.at);
    const when = Number.isNaN(at.getTime()) ? (this.#o.now?.() ?? new Date()) : at;
    const micro = when.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
    const body = this.#useCore
      ? {
          apiVersion: "v1",
          kind: "Event",
          metadata,
          involvedObject: regarding,
          reason,
          message: note,
          type,
          action: event.type,
          source: { component: REPORTING_CONTROLLER },
          reportingComponent: REPORTING_CONTROLLER,
          reportingInstance: this.#o.instance,
          firstTimestamp: when.toISOString().replace(/\.\d{3}Z$/, "Z"),
          lastTimestamp: when.toISOString().replace(/\.\d{3}Z$/, "Z"),
          count: 1,
        }
      : {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata,
          eventTime: micro,
          reportingController: REPORTING_CONTROLLER,
          reportingInstance: this.#o.instance,
          action: event.type,
          reason,
          note,
          type,
          regarding,
        };
    const path = this.#useCore ? EVENT_PATHS.coreV1(ns) : EVENT_PATHS.eventsV1(ns);
    try {
      await this.#o.api.request({ method: "POST", path, body, resource: { kind: "Event", name, namespace: ns } });
    } catch (error) {
      if (hasHttpStatus(error, 409)) return;
      if (hasHttpStatus(error, 404) && !this.#useCore) {
        this.#useCore = true;
        return this.#post(event, target);
      }
      throw error;
    }
  }
}

const labelValue = (value: string) =>
  value
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
