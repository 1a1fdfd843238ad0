/**
 * The release engine: the effects at the edge of `plan()`, composed from one module per job. `apply` starts a
 * release (start.ts: Lease, served state, ConfigMaps, record) and runs it (run.ts: hooks, template writes, previews,
 * code as data, approvals, promotion of all components together; on any failure run-end.ts and abort.ts put every
 * component back); `approve`/`promote` and `abort` record a decision any process can give (approvals.ts);
 * `rollback` undoes a promoted release; `recover` resumes or rolls back a release whose engine died (recover.ts).
 * Every step is reported as a ReleaseEvent and written to the release record in the cluster.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { DeployPayload } from "@rollway/payload-schema";
import type { RolloutClient } from "@rollway/rollout-client";
import { approve, requestAbort } from "./approvals.js";
import { type Clock, realClock } from "./clock.js";
import { type ClusterState, readClusterState } from "./cluster-state.js";
import type { ApplyOptions, DecisionOptions, EngineContext, RecoverOptions } from "./engine-context.js";
import type { Environment } from "./environment.js";
import { type ComponentStatus, type EnvironmentStatus, readEnvironmentStatus } from "./environment-status.js";
import { ReleaseError } from "./errors.js";
import type { ApprovalGate } from "./events.js";
import { plan, type ReleasePlan } from "./plan.js";
import { getRecord, listRecords, type PromotionEvent, type ReleaseRecord, watchPromotions } from "./records.js";
import { recoverReleases } from "./recover.js";
import { reversePlan } from "./rollback.js";
import { startRelease } from "./start.js";
import { templateWriter } from "./template-writes.js";

export { scaleToZeroPatch } from "./component-update.js";
export type { ApplyOptions, DecisionOptions, RecoverOptions } from "./engine-context.js";
export { reversePlan } from "./rollback.js";
export { templatePatch } from "./template-writes.js";

export interface ReleaseEngineOptions {
  /** The engine's one connection: its operations, and `client.connection` for records, the Lease, Jobs. */
  client: RolloutClient;
  clock?: Clock;
  /** This engine's name as Lease holder. Default `<hostname>-<pid>-<random>`. */
  identity?: string;
  /** How long a Lease outlives an engine that stopped renewing it. Default 30 s. */
  leaseDurationSeconds?: number;
  /** oConfig ConfigMaps of this many recent releases are kept (and any a live ReplicaSet mounts). Default 5. */
  keepReleases?: number;
}

export interface ReleaseEngine {
  readonly identity: string;
  readClusterState(environment: Environment, options?: { signal?: AbortSignal }): Promise<ClusterState>;
  /** Reads the cluster and computes the plan (a dry run when not applied). */
  plan(payload: DeployPayload, environment: Environment): Promise<ReleasePlan>;
  apply(plan: ReleasePlan, options?: ApplyOptions): Promise<ReleaseRecord>;
  /** Records an approval (`promotion` by default) on a waiting release; the engine running it continues. */
  approve(release: string, options: DecisionOptions & { gate?: ApprovalGate }): Promise<ReleaseRecord>;
  /** `approve` for the promotion gate. */
  promote(release: string, options: DecisionOptions): Promise<ReleaseRecord>;
  /** Asks the engine running the release to abort it; every component goes back to stable. */
  abort(release: string, options: DecisionOptions): Promise<ReleaseRecord>;
  /** Every component of a promoted release back to the images and configs it replaced. */
  /**
   * Puts back what users were served before a promoted release (its whole templates, config included). Only the
   * newest promoted release, unless `undoing` names every newer promoted release it also undoes. A failed release
   * whose abort could not finish (`leftover`) is finished this way too.
   */
  rollback(
    release: string,
    options?: ApplyOptions & { namespace?: string; by?: string; undoing?: string[] },
  ): Promise<ReleaseRecord>;
  /** Resumes or rolls back the releases of an environment whose engine stopped renewing the Lease. */
  recover(environment: string, options?: RecoverOptions): Promise<ReleaseRecord[]>;
  get(release: string, namespace?: string): Promise<ReleaseRecord>;
  history(environment: string, namespace?: string): Promise<ReleaseRecord[]>;
  /** Every component's workload status (frontend first, then the backends) and the environment's latest release. */
  status(environment: Environment): Promise<EnvironmentStatus>;
  /**
   * The environment's newest promoted release (`current`), then every release promoted from now on, until the
   * signal aborts: what running frontends need for seed 000's `onUpgradeDone`.
   */
  promotions(environment: Environment, options: { signal: AbortSignal }): AsyncIterable<PromotionEvent>;
}

export type { ComponentStatus, EnvironmentStatus };

const DEFAULT_LEASE_SECONDS = 30;

export function createReleaseEngine(options: ReleaseEngineOptions): ReleaseEngine {
  const { client } = options;
  const api = client.connection;
  const clock = options.clock ?? realClock;
  const ctx: EngineContext = {
    client,
    api,
    clock,
    // Host, process and start time: an engine is never mistaken for another one, even in the same process.
    identity:
      options.identity ??
      `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")} (started ${new Date(clock.now()).toISOString()})`,
    leaseSeconds: options.leaseDurationSeconds ?? DEFAULT_LEASE_SECONDS,
    keepReleases: options.keepReleases ?? 5,
    active: new Set<string>(),
    writer: templateWriter(client),
    iso: () => new Date(clock.now()).toISOString(),
  };
  const { identity } = ctx;

  return {
    identity,
    readClusterState: async (environment, o = {}) => {
      const last = (await listRecords(api, environment.namespace, environment.name)).find(
        (x) => x.state === "promoted",
      );
      return readClusterState(client, api, environment, {
        currentOConfig: last?.oConfigCurrent ?? {},
        ...(o.signal ? { signal: o.signal } : {}),
      });
    },
    async plan(payload, environment) {
      return plan(payload, environment, await this.readClusterState(environment));
    },
    apply: (p, o = {}) => startRelease(ctx, p, o),
    approve: (release, o) => approve(ctx, release, o),
    promote(release, o) {
      return this.approve(release, { ...o, gate: "promotion" });
    },
    abort: (release, o) => requestAbort(ctx, release, o),
    async rollback(release, o = {}) {
      const ns = o.namespace ?? client.namespace;
      const record = await getRecord(api, ns, release);
      const unfinishedAbort = record.state === "failed" && (record.leftover?.length ?? 0) > 0;
      if (record.state !== "promoted" && !unfinishedAbort)
        throw new ReleaseError(
          "INVALID_STATE",
          `release "${release}" is ${record.state}; only a promoted release can be rolled back (an unfinished one is aborted instead)`,
          { release },
        );
      if (record.state === "promoted") {
        // Rolling back an older release would silently override the newer ones: they must be named.
        const newer = (await listRecords(api, ns, record.environment)).filter(
          (x) => x.state === "promoted" && x.id !== release && (x.finishedAt ?? "") > (record.finishedAt ?? ""),
        );
        const undo = o.undoing ?? [];
        const missing = newer.filter((x) => !undo.includes(x.id));
        if (missing.length > 0)
          throw new ReleaseError(
            "NOT_NEWEST",
            `release "${release}" is not the newest promoted release of "${record.environment}": rolling it back also undoes ${newer.map((x) => x.id).join(", ")}; roll back ${newer[0]?.id} instead, or name every release it undoes to go further back`,
            { release, environment: record.environment },
          );
      }
      return startRelease(ctx, reversePlan(record), o, {
        rollbackOf: release,
        ...(o.undoing?.length ? { undoes: o.undoing } : {}),
      });
    },
    recover: (environment, o) => recoverReleases(ctx, environment, o),
    get: (release, namespace) => getRecord(api, namespace ?? client.namespace, release),
    history: (environment, namespace) => listRecords(api, namespace ?? client.namespace, environment),
    status: (environment) => readEnvironmentStatus(client, api, environment),
    promotions: (environment, { signal }) => watchPromotions(api, environment.namespace, environment.name, signal),
  };
}
