/**
 * The release engine: the effects at the edge of `plan()`. `apply` runs a plan (hooks, ConfigMaps, every pod
 * template in one write each, every preview ready, code as data, promotion of all components together, and on any
 * failure every component aborted back to stable); `approve`/`promote` and `abort` record a decision any process
 * can give; `rollback` undoes a promoted release; `recover` resumes or rolls back a release whose engine died.
 * Every step is reported as a ReleaseEvent and written to the release record in the cluster.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import type { DeployPayload } from "@rollway/payload-schema";
import {
  isHealthy,
  isPaused,
  type RolloutClient,
  RolloutClientError,
  type RolloutClientErrorCode,
  type Target,
  type WorkloadStatus,
} from "@rollway/rollout-client";
import { type Clock, realClock, timeoutSignal } from "./clock.js";
import { type ClusterState, type PodTemplate, readClusterState, type WorkloadObject } from "./cluster-state.js";
import { type Environment, type JobTemplate, listComponents } from "./environment.js";
import { ReleaseError, type ReleaseErrorCode } from "./errors.js";
import type { ApprovalGate, OnReleaseEvent, ReleaseEvent, ReleaseEventType } from "./events.js";
import { collectReleaseConfigMaps } from "./gc.js";
import { runReleaseJob } from "./jobs.js";
import { isStatus, type KubeApi, paths } from "./kube-api.js";
import { type LifecycleEvent, transition } from "./lifecycle.js";
import { acquireLease, type HeldLease, leaseHolder } from "./lock.js";
import { type ComponentPlan, changedComponents, plan, type ReleasePlan } from "./plan.js";
import {
  createRecord,
  getRecord,
  listRecords,
  type PromotionEvent,
  type ReleaseRecord,
  TERMINAL_STATES,
  updateRecord,
  waitForRecord,
  watchPromotions,
} from "./records.js";
import { reversePlan } from "./rollback.js";
import { imagesOf, listReplicaSetsOnce, readServed, templateKey } from "./served.js";
import { type StuckReport, watchStuckPods, workloadStuckReason } from "./stuck.js";
import { templateWriter } from "./template-writes.js";

export { reversePlan } from "./rollback.js";
export { templatePatch } from "./template-writes.js";
/** Stops every pod of a recreate Deployment before its migration Job runs (seed 001). */
export const scaleToZeroPatch = { spec: { replicas: 0 } };

export interface ReleaseEngineOptions {
  client: RolloutClient;
  api: KubeApi;
  clock?: Clock;
  /** This engine's name as Lease holder. Default `<hostname>-<pid>-<random>`. */
  identity?: string;
  /** How long a Lease outlives an engine that stopped renewing it. Default 30 s. */
  leaseDurationSeconds?: number;
  /** oConfig ConfigMaps of this many recent releases are kept (and any a live ReplicaSet mounts). Default 5. */
  keepReleases?: number;
}

export interface ApplyOptions {
  signal?: AbortSignal;
  onEvent?: OnReleaseEvent;
  /** Wait for a running release of the environment to finish instead of refusing with LOCKED. */
  waitForLock?: boolean;
  /**
   * Time limit of the release once it holds the Lease (engine clock): then it is rolled back, recorded as timed
   * out, and fails with TIMEOUT.
   */
  timeoutSeconds?: number;
}

export interface DecisionOptions {
  by: string;
  /** Default: the client's namespace. */
  namespace?: string;
}

export interface RecoverOptions {
  signal?: AbortSignal;
  onEvent?: OnReleaseEvent;
  /** Finish interrupted releases (default) or roll them back to stable. */
  policy?: "resume" | "rollback";
  namespace?: string;
  /** Wait for a Lease still held to be let go or to expire (its engine died) instead of skipping the release. */
  wait?: boolean;
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

/** What `status` reads: the same for the CLI, the server and the Action. */
export interface EnvironmentStatus {
  environment: string;
  namespace: string;
  /** The newest release of the environment, if any. */
  release: ReleaseRecord | undefined;
  components: ComponentStatus[];
}

export type ComponentStatus = WorkloadStatus & { component: string };

interface Running {
  record: ReleaseRecord;
  emit: (type: ReleaseEventType, message: string, extra?: Partial<ReleaseEvent>) => void;
  signal: AbortSignal;
  targets: Map<string, Target>;
  /** Components whose pod template this run wrote (they are the ones an abort restores). */
  touched: Set<string>;
  /** Reports a stuck component once per component and reason (`component-stuck`). */
  stuck: (report: StuckReport) => void;
}

/** The cluster's codes that a release met mid-run keeps at the top (NOT_FOUND and TIMEOUT mean other things here). */
const CLUSTER_CODES: ReadonlySet<string> = new Set<(RolloutClientErrorCode & ReleaseErrorCode) | "CLUSTER">([
  "FORBIDDEN",
  "CONFLICT",
  "ALREADY_EXISTS",
  "GONE",
  "INVALID",
  "UNAVAILABLE",
  "CLUSTER",
]);
const isClusterCode = (code: string): code is ReleaseErrorCode => CLUSTER_CODES.has(code);
/** The codes a run ends with once its components are back (or left as its record says). */
const RUN_END_CODES: ReadonlySet<string> = new Set(["FAILED", "ABORTED", "TIMEOUT", ...CLUSTER_CODES]);

const DEFAULT_LEASE_SECONDS = 30;
const MIN_ABORT_SECONDS = 60;

export function createReleaseEngine(options: ReleaseEngineOptions): ReleaseEngine {
  const { client } = options;
  const clock = options.clock ?? realClock;
  const api = options.api;
  // Host, process and start time: an engine is never mistaken for another one, even in the same process.
  const identity =
    options.identity ??
    `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")} (started ${new Date(clock.now()).toISOString()})`;
  const leaseSeconds = options.leaseDurationSeconds ?? DEFAULT_LEASE_SECONDS;
  const keepReleases = options.keepReleases ?? 5;
  const iso = () => new Date(clock.now()).toISOString();
  /** Releases this engine runs now: never taken over by this engine's own recovery (no twin engines). */
  const active = new Set<string>();

  const newId = (p: ReleasePlan) => {
    const t = new Date(clock.now()).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    return `${p.environment}-${t}-${randomBytes(2).toString("hex")}`.toLowerCase();
  };

  const update = (r: ReleaseRecord, change: (r: ReleaseRecord) => ReleaseRecord) =>
    updateRecord(api, r.namespace, r.id, change, iso);
  /** The only way a record's state changes: through the lifecycle table (lifecycle.ts). */
  const step = async (run: Running, event: LifecycleEvent, patch: Partial<ReleaseRecord> = {}) => {
    run.record = await update(run.record, (r) => ({ ...r, ...patch, state: transition(r.state, event, r.id).next }));
  };

  async function target(run: Running, c: ComponentPlan): Promise<Target> {
    let t = run.targets.get(c.name);
    if (!t) {
      t = await client.target(c.target.name, run.record.namespace);
      run.targets.set(c.name, t);
    }
    return t;
  }

  const writer = templateWriter(client);

  const isReadyFor = (c: ComponentPlan, image: string) => (s: WorkloadStatus) => {
    const stable = (s.stableImages ?? (s.kind === "Deployment" ? s.images : [])).some(
      (i) => i.container === c.container && i.image === image,
    );
    if (isHealthy(s) && stable) return true;
    return (
      c.target.kind !== "Deployment" &&
      isPaused(s) &&
      s.images.some((i) => i.container === c.container && i.image === image)
    );
  };
  const failed = (s: WorkloadStatus) => s.phase === "Degraded" || s.phase === "Aborted";

  /** Waits for a component's status to satisfy `ready`; a Degraded/Aborted status or the timeout fails the release. */
  async function waitComponent(
    run: Running,
    c: ComponentPlan,
    ready: (s: WorkloadStatus) => boolean,
    timeoutSeconds: number,
    what: string,
    signal = run.signal,
  ): Promise<WorkloadStatus> {
    const t = await target(run, c);
    const timeout = timeoutSignal(
      clock,
      timeoutSeconds * 1000,
      signal,
      () =>
        new ReleaseError("FAILED", `${c.name}: ${what} not reached within ${timeoutSeconds} s`, {
          component: c.name,
          release: run.record.id,
        }),
    );
    try {
      const status = await client.waitFor(t, (s) => ready(s) || failed(s), { signal: timeout.signal });
      if (!ready(status)) {
        const reason = workloadStuckReason(status);
        if (reason)
          run.stuck({
            component: c.name,
            reason,
            message: `${c.name}: ${t.kind} "${t.name}" is not getting ready: ${status.message || reason}`,
          });
        throw new ReleaseError(
          "FAILED",
          `${c.name}: ${t.kind} "${t.name}" is ${status.phase}${status.message ? `: ${status.message}` : ""}`,
          { component: c.name, release: run.record.id, resource: `${t.kind} "${t.name}"` },
        );
      }
      return status;
    } catch (error) {
      if (timeout.signal.aborted) throw timeout.signal.reason;
      throw error;
    } finally {
      timeout.cancel();
    }
  }

  const runJob = (run: Running, name: string, template: JobTemplate, timeoutSeconds: number) =>
    runReleaseJob(
      { api, clock, release: run.record.id, namespace: run.record.namespace, signal: run.signal },
      name,
      template,
      timeoutSeconds,
    );

  async function waitApproval(run: Running, gate: ApprovalGate): Promise<void> {
    const existing = run.record.approvals.find((a) => a.gate === gate);
    if (existing) return;
    const previewUrl = `https://${run.record.plan.previewHost}/`;
    run.emit(
      "waiting-for-approval",
      `waiting for approval of ${gate}: test at ${previewUrl}, then run \`rollway ${gate === "promotion" ? "promote" : "approve --gate code-as-data"} ${run.record.id}\``,
      { gate, previewUrl },
    );
    const seconds = run.record.plan.promotion.approvalTimeoutSeconds;
    const timeout = timeoutSignal(
      clock,
      seconds === undefined ? undefined : seconds * 1000,
      run.signal,
      () => new ReleaseError("FAILED", `nobody approved ${gate} within ${seconds} s`, { release: run.record.id }),
    );
    try {
      const record = await waitForRecord(
        api,
        run.record.namespace,
        run.record.id,
        (r) => r.approvals.some((a) => a.gate === gate),
        timeout.signal,
      );
      run.record = record;
      const approval = record.approvals.find((a) => a.gate === gate);
      run.emit("approved", `${gate} approved by ${approval?.by}`, { gate });
    } catch (error) {
      if (timeout.signal.aborted) throw timeout.signal.reason;
      throw error;
    } finally {
      timeout.cancel();
    }
  }

  async function promoteAll(run: Running): Promise<void> {
    const p = run.record.plan;
    const changed = changedComponents(p);
    await Promise.all(
      changed.map(async (c) => {
        const t = await target(run, c);
        if (t.kind === "Deployment") return; // a Deployment rolled out already: nothing to promote
        const status = await client.status(t);
        const promoted =
          isHealthy(status) &&
          (status.stableImages ?? []).some((i) => i.container === c.container && i.image === c.image.to);
        if (!promoted) await client.promote(t, { full: c.strategy === "canary" });
      }),
    );
    await Promise.all(
      changed.map(async (c) => {
        await waitComponent(
          run,
          c,
          (s) =>
            isHealthy(s) &&
            (s.stableImages ?? s.images).some((i) => i.container === c.container && i.image === c.image.to),
          p.promotion.readyTimeoutSeconds,
          "promotion",
        );
        run.emit("component-promoted", `${c.name}: ${c.image.to} now serves users`, { component: c.name });
      }),
    );
  }

  /**
   * Every touched component back to exactly what it served before the release (its whole template, config volume
   * included), promoted back at once: an abort never leaves a preview that waits. Components whose writes keep
   * failing, or that do not get back within the ready timeout, are returned: the release then ends `failed`
   * naming them.
   */
  async function abortAll(run: Running, components: ComponentPlan[]): Promise<{ component: string; why: string }[]> {
    const p = run.record.plan;
    // A fresh deadline (the run's own signal may be the reason we are aborting), generous: going back is the one
    // thing that must not give up early, yet it ends, so that a release never stays `aborting`.
    const abortSeconds = Math.max(p.promotion.readyTimeoutSeconds, MIN_ABORT_SECONDS);
    const deadline = timeoutSignal(
      clock,
      abortSeconds * 1000,
      undefined,
      () =>
        new ReleaseError("FAILED", `the components did not return to stable within ${abortSeconds} s`, {
          release: run.record.id,
        }),
    );
    const left: { component: string; why: string }[] = [];
    try {
      await Promise.all(
        components.map(async (c) => {
          try {
            await abortComponent(run, c, deadline.signal);
          } catch (error) {
            left.push({ component: c.name, why: (error as Error).message });
          }
        }),
      );
    } finally {
      deadline.cancel();
    }
    return left;
  }

  async function abortComponent(run: Running, c: ComponentPlan, deadline: AbortSignal): Promise<void> {
    const p = run.record.plan;
    const t = await target(run, c);
    const before = run.record.servedBefore?.[c.name];
    const oldImage = before ? imagesOf(before)[c.container] : c.image.from;
    const servingOld = (s: WorkloadStatus) =>
      (s.stableImages ?? (s.kind === "Deployment" ? s.images : [])).some(
        (i) => i.container === c.container && i.image === oldImage,
      );
    if (t.kind === "Canary") {
      const now = await client.status(t);
      if (servingOld(now) && (now.phase === "Aborted" || isHealthy(now))) {
        // The primary never changed (aborted in analysis) or already serves the old version again.
      } else if (now.stableImages?.some((i) => i.container === c.container && i.image === c.image.to)) {
        // Promoted already: the old template back on the target, which Flagger promotes (gates opened).
        if (before) await writer.put(t, before);
        else await writer.write(t, c, oldImage, undefined);
        await client.gate(t, "confirm-promotion", "open").catch(() => undefined);
        await waitComponent(
          run,
          c,
          (s) => isHealthy(s) && servingOld(s),
          Math.max(p.promotion.readyTimeoutSeconds, MIN_ABORT_SECONDS),
          "the stable version",
          deadline,
        );
      } else {
        // Flagger's own rollback: the rollback gate makes it fail the analysis and keep the primary (the stable
        // version) serving; the target keeps the failed spec at zero replicas until the next release, as in Flagger.
        await client.abort(t);
        await waitComponent(
          run,
          c,
          (s) => s.phase === "Aborted" && servingOld(s),
          Math.max(p.promotion.readyTimeoutSeconds, MIN_ABORT_SECONDS),
          "Flagger's rollback",
          deadline,
        );
      }
      await client.gate(t, "rollback", "close");
      run.emit("component-aborted", `${c.name}: rolled back by Flagger, the primary serves ${oldImage}`, {
        component: c.name,
      });
      return;
    }
    const replicas = run.record.scaledDown?.[c.name];
    const status = await client.status(t);
    // Promoted already (the stable version is the release's): the old template comes back as a new version that
    // is promoted in full at once, the new one serving until the old is ready.
    let promoted = false;
    if (t.kind === "Rollout") {
      const now = before ? await readServed(api, t, status) : undefined;
      promoted = before ? !now || templateKey(now.template) !== templateKey(before) : !servingOld(status);
    }
    if (t.kind === "Rollout" && !promoted) await client.abort(t);
    if (before) await writer.put(t, before, replicas);
    else {
      const config = c.config?.from.configMap
        ? { configMap: c.config.from.configMap, mountPath: c.config.mountPath }
        : undefined;
      await writer.write(t, c, oldImage, config, replicas);
    }
    if (t.kind === "Rollout") {
      if (promoted) await client.promote(t, { full: true });
      else await client.retry(t);
    }
    await waitComponent(
      run,
      c,
      (s) => isHealthy(s) && servingOld(s),
      Math.max(p.promotion.readyTimeoutSeconds, MIN_ABORT_SECONDS),
      "the stable version",
      deadline,
    );
    if (before) {
      // Config is part of what is served: the template users get now must be the one they had, byte for byte.
      const now = await readServed(api, t, await client.status(t));
      if (now && templateKey(now.template) !== templateKey(before))
        throw new ReleaseError("FAILED", `${c.name}: serves ${oldImage} again but not the template it had before`, {
          component: c.name,
          release: run.record.id,
        });
    }
    run.emit("component-aborted", `${c.name}: back on ${oldImage}`, { component: c.name });
  }

  const collectConfigMaps = (run: Running) =>
    collectReleaseConfigMaps(api, run.record.namespace, run.record.environment, keepReleases, (message) =>
      run.emit("configs-collected", message),
    );

  /** Runs (or resumes) a recorded release while holding the Lease. */
  async function run(
    record: ReleaseRecord,
    lease: HeldLease,
    options: ApplyOptions,
    resumed: boolean,
    configsCreated: string[] = [],
    targets = new Map<string, Target>(),
  ): Promise<ReleaseRecord> {
    const p = record.plan;
    active.add(record.id);
    const controller = new AbortController();
    // Every component's wait listens on the run's signal: 50 backends are 50 listeners, not a leak.
    setMaxListeners(0, controller.signal);
    // A caller's reason that is a ReleaseError (a TIMEOUT) is kept as the release's reason.
    const onCaller = () =>
      controller.abort(
        options.signal?.reason instanceof ReleaseError
          ? options.signal.reason
          : new ReleaseError("ABORTED", "the release was cancelled by its caller", { release: record.id }),
      );
    if (options.signal?.aborted) onCaller();
    options.signal?.addEventListener("abort", onCaller, { once: true });
    const limit =
      options.timeoutSeconds === undefined
        ? undefined
        : clock.setTimer(options.timeoutSeconds * 1000, () =>
            controller.abort(
              new ReleaseError("TIMEOUT", `timed out: the release did not finish within ${options.timeoutSeconds} s`, {
                release: record.id,
              }),
            ),
          );
    const emit: Running["emit"] = (type, message, extra = {}) =>
      options.onEvent?.({ type, release: record.id, environment: p.environment, at: iso(), message, ...extra });
    const stuckSeen = new Set<string>();
    const r: Running = {
      record,
      signal: controller.signal,
      targets,
      touched: new Set(),
      emit,
      stuck: ({ component, reason, message }) => {
        const key = `${component}\u0000${reason}`;
        if (stuckSeen.has(key)) return;
        stuckSeen.add(key);
        emit("component-stuck", message, { component, reason });
      },
    };
    // Any process can ask for an abort by writing the record: watch for it for the whole run.
    const watchAbort = new AbortController();
    void waitForRecord(
      api,
      p.namespace,
      record.id,
      (x) => x.abortRequested !== undefined,
      AbortSignal.any([watchAbort.signal, controller.signal]),
    )
      .then((x) =>
        controller.abort(new ReleaseError("ABORTED", `aborted by ${x.abortRequested?.by}`, { release: record.id })),
      )
      .catch(() => undefined);
    const changed = changedComponents(p);
    // Why a new version does not get ready (a crash loop, an image that cannot be pulled), while the run lasts.
    void watchStuckPods(api, p.namespace, changed, r.stuck, watchAbort.signal);
    try {
      if (resumed) r.emit("resumed", `resuming release ${record.id} (was ${record.state}) after its engine stopped`);
      else r.emit("started", `release ${record.id} to ${p.environment}: ${changed.length} component(s) change`);
      for (const name of configsCreated) r.emit("config-created", `ConfigMap ${name} created`);
      if (record.state === "aborting" || record.abortRequested)
        throw new ReleaseError(
          "ABORTED",
          `abort was requested${record.abortRequested ? ` by ${record.abortRequested.by}` : ""}`,
          { release: record.id },
        );
      if (record.state === "applying" || record.state === "waiting-for-approval") {
        if (!resumed) {
          for (const hook of p.hooks.preRelease) {
            r.emit("hook-started", `pre-release Job ${hook.name} started`);
            await runJob(r, hook.name, hook.job, hook.timeoutSeconds);
            r.emit("hook-done", `pre-release Job ${hook.name} completed`);
          }
        }
        await Promise.all(
          changed.map(async (c) => {
            const config = c.config ? { configMap: c.config.to.configMap, mountPath: c.config.mountPath } : undefined;
            const migrations = p.hooks.migration.filter((m) => m.for === c.name);
            let replicas: number | undefined;
            if (migrations.length > 0) {
              replicas = r.record.scaledDown?.[c.name];
              if (replicas === undefined) {
                const object = await api.request<WorkloadObject>({
                  method: "GET",
                  path: paths.workload(p.namespace, c.workload.kind, c.workload.name),
                  what: c.workload.name,
                });
                replicas = object.spec.replicas ?? 1;
                const keep = replicas;
                r.record = await update(r.record, (x) => ({
                  ...x,
                  scaledDown: { ...(x.scaledDown ?? {}), [c.name]: keep },
                }));
              }
              r.touched.add(c.name);
              await api.request({
                method: "PATCH",
                path: paths.workload(p.namespace, c.workload.kind, c.workload.name),
                body: scaleToZeroPatch,
                what: c.workload.name,
              });
              await waitComponent(
                r,
                c,
                (s) => s.readyReplicas === 0,
                p.promotion.readyTimeoutSeconds,
                "stopping the old pods",
              );
              for (const m of migrations) {
                r.emit("hook-started", `migration Job ${m.name} for ${c.name} started`, { component: c.name });
                await runJob(r, m.name, m.job, m.timeoutSeconds);
                r.emit("hook-done", `migration Job ${m.name} for ${c.name} completed`, { component: c.name });
              }
            }
            r.touched.add(c.name);
            const t = await target(r, c);
            if (c.restore) await writer.put(t, c.restore, replicas);
            else await writer.write(t, c, c.image.to, config, replicas);
            r.emit(
              "component-updated",
              `${c.name}: ${c.image.from ?? "(none)"} → ${c.image.to}${c.config?.changed ? `, oConfig ${c.config.to.version}` : ""}`,
              { component: c.name },
            );
          }),
        );
        await Promise.all(
          changed.map(async (c) => {
            await waitComponent(r, c, isReadyFor(c, c.image.to), p.promotion.readyTimeoutSeconds, "preview ready");
            const previewUrl = c.target.kind === "Deployment" ? undefined : `https://${p.previewHost}/`;
            r.emit(
              "preview-ready",
              `${c.name}: ${c.image.to} ready${previewUrl ? ` in preview at ${previewUrl}` : " (rolled out)"}`,
              { component: c.name, ...(previewUrl ? { previewUrl } : {}) },
            );
          }),
        );
        r.emit("previews-ready", `every preview is ready at https://${p.previewHost}/`, {
          previewUrl: `https://${p.previewHost}/`,
        });
        if (p.codeAsData) {
          if (p.codeAsData.updateMode === "manual") await waitApproval(r, "code-as-data");
          r.emit(
            "code-as-data-started",
            `code as data: Job from ${p.codeAsData.image}${p.codeAsData.args.length ? ` ${p.codeAsData.args.join(" ")}` : ""}`,
          );
          await runJob(r, "code-as-data", p.codeAsData.job, p.codeAsData.timeoutSeconds);
          r.emit("code-as-data-done", "code as data deployed");
        }
        if (p.promotion.mode === "manual") {
          if (r.record.state !== "waiting-for-approval") await step(r, "previews-ready");
          await waitApproval(r, "promotion");
        }
        // Only the holder of the Lease may promote: an engine that stalled past it has been replaced.
        if (!(await lease.stillHeld())) {
          throw new ReleaseError(
            "LOCKED",
            `release ${record.id} lost the Lease of environment "${p.environment}" (this engine stopped renewing it in time); the engine that took it over resumes or rolls back the release`,
            { release: record.id, environment: p.environment },
          );
        }
        await step(r, "approved");
      }
      r.emit("promoting", `promoting ${changed.length} component(s) together`);
      await promoteAll(r);
      const oConfigCurrent: Record<string, string> = {};
      for (const c of p.components) if (c.config) oConfigCurrent[c.name] = c.config.to.version;
      await step(r, "all-healthy-new", { finishedAt: iso(), oConfigCurrent });
      if (r.record.rollbackOf) {
        // The release rolled back and every newer one it was told to undo: none of them serves any more.
        for (const of of [r.record.rollbackOf, ...(r.record.undoes ?? [])]) {
          await update(await getRecord(api, p.namespace, of), (x) => ({
            ...x,
            state: transition(x.state, "rolled-back", x.id).next,
            message: `rolled back by ${r.record.id}`,
          }));
        }
      }
      r.emit(
        "upgrade-done",
        `release ${record.id} promoted: ${changed.map((c) => c.name).join(", ") || "nothing changed"}`,
      );
      // The release is done: failing to tidy up old ConfigMaps must not turn it into a failure, but is reported.
      await collectConfigMaps(r).catch((error: Error) =>
        r.emit("warning", `old oConfig ConfigMaps were not collected: ${error.message}`),
      );
      return r.record;
    } catch (error) {
      // Another engine owns the release now: touching the components would fight it.
      if (error instanceof ReleaseError && error.code === "LOCKED") throw error;
      // Promoted is final: a later step failing (recording the release it rolls back) must not undo it.
      if (TERMINAL_STATES.includes(r.record.state)) throw error;
      // A cluster error keeps the cluster's code (FORBIDDEN, UNAVAILABLE…) as the release's code, never FAILED.
      const reason =
        error instanceof ReleaseError
          ? error
          : new ReleaseError(
              error instanceof RolloutClientError && isClusterCode(error.code) ? error.code : "FAILED",
              (error as Error).message,
              { release: record.id, cause: error },
            );
      const aborted = reason.code === "ABORTED";
      const timedOut = reason.code === "TIMEOUT";
      // An engine that lost the Lease must not touch the components: another release may run on them now.
      if (!(await lease.stillHeld().catch(() => true)))
        throw new ReleaseError(
          "LOCKED",
          `release ${record.id} lost the Lease of environment "${p.environment}" while aborting (${reason.message}); the engine that took it over finishes it`,
          { release: record.id, environment: p.environment, cause: error },
        );
      r.emit("aborting", `aborting: ${reason.message}; every component goes back to what it served before`);
      try {
        if (r.record.state !== "aborting")
          await step(r, aborted ? "abort-requested" : timedOut ? "timed-out" : "fault", { message: reason.message });
      } catch {
        // Recording is best effort here: restoring the components matters more.
      }
      const left = await abortAll(r, resumed ? changed : changed.filter((c) => r.touched.has(c.name)));
      if (left.length > 0) {
        const names = left.map((x) => x.component);
        const message = `${reason.message}; the abort could not bring back ${left.map((x) => `${x.component} (${x.why})`).join(", ")}: once the cluster accepts the writes, run \`rollway rollback ${record.id}\` to put ${names.join(", ")} back`;
        await step(r, "write-refused", { finishedAt: iso(), message, leftover: names }).catch(() => undefined);
        r.emit("failed", `release ${record.id} failed: ${message}`, { code: "FAILED" });
        throw new ReleaseError("FAILED", `release ${record.id} failed and is not fully rolled back: ${message}`, {
          release: record.id,
          environment: p.environment,
          component: names[0] as string,
          cause: error,
        });
      }
      const end = aborted ? "aborted" : "failed";
      const code: ReleaseErrorCode = aborted
        ? "ABORTED"
        : timedOut
          ? "TIMEOUT"
          : isClusterCode(reason.code)
            ? reason.code
            : "FAILED";
      await step(r, aborted ? "restored-after-abort" : "restored-after-failure", {
        finishedAt: iso(),
        message: reason.message,
      });
      r.emit(end, `release ${record.id} ${end}: ${reason.message}; every component is on its previous version`, {
        code,
      });
      throw new ReleaseError(
        code,
        `release ${record.id} ${timedOut ? "timed out" : end} and was rolled back: ${reason.message}`,
        {
          release: record.id,
          environment: p.environment,
          ...(reason.component ? { component: reason.component } : {}),
          cause: error,
        },
      );
    } finally {
      limit?.cancel();
      active.delete(record.id);
      watchAbort.abort();
      options.signal?.removeEventListener("abort", onCaller);
      await lease.release().catch(() => undefined);
    }
  }

  async function start(
    planned: ReleasePlan,
    options: ApplyOptions,
    extra: Partial<ReleaseRecord> = {},
  ): Promise<ReleaseRecord> {
    let p = planned;
    const id = newId(p);
    const lease = await acquireLease({
      api,
      clock,
      namespace: p.namespace,
      environment: p.environment,
      holder: identity,
      release: id,
      durationSeconds: leaseSeconds,
      wait: options.waitForLock ?? false,
      signal: options.signal ?? new AbortController().signal,
      onWaiting: (holder, running) =>
        options.onEvent?.({
          type: "waiting-for-lock",
          release: id,
          environment: p.environment,
          at: iso(),
          message: `waiting for ${running ? `release ${running}` : `engine ${holder}`} to finish`,
        }),
    });
    if (lease.takenOverFrom?.release) {
      // The previous engine died mid-release: the new release supersedes it, so that one goes back to stable first.
      await lease.release();
      await recover(p.environment, { ...options, namespace: p.namespace, policy: "rollback" });
      return start(p, options, extra);
    }
    // "from" is what serves users, read now that no other release can change it; a component serving two
    // versions (a preview, a rolling update) refuses the release before anything changes.
    let servedBefore: Record<string, PodTemplate>;
    let current: ReleasePlan;
    let configsCreated: string[] = [];
    const targets = new Map<string, Target>();
    try {
      ({ servedBefore, plan: current } = await readServedBefore(p, targets));
    } catch (error) {
      await lease.release().catch(() => undefined);
      throw error;
    }
    p = current;
    // The oConfig ConfigMaps exist before the record does: the record holds their names (content hashes) but not
    // their values (plan() keeps `data` out of JSON), so an engine resuming the release finds them in the cluster.
    try {
      configsCreated = await createConfigMaps(p);
    } catch (error) {
      await lease.release().catch(() => undefined);
      throw error;
    }
    const record: ReleaseRecord = {
      id,
      environment: p.environment,
      namespace: p.namespace,
      payloadDigest: p.payloadDigest,
      state: "applying",
      plan: p,
      approvals: [],
      engine: identity,
      startedAt: iso(),
      updatedAt: iso(),
      servedBefore,
      ...extra,
    };
    try {
      await createRecord(api, record);
    } catch (error) {
      await lease.release();
      throw error;
    }
    return run(record, lease, options, false, configsCreated, targets);
  }

  /** Creates the plan's oConfig ConfigMaps (AlreadyExists is fine); returns the names it created. */
  async function createConfigMaps(p: ReleasePlan): Promise<string[]> {
    const created: string[] = [];
    await Promise.all(
      p.configMaps.map(async (cm) => {
        if (cm.data === undefined) return; // a plan read back from JSON: the ConfigMap was created by its first run
        await api
          .request({
            method: "POST",
            path: paths.configMaps(p.namespace),
            body: { ...cm, data: cm.data },
            what: `ConfigMap "${cm.metadata.name}"`,
          })
          .then(
            () => created.push(cm.metadata.name),
            (error) => {
              if (!isStatus(error, 409)) throw error;
            },
          );
      }),
    );
    return created;
  }

  /**
   * Reads what each component the plan changes serves now (served.ts): the plan's `from` becomes exactly that,
   * and the templates are what an abort puts back. Refuses with NOT_STABLE, naming the components, when one serves
   * more than one version.
   */
  async function readServedBefore(
    p: ReleasePlan,
    targets: Map<string, Target>,
  ): Promise<{ servedBefore: Record<string, PodTemplate>; plan: ReleasePlan }> {
    const replicaSets = listReplicaSetsOnce(api, p.namespace);
    const servedBefore: Record<string, PodTemplate> = {};
    const unsettled: string[] = [];
    const components = await Promise.all(
      p.components.map(async (c) => {
        if (!c.changed) return c;
        const t = await client.target(c.target.name, p.namespace);
        targets.set(c.name, t);
        // One read of the object and one shared list of ReplicaSets; rollout-client's status only for a Canary.
        const served = await readServed(api, t, t.kind === "Canary" ? await client.status(t) : undefined, {
          replicaSets,
        });
        if (!served) return c;
        // A rollback finishing an abort puts a known template over whatever is there.
        if (!served.settled && !c.restore) unsettled.push(`${c.name}: ${served.unsettled}`);
        servedBefore[c.name] = served.template;
        const from = served.images[c.container];
        return {
          ...c,
          image: { ...c.image, from, changed: c.image.to !== from },
          ...(c.config
            ? {
                config: {
                  ...c.config,
                  from: { ...c.config.from, configMap: served.configMap },
                  changed: c.config.to.configMap !== served.configMap,
                },
              }
            : {}),
        };
      }),
    );
    if (unsettled.length > 0)
      throw new ReleaseError(
        "NOT_STABLE",
        `environment "${p.environment}" is not stable, nothing was changed: ${unsettled.join("; ")}; wait for it to settle (or finish or abort the release that changed it) and deploy again`,
        { environment: p.environment, component: unsettled[0]?.split(":")[0] as string },
      );
    return { servedBefore, plan: { ...p, components } };
  }

  async function recover(environment: string, o: RecoverOptions = {}): Promise<ReleaseRecord[]> {
    const ns = o.namespace ?? client.namespace;
    const open = (await listRecords(api, ns, environment)).filter((x) => !TERMINAL_STATES.includes(x.state));
    const done: ReleaseRecord[] = [];
    for (const record of open) {
      // This engine runs it: recovering it here would make a twin engine.
      if (active.has(record.id)) continue;
      let lease: HeldLease;
      try {
        // Only an expired (or let go) Lease is taken: a live one, whoever holds it (this engine too), is left alone.
        lease = await acquireLease({
          api,
          clock,
          namespace: ns,
          environment,
          holder: identity,
          release: record.id,
          durationSeconds: leaseSeconds,
          wait: o.wait ?? false,
          signal: o.signal ?? new AbortController().signal,
        });
      } catch (error) {
        if (error instanceof ReleaseError && error.code === "LOCKED") continue; // its engine is alive
        throw error;
      }
      // While we waited, its engine may have finished it.
      const fresh = await getRecord(api, ns, record.id);
      if (TERMINAL_STATES.includes(fresh.state) || active.has(record.id)) {
        await lease.release();
        continue;
      }
      const from = lease.takenOverFrom?.holder || fresh.engine;
      const mine = await update(fresh, (x) => ({
        ...x,
        state: transition(x.state, "taken-over", x.id).next,
        engine: identity,
        takeovers: [...(x.takeovers ?? []), { from, by: identity, at: iso() }],
        ...(o.policy === "rollback"
          ? { abortRequested: x.abortRequested ?? { by: `${identity} (recovery)`, at: iso() } }
          : {}),
      }));
      o.onEvent?.({
        type: "taken-over",
        release: record.id,
        environment,
        at: iso(),
        message: `engine ${identity} took release ${record.id} over from ${from}, whose Lease expired`,
      });
      try {
        done.push(await run(mine, lease, o, true));
      } catch (error) {
        if (!(error instanceof ReleaseError) || !RUN_END_CODES.has(error.code)) throw error;
        done.push(await getRecord(api, ns, record.id));
      }
    }
    return done;
  }

  const decide = async (release: string, o: DecisionOptions, change: (r: ReleaseRecord) => ReleaseRecord) => {
    const record = await getRecord(api, o.namespace ?? client.namespace, release);
    if (TERMINAL_STATES.includes(record.state))
      throw new ReleaseError("INVALID_STATE", `release "${release}" is already ${record.state}`, { release });
    // A decision only counts if an engine is there to act on it: never success for nothing.
    const holder = await leaseHolder(api, record.namespace, record.environment, clock.now());
    if (holder?.release !== release)
      throw new ReleaseError(
        "NOT_RUNNING",
        `release "${release}" is ${record.state} but no engine runs it (engine ${record.engine} stopped renewing the Lease of environment "${record.environment}"); nothing was decided: run \`rollway recover ${record.environment}\` to take it over (it resumes the release, or with --rollback puts every component back), then decide again`,
        { release, environment: record.environment },
      );
    return update(record, change);
  };

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
    apply: (p, o = {}) => start(p, o),
    approve: (release, o) => {
      const gate = o.gate ?? "promotion";
      return decide(release, o, (r) =>
        r.approvals.some((a) => a.gate === gate)
          ? r
          : { ...r, approvals: [...r.approvals, { gate, by: o.by, at: iso() }] },
      );
    },
    promote(release, o) {
      return this.approve(release, { ...o, gate: "promotion" });
    },
    abort: (release, o) =>
      decide(release, o, (r) => ({ ...r, abortRequested: r.abortRequested ?? { by: o.by, at: iso() } })),
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
      return start(reversePlan(record), o, {
        rollbackOf: release,
        ...(o.undoing?.length ? { undoes: o.undoing } : {}),
      });
    },
    recover,
    get: (release, namespace) => getRecord(api, namespace ?? client.namespace, release),
    history: (environment, namespace) => listRecords(api, namespace ?? client.namespace, environment),
    async status(environment) {
      const namespace = environment.namespace;
      const [components, records] = await Promise.all([
        Promise.all(
          listComponents(environment).map(async ({ name, component }) => ({
            component: name,
            ...(await client.status(await client.target(component.workload.name, namespace))),
          })),
        ),
        listRecords(api, namespace, environment.name),
      ]);
      return { environment: environment.name, namespace, release: records[0], components };
    },
    promotions: (environment, { signal }) => watchPromotions(api, environment.namespace, environment.name, signal),
  };
}
