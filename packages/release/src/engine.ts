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
import {
  OCONFIG_SELECTOR,
  planConfigMapGc,
  referenceConfigMap,
  referencedConfigMap,
} from "@rollway/oconfig-versioning";
import type { DeployPayload } from "@rollway/payload-schema";
import { isHealthy, isPaused, type RolloutClient, type Target, type WorkloadStatus } from "@rollway/rollout-client";
import { type Clock, realClock, timeoutSignal } from "./clock.js";
import { type ClusterState, type PodTemplate, readClusterState, type WorkloadObject } from "./cluster-state.js";
import { type Environment, type JobTemplate, listComponents } from "./environment.js";
import { ReleaseError } from "./errors.js";
import type { ApprovalGate, OnReleaseEvent, ReleaseEvent, ReleaseEventType } from "./events.js";
import { isStatus, type KubeApi, paths } from "./kube-api.js";
import { acquireLease, type HeldLease } from "./lock.js";
import { type ComponentPlan, changedComponents, plan, type ReleasePlan } from "./plan.js";
import {
  createRecord,
  getRecord,
  listRecords,
  type PromotionEvent,
  type ReleaseRecord,
  type ReleaseState,
  TERMINAL_STATES,
  updateRecord,
  waitForRecord,
  watchPromotions,
} from "./records.js";

/** The write that sets a pod template (and, for a recreate migration, the replicas), with optimistic locking. */
export const templatePatch = (resourceVersion: string | undefined, template: PodTemplate, replicas?: number) => ({
  metadata: { resourceVersion },
  spec: { template, ...(replicas === undefined ? {} : { replicas }) },
});
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
  rollback(release: string, options?: ApplyOptions & { namespace?: string; by?: string }): Promise<ReleaseRecord>;
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
}

const DEFAULT_LEASE_SECONDS = 30;

export function createReleaseEngine(options: ReleaseEngineOptions): ReleaseEngine {
  const { client, api } = options;
  const clock = options.clock ?? realClock;
  const identity = options.identity ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const leaseSeconds = options.leaseDurationSeconds ?? DEFAULT_LEASE_SECONDS;
  const keepReleases = options.keepReleases ?? 5;
  const iso = () => new Date(clock.now()).toISOString();

  const newId = (p: ReleasePlan) => {
    const t = new Date(clock.now()).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    return `${p.environment}-${t}-${randomBytes(2).toString("hex")}`.toLowerCase();
  };

  const update = (r: ReleaseRecord, change: (r: ReleaseRecord) => ReleaseRecord) =>
    updateRecord(api, r.namespace, r.id, change, iso);
  const setState = async (run: Running, state: ReleaseState, patch: Partial<ReleaseRecord> = {}) => {
    run.record = await update(run.record, (r) => ({ ...r, ...patch, state }));
  };

  async function target(run: Running, c: ComponentPlan): Promise<Target> {
    let t = run.targets.get(c.name);
    if (!t) {
      t = await client.target(c.target.name, run.record.namespace);
      run.targets.set(c.name, t);
    }
    return t;
  }

  /** One write of the pod template: the container's image and, when given, the oConfig ConfigMap it mounts. */
  async function writeTemplate(
    ns: string,
    c: ComponentPlan,
    image: string | undefined,
    config: { configMap: string; mountPath: string } | undefined,
    replicas?: number,
  ): Promise<boolean> {
    const path = paths.workload(ns, c.workload.kind, c.workload.name);
    const what = `${c.workload.kind} "${c.workload.name}"`;
    for (let attempt = 0; ; attempt++) {
      const object = await api.request<WorkloadObject>({ method: "GET", path, what });
      const before = object.spec.template ?? {};
      let next = structuredClone(before);
      for (const container of next.spec?.containers ?? [])
        if (container.name === c.container && image) container.image = image;
      if (config)
        next = referenceConfigMap(next as never, {
          configMapName: config.configMap,
          container: c.container,
          mountPath: config.mountPath,
          service: c.name,
        }) as PodTemplate;
      if (
        JSON.stringify(next) === JSON.stringify(before) &&
        (replicas === undefined || replicas === object.spec.replicas)
      )
        return false;
      try {
        await api.request({
          method: "PATCH",
          path,
          body: templatePatch(object.metadata.resourceVersion, next, replicas),
          what,
        });
        return true;
      } catch (error) {
        if (!isStatus(error, 409) || attempt >= 5) throw error;
      }
    }
  }

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
      if (!ready(status))
        throw new ReleaseError(
          "FAILED",
          `${c.name}: ${t.kind} "${t.name}" is ${status.phase}${status.message ? `: ${status.message}` : ""}`,
          { component: c.name, release: run.record.id, resource: `${t.kind} "${t.name}"` },
        );
      return status;
    } catch (error) {
      if (timeout.signal.aborted) throw timeout.signal.reason;
      throw error;
    } finally {
      timeout.cancel();
    }
  }

  /** Creates a Job (or finds the one a previous engine created) and waits for it to complete. */
  async function runJob(run: Running, name: string, template: JobTemplate, timeoutSeconds: number): Promise<void> {
    const ns = run.record.namespace;
    const jobName = `${run.record.id}-${name}`.slice(0, 63).replace(/-+$/, "");
    const what = `Job "${jobName}"`;
    const body = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: jobName,
        labels: {
          ...(template.metadata?.labels ?? {}),
          "app.kubernetes.io/managed-by": "rollway",
          "rollway.dev/release": run.record.id,
        },
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      },
      spec: template.spec,
    };
    await api.request({ method: "POST", path: paths.jobs(ns), body, what }).catch((error) => {
      if (!isStatus(error, 409)) throw error;
    });
    const timeout = timeoutSignal(
      clock,
      timeoutSeconds * 1000,
      run.signal,
      () =>
        new ReleaseError("FAILED", `${what} did not finish within ${timeoutSeconds} s`, {
          release: run.record.id,
          resource: what,
        }),
    );
    type JobObject = {
      metadata: { resourceVersion?: string };
      status?: { succeeded?: number; conditions?: { type: string; status: string; message?: string }[] };
    };
    const verdict = (job: JobObject) => {
      const conditions = job.status?.conditions ?? [];
      if (conditions.some((x) => x.type === "Complete" && x.status === "True") || (job.status?.succeeded ?? 0) > 0)
        return "done";
      const failure = conditions.find((x) => x.type === "Failed" && x.status === "True");
      if (failure)
        throw new ReleaseError("FAILED", `${what} failed${failure.message ? `: ${failure.message}` : ""}`, {
          release: run.record.id,
          resource: what,
        });
      return undefined;
    };
    try {
      for (;;) {
        const job = await api.request<JobObject>({
          method: "GET",
          path: paths.job(ns, jobName),
          what,
          signal: timeout.signal,
        });
        if (verdict(job)) return;
        for await (const event of api.watch<JobObject>(
          paths.jobs(ns),
          { fieldSelector: `metadata.name=${jobName}`, resourceVersion: job.metadata.resourceVersion },
          what,
          timeout.signal,
        )) {
          if (event.type === "DELETED")
            throw new ReleaseError("FAILED", `${what} was deleted while rollway waited for it`, {
              release: run.record.id,
              resource: what,
            });
          if (event.type !== "BOOKMARK" && event.type !== "ERROR" && verdict(event.object)) return;
        }
      }
    } catch (error) {
      if (timeout.signal.aborted) throw timeout.signal.reason;
      throw error;
    } finally {
      timeout.cancel();
    }
  }

  async function waitApproval(run: Running, gate: ApprovalGate): Promise<void> {
    const existing = run.record.approvals.find((a) => a.gate === gate);
    if (existing) return;
    run.emit(
      "waiting-for-approval",
      `waiting for approval of ${gate}: test at https://${run.record.plan.previewHost}/, then run \`rollway ${gate === "promotion" ? "promote" : "approve --gate code-as-data"} ${run.record.id}\``,
      { gate },
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

  /** Every touched component back to the image and oConfig it had: aborted where the workload can abort. */
  async function abortAll(run: Running, components: ComponentPlan[]): Promise<void> {
    const p = run.record.plan;
    // A fresh deadline: the run's own signal may be the reason we are aborting.
    const deadline = timeoutSignal(
      clock,
      p.promotion.readyTimeoutSeconds * 1000,
      undefined,
      () =>
        new ReleaseError(
          "FAILED",
          `the components did not return to stable within ${p.promotion.readyTimeoutSeconds} s`,
          { release: run.record.id },
        ),
    );
    try {
      await Promise.all(
        components.map(async (c) => {
          const t = await target(run, c);
          if (t.kind === "Canary") {
            // Flagger's own rollback: the rollback gate makes it fail the analysis and keep the primary (the stable
            // version) serving; the target keeps the failed spec at zero replicas until the next release, as in Flagger.
            const servingOld = (s: WorkloadStatus) =>
              (s.stableImages ?? []).some((i) => i.container === c.container && i.image === c.image.from);
            const now = await client.status(t);
            if (!(now.phase === "Aborted" && servingOld(now))) {
              await client.abort(t);
              await waitComponent(
                run,
                c,
                (s) => s.phase === "Aborted" && servingOld(s),
                p.promotion.readyTimeoutSeconds,
                "Flagger's rollback",
                deadline.signal,
              );
            }
            await client.gate(t, "rollback", "close");
            run.emit("component-aborted", `${c.name}: rolled back by Flagger, the primary serves ${c.image.from}`, {
              component: c.name,
            });
            return;
          }
          if (t.kind === "Rollout") await client.abort(t);
          const config = c.config?.from.configMap
            ? { configMap: c.config.from.configMap, mountPath: c.config.mountPath }
            : undefined;
          const replicas = run.record.scaledDown?.[c.name];
          await writeTemplate(p.namespace, c, c.image.from, config, replicas);
          if (t.kind === "Rollout") await client.retry(t);
          await waitComponent(
            run,
            c,
            (s) =>
              isHealthy(s) &&
              (s.stableImages ?? s.images).some((i) => i.container === c.container && i.image === c.image.from),
            p.promotion.readyTimeoutSeconds,
            "the stable version",
            deadline.signal,
          );
          run.emit("component-aborted", `${c.name}: back on ${c.image.from}`, { component: c.name });
        }),
      );
    } finally {
      deadline.cancel();
    }
  }

  /**
   * Deletes the oConfig ConfigMaps no recent release used and no live ReplicaSet (stable, preview or kept for
   * undo) mounts. Runs while the Lease is held, so no release of this environment is creating ConfigMaps.
   */
  async function collectConfigMaps(run: Running): Promise<void> {
    const ns = run.record.namespace;
    const [existing, replicaSets, history] = await Promise.all([
      api.request<{
        items: { metadata: { name: string; labels?: Record<string, string>; creationTimestamp?: string } }[];
      }>({
        method: "GET",
        path: paths.configMaps(ns),
        query: { labelSelector: OCONFIG_SELECTOR },
        what: "oConfig ConfigMaps",
      }),
      api.request<{ items: { spec?: { template?: PodTemplate } }[] }>({
        method: "GET",
        path: paths.replicaSets(ns),
        what: "ReplicaSets",
      }),
      listRecords(api, ns, run.record.environment),
    ]);
    const used = (r: ReleaseRecord) => [
      ...r.plan.configMaps.map((c) => c.metadata.name),
      ...r.plan.components
        .flatMap((c) => (c.config ? [c.config.to.configMap, c.config.from.configMap ?? ""] : []))
        .filter(Boolean),
    ];
    const gc = planConfigMapGc({
      existing: existing.items.map((c) => c.metadata),
      releases: history
        .filter((r) => r.state === "promoted" || r.state === "rolled-back")
        .reverse()
        .map((r) => ({ releaseId: r.id, configMaps: used(r) })),
      referenced: replicaSets.items.flatMap((rs) => {
        const name = rs.spec?.template ? referencedConfigMap(rs.spec.template as never) : undefined;
        return name ? [name] : [];
      }),
      keepReleases,
    });
    for (const { name } of gc.delete) {
      await api
        .request({ method: "DELETE", path: paths.configMap(ns, name), what: `ConfigMap "${name}"` })
        .catch((error) => {
          if (!isStatus(error, 404)) throw error;
        });
    }
    if (gc.delete.length > 0)
      run.emit(
        "configs-collected",
        `deleted ${gc.delete.length} old oConfig ConfigMap(s): ${gc.delete.map((d) => d.name).join(", ")}`,
      );
  }

  /** Runs (or resumes) a recorded release while holding the Lease. */
  async function run(
    record: ReleaseRecord,
    lease: HeldLease,
    options: ApplyOptions,
    resumed: boolean,
  ): Promise<ReleaseRecord> {
    const p = record.plan;
    const controller = new AbortController();
    // Every component's wait listens on the run's signal: 50 backends are 50 listeners, not a leak.
    setMaxListeners(0, controller.signal);
    const onCaller = () =>
      controller.abort(new ReleaseError("ABORTED", "the release was cancelled by its caller", { release: record.id }));
    if (options.signal?.aborted) onCaller();
    options.signal?.addEventListener("abort", onCaller, { once: true });
    const r: Running = {
      record,
      signal: controller.signal,
      targets: new Map(),
      touched: new Set(),
      emit: (type, message, extra = {}) =>
        options.onEvent?.({ type, release: record.id, environment: p.environment, at: iso(), message, ...extra }),
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
    try {
      if (resumed) r.emit("resumed", `resuming release ${record.id} (was ${record.state}) after its engine stopped`);
      else r.emit("started", `release ${record.id} to ${p.environment}: ${changed.length} component(s) change`);
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
          p.configMaps.map(async (cm) => {
            await api
              .request({
                method: "POST",
                path: paths.configMaps(p.namespace),
                body: cm,
                what: `ConfigMap "${cm.metadata.name}"`,
              })
              .then(
                () => r.emit("config-created", `ConfigMap ${cm.metadata.name} created`),
                (error) => {
                  if (!isStatus(error, 409)) throw error;
                },
              );
          }),
        );
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
            await writeTemplate(p.namespace, c, c.image.to, config, replicas);
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
            r.emit(
              "preview-ready",
              `${c.name}: ${c.image.to} ready${c.target.kind === "Deployment" ? " (rolled out)" : ` in preview at https://${p.previewHost}/`}`,
              { component: c.name },
            );
          }),
        );
        r.emit("previews-ready", `every preview is ready at https://${p.previewHost}/`);
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
          if (r.record.state !== "waiting-for-approval") await setState(r, "waiting-for-approval");
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
        await setState(r, "promoting");
      }
      r.emit("promoting", `promoting ${changed.length} component(s) together`);
      await promoteAll(r);
      const oConfigCurrent: Record<string, string> = {};
      for (const c of p.components) if (c.config) oConfigCurrent[c.name] = c.config.to.version;
      await setState(r, "promoted", { finishedAt: iso(), oConfigCurrent });
      if (r.record.rollbackOf) {
        const of = r.record.rollbackOf;
        await update(await getRecord(api, p.namespace, of), (x) => ({
          ...x,
          state: "rolled-back",
          message: `rolled back by ${r.record.id}`,
        }));
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
      const reason =
        error instanceof ReleaseError
          ? error
          : new ReleaseError("FAILED", (error as Error).message, { release: record.id, cause: error });
      const aborted = reason.code === "ABORTED";
      r.emit("aborting", `aborting: ${reason.message}; every component goes back to stable`);
      try {
        await setState(r, "aborting", { message: reason.message });
      } catch {
        // Recording is best effort here: restoring the components matters more.
      }
      await abortAll(r, resumed ? changed : changed.filter((c) => r.touched.has(c.name)));
      await setState(r, aborted ? "aborted" : "failed", { finishedAt: iso(), message: reason.message });
      r.emit(
        aborted ? "aborted" : "failed",
        `release ${record.id} ${aborted ? "aborted" : "failed"}: ${reason.message}; every component is on its previous version`,
      );
      throw new ReleaseError(
        reason.code === "ABORTED" ? "ABORTED" : "FAILED",
        `release ${record.id} ${aborted ? "aborted" : "failed"} and was rolled back: ${reason.message}`,
        {
          release: record.id,
          environment: p.environment,
          ...(reason.component ? { component: reason.component } : {}),
          cause: error,
        },
      );
    } finally {
      watchAbort.abort();
      options.signal?.removeEventListener("abort", onCaller);
      await lease.release().catch(() => undefined);
    }
  }

  async function start(
    p: ReleasePlan,
    options: ApplyOptions,
    extra: Partial<ReleaseRecord> = {},
  ): Promise<ReleaseRecord> {
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
      ...extra,
    };
    try {
      await createRecord(api, record);
    } catch (error) {
      await lease.release();
      throw error;
    }
    return run(record, lease, options, false);
  }

  async function recover(environment: string, o: RecoverOptions = {}): Promise<ReleaseRecord[]> {
    const ns = o.namespace ?? client.namespace;
    const open = (await listRecords(api, ns, environment)).filter((x) => !TERMINAL_STATES.includes(x.state));
    const done: ReleaseRecord[] = [];
    for (const record of open) {
      let lease: HeldLease;
      try {
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
      if (TERMINAL_STATES.includes(fresh.state)) {
        await lease.release();
        continue;
      }
      const mine = await update(fresh, (x) => ({
        ...x,
        engine: identity,
        ...(o.policy === "rollback"
          ? { abortRequested: x.abortRequested ?? { by: `${identity} (recovery)`, at: iso() } }
          : {}),
      }));
      try {
        done.push(await run(mine, lease, o, true));
      } catch (error) {
        if (!(error instanceof ReleaseError) || (error.code !== "FAILED" && error.code !== "ABORTED")) throw error;
        done.push(await getRecord(api, ns, record.id));
      }
    }
    return done;
  }

  const decide = async (release: string, o: DecisionOptions, change: (r: ReleaseRecord) => ReleaseRecord) => {
    const record = await getRecord(api, o.namespace ?? client.namespace, release);
    if (TERMINAL_STATES.includes(record.state))
      throw new ReleaseError("INVALID_STATE", `release "${release}" is already ${record.state}`, { release });
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
      const record = await getRecord(api, o.namespace ?? client.namespace, release);
      if (record.state !== "promoted")
        throw new ReleaseError(
          "INVALID_STATE",
          `release "${release}" is ${record.state}; only a promoted release can be rolled back (an unfinished one is aborted instead)`,
          { release },
        );
      const reverse = reversePlan(record.plan);
      return start(reverse, o, { rollbackOf: release });
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

/**
 * The plan that undoes a promoted release: every changed component from its new image and oConfig back to the old,
 * promoted automatically, without hooks or code as data. The new version keeps serving until the old one is ready.
 */
export function reversePlan(p: ReleasePlan): ReleasePlan {
  return {
    ...p,
    promotion: { ...p.promotion, mode: "auto" },
    components: changedComponents(p)
      .filter((c) => c.image.from !== undefined)
      .map((c) => ({
        ...c,
        image: { from: c.image.to, to: c.image.from as string, changed: c.image.changed, reason: "rollback" },
        config: c.config?.from.configMap
          ? {
              ...c.config,
              from: c.config.to,
              to: { version: c.config.from.version ?? c.config.from.configMap, configMap: c.config.from.configMap },
              changed: c.config.changed,
              diff: undefined,
            }
          : c.config && { ...c.config, changed: false },
      })),
    configMaps: [],
    codeAsData: undefined,
    hooks: { preRelease: [], migration: [] },
    routing: "",
    warnings: [],
  };
}
