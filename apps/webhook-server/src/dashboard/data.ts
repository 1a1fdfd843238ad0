/**
 * Every read and decision of the dashboard, in one place: the only file that calls the release engine and the
 * server's release state. When the release lifecycle moves (into @rollway/release), this is the file to adapt.
 */
import type { Environment, EnvironmentStatus, ReleaseRecord } from "@rollway/release";
import type { EventLog } from "../cluster-state.js";
import { isTerminal } from "../releases.js";
import type { ReleaseRoutesDeps } from "../routes/index.js";

export type Decision = "promote" | "abort" | "rollback" | "approve-code-as-data";
export const DECISION_LABELS: Record<Decision, string> = {
  promote: "Promote",
  abort: "Abort",
  rollback: "Roll back",
  "approve-code-as-data": "Approve code as data",
};
export const isDecision = (value: string): value is Decision => Object.hasOwn(DECISION_LABELS, value);
export { isTerminal };

export interface Place {
  project: string;
  environment: string;
  name: string;
  namespace: string;
}

export class DashboardData {
  constructor(readonly deps: ReleaseRoutesDeps) {}

  places(): Place[] {
    return this.deps.environments.list();
  }

  resolve(project: string, environment: string): Promise<Environment | undefined> {
    return this.deps.environments.resolve(project, environment);
  }

  /** From the informer cache when it can answer (no request to the API server), else from the cluster. */
  async status(env: Environment): Promise<EnvironmentStatus> {
    return this.deps.cache?.(env.namespace).status(env) ?? (await this.deps.releases.engine.status(env));
  }

  /** Newest first: from the watch cache when it is in sync, else from the cluster. */
  async history(env: Environment): Promise<ReleaseRecord[]> {
    const cached = this.deps.cache?.(env.namespace).records(env.name);
    return cached ?? (await this.deps.releases.engine.history(env.name, env.namespace));
  }

  /** The release, when it belongs to this environment. */
  async release(env: Environment, id: string): Promise<ReleaseRecord | undefined> {
    try {
      const record = await this.deps.releases.engine.get(id, env.namespace);
      return record.environment === env.name ? record : undefined;
    } catch (error) {
      if ((error as { code?: string }).code === "NOT_FOUND") return undefined;
      throw error;
    }
  }

  events(namespace: string, id: string): Promise<EventLog | undefined> {
    return this.deps.state.readEvents(namespace, id);
  }

  watchEvents(namespace: string, id: string, from: string | undefined, signal: AbortSignal): AsyncIterable<EventLog> {
    return this.deps.state.watchEvents(namespace, id, from, signal);
  }

  /** Sends a decision as the API's decision route does; resolves with the release to show (a rollback's new one). */
  async decide(
    env: Environment,
    record: ReleaseRecord,
    decision: Decision,
    by: string,
  ): Promise<{ release: string; state: string }> {
    const engine = this.deps.releases.engine;
    const namespace = env.namespace;
    if (decision === "rollback") {
      const id = await this.deps.releases.rollback(namespace, env.name, record.id, by);
      this.deps.cache?.(namespace).expect(id, "exists");
      return { release: id, state: "started" };
    }
    const after =
      decision === "promote"
        ? await engine.promote(record.id, { by, namespace })
        : decision === "abort"
          ? await engine.abort(record.id, { by, namespace })
          : await engine.approve(record.id, { by, namespace, gate: "code-as-data" });
    this.deps.cache?.(namespace).expect(after.id, after);
    return { release: after.id, state: after.abortRequested && decision === "abort" ? "aborting" : after.state };
  }

  get stopping(): AbortSignal {
    return this.deps.stopping;
  }

  get streams(): { open: number } {
    return this.deps.streams;
  }
}

/** The decisions that make sense for a release now (the engine still has the last word). */
export function decisionsFor(record: ReleaseRecord, latestPromoted: string | undefined): Decision[] {
  if (record.state === "waiting-for-approval") {
    const cad = record.plan.codeAsData;
    const cadPending =
      cad?.updateMode === "manual" &&
      !record.approvals.some((a) => a.gate === "code-as-data") &&
      !record.abortRequested;
    return record.abortRequested ? [] : cadPending ? ["approve-code-as-data", "abort"] : ["promote", "abort"];
  }
  if (record.state === "applying" || record.state === "promoting") return record.abortRequested ? [] : ["abort"];
  if (record.state === "promoted" && record.id === latestPromoted) return ["rollback"];
  return [];
}
