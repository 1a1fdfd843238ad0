// One analysis tick of the simulated Flagger controller for a Canary with a Deployment target: a port
// of fluxcd/flagger pkg/controller/scheduler.go advanceCanary with the kubernetes (blue/green) router,
// pkg/canary/deployment_controller.go and pkg/controller/{webhook,scheduler_hooks,events}.go.
// Webhooks are called over real HTTP with Flagger's payload; metric checks query Prometheus (flagger-metrics.ts).
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { mergePatchBetween } from "./argo-rollout-status.js";
import type { Deployment, PodTemplate, Service } from "./argo-rollout-types.js";
import { type MetricsWorld, runMetricChecks } from "./flagger-metrics.js";
import {
  CANARY_KIND,
  type Canary,
  type CanaryPhase,
  type CanaryStatus,
  type CanaryWebhook,
  type CanaryWebhookPayload,
  canaryChecksum,
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  deploymentStrategy,
  FLAGGER_API_VERSION,
  hasSpecChanged,
  makeStatusConditions,
  maxWeight,
  nextStepWeight,
  parseGoDuration,
  selectorLabel,
  serviceNames,
  skipAnalysis,
  templateHash,
  validateCanary,
} from "./flagger-model.js";
import { type RouterWorld, reconcileMeshRouter } from "./flagger-router.js";
import { controllerRefTo } from "./workload.js";

export interface WebhookResponse {
  status: number;
  body: string;
  /** The Retry-After header, if any. */
  retryAfter?: string;
}

/** What an analysis tick may read and write. The kube-sim adapter implements it over the store. */
export interface FlaggerWorld extends MetricsWorld, RouterWorld {
  now(): Date;
  getCanary(namespace: string, name: string): Promise<Canary | undefined>;
  /** Merge patch on the Canary's status subresource; returns the updated Canary. */
  patchCanaryStatus(namespace: string, name: string, patch: Record<string, unknown>): Promise<Canary>;
  getDeployment(namespace: string, name: string): Promise<DeploymentWithStatus | undefined>;
  createDeployment(namespace: string, dep: Deployment): Promise<void>;
  /** Merge patch on a Deployment. */
  patchDeployment(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  getService(namespace: string, name: string): Promise<Service | undefined>;
  createService(namespace: string, svc: Record<string, unknown>): Promise<void>;
  patchService(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  /** POSTs JSON; resolves with the response, rejects on a network error or timeout. */
  postJson(url: string, body: unknown, timeoutMs: number): Promise<WebhookResponse>;
  /** Records a Kubernetes Event for the Canary (optional). */
  recordEvent?(canary: Canary, type: "Normal" | "Warning", message: string): Promise<void>;
}

export interface DeploymentWithStatus extends Deployment {
  spec?: Deployment["spec"] & {
    strategy?: unknown;
    minReadySeconds?: number;
    progressDeadlineSeconds?: number;
    revisionHistoryLimit?: number;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; lastUpdateTime?: string }>;
  };
}

function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

class NotReady extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** Flagger's command-line settings the simulation honours. */
export interface FlaggerOptions {
  /**
   * `-include-label-prefix`: comma-separated prefixes of the target Deployment's labels (and, on promotion, its
   * annotations) copied to the primary Deployment; `*` copies all. Flagger's default, "", copies none.
   */
  includeLabelPrefix?: string;
}

/** canary.includeLabelsByPrefix: the entries whose key starts with one of the prefixes (`*`: all; "": none). */
export function includeLabelsByPrefix(
  labels: Record<string, string> | undefined,
  prefixes: string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (key.includes(TOOLKIT_MARKER)) continue;
    if (prefixes.some((p) => p === "*" || (p !== "" && key.startsWith(p)))) out[key] = value;
  }
  return out;
}

/** canary.makePrimaryLabels: the labels (no toolkit ones) with the selector label set to the primary's value. */
function makePrimaryLabels(labels: Record<string, string> | undefined, value: string, label: string) {
  return { ...withoutToolkit(labels ?? {}), [label]: value };
}

class FlaggerPass {
  readonly ns: string;
  readonly name: string;
  readonly includeLabelPrefix: string[];
  constructor(
    readonly world: FlaggerWorld,
    public cd: Canary,
    options: FlaggerOptions = {},
  ) {
    this.includeLabelPrefix = (options.includeLabelPrefix ?? "").split(",");
    this.ns = cd.metadata.namespace ?? "default";
    this.name = cd.metadata.name;
  }

  get status(): CanaryStatus {
    return this.cd.status ?? {};
  }
  get targetName(): string {
    return this.cd.spec.targetRef.name;
  }
  get primaryName(): string {
    return `${this.targetName}-primary`;
  }
  get analysisIterations(): number {
    return this.cd.spec.analysis?.iterations ?? 0;
  }
  nowIso(): string {
    return kubeTime(this.world.now());
  }

  // ------------------------------------------------------------------ events and webhooks

  /** recordEvent*f + sendEventToWebhook; `phase` overrides the phase sent (rollback sends a Failed copy). */
  async event(type: "Normal" | "Warning", message: string, phase?: CanaryPhase): Promise<void> {
    await this.world.recordEvent?.(this.cd, type, message);
    for (const hook of this.cd.spec.analysis?.webhooks ?? []) {
      if (hook.type !== "event") continue;
      const metadata: Record<string, string> = {
        eventMessage: message,
        eventType: type,
        timestamp: String(this.world.now().getTime()),
      };
      for (const [k, v] of Object.entries(hook.metadata ?? {})) if (!(k in metadata)) metadata[k] = v;
      const payload: CanaryWebhookPayload = {
        name: this.name,
        namespace: this.ns,
        phase: phase ?? this.status.phase ?? "",
        checksum: canaryChecksum(this.cd),
        metadata,
      };
      // Flagger logs and ignores event webhook failures; CallEventWebhook does not apply the short-timeout fix.
      await this.post(hook, payload, hook.timeout || "10s");
    }
  }

  /** CallWebhook: POST the payload; an error message for anything but 2xx up to 202. */
  async callWebhook(hook: CanaryWebhook, phase: CanaryPhase | ""): Promise<string | undefined> {
    const payload: CanaryWebhookPayload = {
      name: this.name,
      namespace: this.ns,
      phase,
      checksum: canaryChecksum(this.cd),
    };
    if (hook.metadata) payload.metadata = hook.metadata;
    return this.post(hook, payload);
  }

  /**
   * callWebhook with go-retryablehttp (v0.7.8) semantics: connection errors, 429 and 5xx but 501 are retried up
   * to `retries` times, waiting 1 s, 2 s, 4 s ... (at most 30 s, or Retry-After on 429/503) of real time, as the
   * network is real; a retried status that never succeeds ends as `POST <url> giving up after N attempt(s): ...`;
   * any other answer above 202 is an error whose text is the response body.
   */
  private async post(
    hook: CanaryWebhook,
    payload: CanaryWebhookPayload,
    timeout?: string,
  ): Promise<string | undefined> {
    const timeoutText = timeout ?? (!hook.timeout || hook.timeout.length < 2 ? "10s" : hook.timeout);
    const timeoutMs = parseGoDuration(timeoutText);
    if (timeoutMs === undefined) return `time: invalid duration "${timeoutText}"`;
    const retryMax = Math.max(0, hook.retries ?? 0);
    for (let attempt = 0; ; attempt++) {
      let res: WebhookResponse | undefined;
      let checkErr: string | undefined;
      let shouldRetry = false;
      try {
        res = await this.world.postJson(hook.url, payload, timeoutMs);
      } catch (err) {
        checkErr = err instanceof Error ? err.message : String(err);
        shouldRetry = !checkErr.includes("not a valid absolute URL");
        if (!shouldRetry) return checkErr;
      }
      if (res) {
        if (res.status === 429) shouldRetry = true;
        else if (res.status === 0 || (res.status >= 500 && res.status !== 501)) {
          shouldRetry = true;
          checkErr = `unexpected HTTP status ${res.status} ${STATUS_CODES[res.status] ?? ""}`.trimEnd();
        } else return res.status > 202 ? res.body : undefined;
      }
      if (!shouldRetry || retryMax - attempt <= 0) {
        const url = redactedUrl(hook.url);
        return `POST ${url} giving up after ${attempt + 1} attempt(s)${checkErr ? `: ${checkErr}` : ""}`;
      }
      await sleep(retryWaitMs(attempt, res));
    }
  }

  hooks(type: CanaryWebhook["type"]): CanaryWebhook[] {
    return (this.cd.spec.analysis?.webhooks ?? []).filter((h) => h.type === type || (type === "rollout" && !h.type));
  }

  // ------------------------------------------------------------------ status writes

  private async writeStatus(changes: Partial<CanaryStatus>, phase?: CanaryPhase): Promise<void> {
    const now = this.nowIso();
    const next: CanaryStatus = { ...this.status, ...changes, lastTransitionTime: now };
    if (phase) {
      const conditions = makeStatusConditions({ ...this.cd, status: this.status }, phase, now);
      if (conditions) next.conditions = conditions;
    }
    const patch: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(next)) {
      if (JSON.stringify((this.status as Record<string, unknown>)[k]) !== JSON.stringify(v)) patch[k] = v;
    }
    this.cd = await this.world.patchCanaryStatus(this.ns, this.name, { status: patch });
  }

  async targetTemplate(): Promise<PodTemplate | undefined> {
    return (await this.world.getDeployment(this.ns, this.targetName))?.spec?.template;
  }

  /** SyncStatus: phase, counters and lastAppliedSpec from the target's current template. */
  async syncStatus(
    phase: CanaryPhase,
    counters: { canaryWeight?: number; failedChecks?: number; iterations?: number } = {},
  ) {
    const hash = templateHash(await this.targetTemplate());
    const changes: Partial<CanaryStatus> = {
      phase,
      canaryWeight: counters.canaryWeight ?? 0,
      failedChecks: counters.failedChecks ?? 0,
      iterations: counters.iterations ?? 0,
      lastAppliedSpec: hash,
    };
    if (phase === "Initialized") changes.lastPromotedSpec = hash;
    await this.writeStatus(changes, phase);
  }

  async setStatusPhase(phase: CanaryPhase): Promise<void> {
    const changes: Partial<CanaryStatus> = { phase };
    if (phase !== "Progressing" && phase !== "Waiting" && phase !== "Promoting") {
      changes.canaryWeight = 0;
      changes.iterations = phase === "WaitingPromotion" ? this.analysisIterations - 1 : 0;
    }
    if (phase === "Initialized" || phase === "Succeeded") changes.lastPromotedSpec = this.status.lastAppliedSpec;
    await this.writeStatus(changes, phase);
  }

  async setFailedChecks(n: number): Promise<void> {
    await this.writeStatus({ failedChecks: n });
  }
  async setIterations(n: number): Promise<void> {
    await this.writeStatus({ iterations: n });
  }
  async setWeight(n: number): Promise<void> {
    await this.writeStatus({ canaryWeight: n });
  }

  // ------------------------------------------------------------------ Deployments and Services

  ownerRef() {
    return controllerRefTo(FLAGGER_API_VERSION, CANARY_KIND, this.name, this.cd.metadata.uid ?? "");
  }

  /** KubernetesDefaultRouter.reconcileService: selector, ports (with portDiscovery), Flagger's labels and annotations. */
  async reconcileService(
    name: string,
    label: string,
    podSelector: string,
    role: "apex" | "primary" | "canary",
    target?: DeploymentWithStatus,
  ): Promise<void> {
    const svcSpec = this.cd.spec.service;
    const targetPort =
      svcSpec.targetPort !== undefined && String(svcSpec.targetPort) !== "0" ? svcSpec.targetPort : svcSpec.port;
    const ports: Array<Record<string, unknown>> = [
      { name: svcSpec.portName || "http", protocol: "TCP", port: svcSpec.port, targetPort },
    ];
    if (svcSpec.portDiscovery && target) {
      for (const [portName, port] of Object.entries(discoveredPorts(this.cd, target)).sort(([a], [b]) =>
        a.localeCompare(b),
      ))
        ports.push({ name: portName, protocol: "TCP", port, targetPort: port });
    }
    const custom =
      (svcSpec[role] as { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined) ?? {};
    const labels = { ...(custom.labels ?? {}), [label]: name };
    const annotations = { ...(custom.annotations ?? {}), ...FLUX_DISABLED };
    const existing = await this.world.getService(this.ns, name);
    if (!existing) {
      await this.world.createService(this.ns, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, namespace: this.ns, labels, annotations, ownerReferences: [this.ownerRef()] },
        spec: { type: "ClusterIP", selector: { [label]: podSelector }, ports },
      });
      return;
    }
    const patch: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } = {};
    const selector = existing.spec?.selector ?? {};
    const currentPorts = (existing.spec as { ports?: unknown[] } | undefined)?.ports ?? [];
    const samePorts =
      JSON.stringify(currentPorts.map((p) => ({ ...(p as object), nodePort: undefined }))) ===
      JSON.stringify(ports.map((p) => ({ ...p, nodePort: undefined })));
    if (Object.keys(selector).length !== 1 || selector[label] !== podSelector || !samePorts) {
      // The whole selector is replaced, so a merge patch nulls the keys Flagger does not keep.
      const next: Record<string, string | null> = {};
      for (const key of Object.keys(selector)) next[key] = null;
      next[label] = podSelector;
      patch.spec = { selector: next, ports };
    }
    const owned = (existing.metadata.ownerReferences ?? []).some(
      (o: { kind?: string; name?: string; controller?: boolean }) =>
        o.controller && o.kind === CANARY_KIND && o.name === this.name,
    );
    if (owned) {
      const meta: Record<string, unknown> = {};
      const currentAnn = (existing.metadata.annotations ?? {}) as Record<string, string>;
      const currentLabels = (existing.metadata.labels ?? {}) as Record<string, string>;
      if (JSON.stringify(sorted(currentAnn)) !== JSON.stringify(sorted(annotations)))
        meta.annotations = replaceMap(currentAnn, annotations);
      if (JSON.stringify(sorted(currentLabels)) !== JSON.stringify(sorted(labels)))
        meta.labels = replaceMap(currentLabels, labels);
      if (Object.keys(meta).length > 0) patch.metadata = meta;
    }
    if (patch.spec || patch.metadata) await this.world.patchService(this.ns, name, patch);
  }

  async createPrimaryDeployment(target: DeploymentWithStatus, label: string, value: string): Promise<void> {
    if (await this.world.getDeployment(this.ns, this.primaryName)) return;
    const primaryValue = `${value}-primary`;
    const replicas = (target.spec?.replicas ?? 0) > 0 ? (target.spec?.replicas ?? 1) : 1;
    const template = structuredClone(target.spec?.template ?? {});
    const spec = target.spec;
    await this.world.createDeployment(this.ns, {
      metadata: {
        name: this.primaryName,
        namespace: this.ns,
        labels: makePrimaryLabels(
          includeLabelsByPrefix(target.metadata.labels, this.includeLabelPrefix),
          primaryValue,
          label,
        ),
        annotations: withoutToolkit(target.metadata.annotations ?? {}),
        ownerReferences: [this.ownerRef()],
      },
      spec: {
        replicas,
        selector: { matchLabels: { [label]: primaryValue } },
        template: {
          metadata: {
            ...template.metadata,
            labels: withoutToolkit({ ...template.metadata?.labels, [label]: primaryValue }),
            annotations: makeAnnotations(template.metadata?.annotations),
          },
          spec: template.spec,
        },
        ...(spec?.strategy ? { strategy: spec.strategy } : {}),
        ...(spec?.minReadySeconds !== undefined ? { minReadySeconds: spec.minReadySeconds } : {}),
        ...(spec?.progressDeadlineSeconds !== undefined
          ? { progressDeadlineSeconds: spec.progressDeadlineSeconds }
          : {}),
        ...(spec?.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: spec.revisionHistoryLimit } : {}),
      } as Deployment["spec"],
    } as Deployment);
  }

  /** Promote: copy the target's pod template (with primary labels) and replicas to the primary. */
  async promote(label: string, value: string): Promise<void> {
    const target = await this.world.getDeployment(this.ns, this.targetName);
    if (!target?.spec?.template) throw new Error(`deployment ${this.targetName}.${this.ns} get query error: not found`);
    const primary = await this.world.getDeployment(this.ns, this.primaryName);
    const source = target.spec.template;
    const desired = {
      metadata: {
        labels: { ...source.metadata?.labels, [label]: `${value}-primary` },
        annotations: makeAnnotations(source.metadata?.annotations),
      },
      spec: source.spec ?? {},
    };
    // The template is replaced whole: the merge patch nulls whatever the target no longer has.
    const template = mergePatchBetween(primary?.spec?.template ?? {}, desired) ?? desired;
    // The primary's own labels and annotations become the target's that -include-label-prefix lets through.
    const metadata = {
      labels: replaceMap(
        primary?.metadata.labels ?? {},
        makePrimaryLabels(
          includeLabelsByPrefix(target.metadata.labels, this.includeLabelPrefix),
          `${value}-primary`,
          label,
        ),
      ),
      annotations: replaceMap(
        primary?.metadata.annotations ?? {},
        includeLabelsByPrefix(target.metadata.annotations, this.includeLabelPrefix),
      ),
    };
    const spec = target.spec as DeploymentWithStatus["spec"];
    await this.world.patchDeployment(this.ns, this.primaryName, {
      metadata,
      spec: {
        replicas: target.spec.replicas ?? primary?.spec?.replicas ?? 1,
        template,
        progressDeadlineSeconds: spec?.progressDeadlineSeconds ?? null,
        minReadySeconds: spec?.minReadySeconds ?? null,
        revisionHistoryLimit: spec?.revisionHistoryLimit ?? null,
      },
    });
  }

  async scaleToZero(): Promise<void> {
    await this.world.patchDeployment(this.ns, this.targetName, { spec: { replicas: 0 } });
  }

  async scaleFromZero(): Promise<void> {
    const target = await this.world.getDeployment(this.ns, this.targetName);
    let replicas = target?.spec?.replicas ?? 0;
    if (!(replicas > 0)) {
      const primary = await this.world.getDeployment(this.ns, this.primaryName);
      replicas = (primary?.spec?.replicas ?? 0) > 0 ? (primary?.spec?.replicas ?? 1) : 1;
    }
    await this.world.patchDeployment(this.ns, this.targetName, { spec: { replicas } });
  }

  /** isDeploymentReady, with Flagger's messages; NotReady.retriable false past the deadline. */
  async ensureReady(name: string, threshold: number, kindLabel: "primary" | "canary"): Promise<void> {
    const dep = await this.world.getDeployment(this.ns, name);
    if (!dep) throw new NotReady(`deployment ${name}.${this.ns} get query error: not found`, true);
    const prefix =
      kindLabel === "primary" ? `${name}.${this.ns} not ready: ` : `canary deployment ${name}.${this.ns} not ready: `;
    const status = dep.status ?? {};
    const deadline = this.cd.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
    if ((dep.metadata.generation ?? 1) > (status.observedGeneration ?? 0)) {
      throw new NotReady(
        `${prefix}waiting for rollout to finish: observed deployment generation less than desired generation`,
        true,
      );
    }
    const progress = status.conditions?.find((c) => c.type === "Progressing");
    const available = status.conditions?.find((c) => c.type === "Available");
    let retriable = true;
    if (progress && available?.status === "False" && available.reason === "MinimumReplicasUnavailable") {
      const from = Date.parse(available.lastUpdateTime ?? "");
      if (!Number.isNaN(from)) retriable = from + deadline * 1000 >= this.world.now().getTime();
    }
    const specReplicas = dep.spec?.replicas ?? 1;
    const updated = status.updatedReplicas ?? 0;
    const readyUpdated = Math.floor(updated * (threshold / 100));
    if (progress?.reason === "ProgressDeadlineExceeded") {
      throw new NotReady(`${prefix}deployment "${name}" exceeded its progress deadline`, false);
    }
    if (updated < specReplicas) {
      throw new NotReady(
        `${prefix}waiting for rollout to finish: ${updated} out of ${specReplicas} new replicas have been updated`,
        retriable,
      );
    }
    if ((status.replicas ?? 0) > updated) {
      throw new NotReady(
        `${prefix}waiting for rollout to finish: ${(status.replicas ?? 0) - updated} old replicas are pending termination`,
        retriable,
      );
    }
    if ((status.availableReplicas ?? 0) < readyUpdated) {
      throw new NotReady(
        `${prefix}waiting for rollout to finish: ${status.availableReplicas ?? 0} of ${readyUpdated} (readyThreshold ${threshold}%) updated replicas are available`,
        retriable,
      );
    }
  }

  // ------------------------------------------------------------------ the tick

  async rollback(): Promise<void> {
    if ((this.status.failedChecks ?? 0) >= threshold(this.cd)) {
      await this.event(
        "Warning",
        `Rolling back ${this.name}.${this.ns} failed checks threshold reached ${this.status.failedChecks ?? 0}`,
      );
    }
    await this.event("Warning", `Canary failed! Scaling down ${this.name}.${this.ns}`, "Failed");
    await this.scaleToZero();
    await this.syncStatus("Failed", { canaryWeight: 0 });
    await this.runPostRolloutHooks("Failed");
  }

  /**
   * The loop of each of scheduler_hooks.go's run*Hooks: calls the webhooks of one type in order and stops at the
   * first that fails, giving it and its error; each one that passes before is told as a Normal event
   * `<passed> <hook> passed`, when `passed` is given.
   */
  private async firstFailingHook(
    type: CanaryWebhook["type"],
    phase: CanaryPhase | "",
    passed?: string,
  ): Promise<{ hook: CanaryWebhook; err: string } | undefined> {
    for (const hook of this.hooks(type)) {
      const err = await this.callWebhook(hook, phase);
      if (err) return { hook, err };
      if (passed) await this.event("Normal", `${passed} ${hook.name} passed`);
    }
    return undefined;
  }

  /** recordEventWarningf("Halt %s.%s advancement ..."). */
  private halt(why: string): Promise<void> {
    return this.event("Warning", `Halt ${this.name}.${this.ns} advancement ${why}`);
  }

  async runPostRolloutHooks(phase: CanaryPhase): Promise<void> {
    const failed = await this.firstFailingHook("post-rollout", phase, "Post-rollout check");
    if (failed) await this.event("Warning", `Post-rollout hook ${failed.hook.name} failed ${failed.err}`);
  }

  async runConfirmRolloutHooks(): Promise<boolean> {
    const failed = await this.firstFailingHook("confirm-rollout", this.status.phase ?? "", "Confirm-rollout check");
    if (failed && this.status.phase !== "Waiting") {
      await this.setStatusPhase("Waiting");
      await this.halt(`waiting for approval ${failed.hook.name}`);
    }
    return !failed;
  }

  async runConfirmPromotionHooks(): Promise<boolean> {
    const failed = await this.firstFailingHook("confirm-promotion", "Progressing", "Confirm-promotion check");
    if (failed) {
      if (this.status.phase !== "WaitingPromotion") {
        await this.setStatusPhase("WaitingPromotion");
        await this.halt(`waiting for promotion approval ${failed.hook.name}`);
      } else {
        await this.setIterations(this.analysisIterations - 1);
      }
    }
    return !failed;
  }

  async runPreRolloutHooks(): Promise<boolean> {
    const failed = await this.firstFailingHook("pre-rollout", "Progressing", "Pre-rollout check");
    if (failed) await this.halt(`pre-rollout check ${failed.hook.name} failed ${failed.err}`);
    return !failed;
  }

  async runAnalysis(): Promise<boolean> {
    const failed = await this.firstFailingHook("rollout", "Progressing");
    if (failed) {
      await this.halt(`external check ${failed.hook.name} failed ${failed.err}`);
      return false;
    }
    const failedMetric = await runMetricChecks(this.world, this.cd);
    if (failedMetric) {
      await this.event("Warning", failedMetric);
      return false;
    }
    return true;
  }

  async runRollbackHooks(phase: CanaryPhase): Promise<boolean> {
    for (const hook of this.hooks("rollback")) {
      const err = await this.callWebhook(hook, phase);
      if (!err) {
        await this.event("Warning", `Rollback check ${hook.name} passed`);
        return true;
      }
      await this.event("Normal", `Rollback hook ${hook.name} not signaling a rollback`);
    }
    return false;
  }

  async runConfirmTrafficIncreaseHooks(): Promise<boolean> {
    const failed = await this.firstFailingHook(
      "confirm-traffic-increase",
      "Progressing",
      "Confirm-traffic-increase check",
    );
    if (failed) await this.halt(`waiting for traffic increase approval ${failed.hook.name}`);
    return !failed;
  }

  async advance(): Promise<void> {
    const cd = this.cd;
    if (cd.spec.suspend) return;
    const invalid = validateCanary(cd);
    if (invalid) {
      await this.event("Warning", invalid);
      return;
    }
    const target = await this.world.getDeployment(this.ns, this.targetName);
    if (!target) {
      await this.event("Warning", `deployment ${this.targetName}.${this.ns} get query error: not found`);
      return;
    }
    const sel = selectorLabel(target);
    if (!sel) {
      await this.event(
        "Warning",
        `deployment ${this.targetName}.${this.ns} spec.selector.matchLabels must contain one of [app name app.kubernetes.io/name]`,
      );
      return;
    }
    const names = serviceNames(cd);
    // KubernetesDefaultRouter.Initialize: canary and primary Services.
    await this.reconcileService(names.canary, sel.label, sel.value, "canary", target);
    await this.reconcileService(names.primary, sel.label, `${sel.value}-primary`, "primary", target);

    // DeploymentController.Initialize: the primary, ready before the first analysis.
    await this.createPrimaryDeployment(target, sel.label, sel.value);
    const phase = this.status.phase;
    const initializing = !phase || phase === "Initializing";
    if (initializing && !skipAnalysis(cd)) {
      try {
        await this.ensureReady(this.primaryName, cd.spec.analysis?.primaryReadyThreshold ?? 100, "primary");
      } catch (err) {
        if (err instanceof NotReady) {
          await this.event("Warning", err.message);
          return;
        }
        throw err;
      }
    }
    // KubernetesDefaultRouter.Reconcile: the apex Service selects the primary.
    await this.reconcileService(names.apex, sel.label, `${sel.value}-primary`, "apex", target);
    // meshRouter.Reconcile: takes over the provider's Ingress or mesh object; without it nothing progresses.
    const routerError = await reconcileMeshRouter(this.world, cd);
    if (routerError) {
      await this.event("Warning", routerError);
      return;
    }
    if (initializing) await this.scaleToZero();

    if (initializing) {
      await this.syncStatus("Initialized");
      await this.event("Normal", `Initialization done! ${this.name}.${this.ns}`);
    }

    if (!(await this.shouldAdvance())) return;

    if (!skipAnalysis(cd)) {
      try {
        await this.ensureReady(this.primaryName, cd.spec.analysis?.primaryReadyThreshold ?? 100, "primary");
      } catch (err) {
        if (!(err instanceof NotReady)) throw err;
        await this.event("Warning", err.message);
        if (!err.retriable) await this.rollback();
        return;
      }
    }

    // The kubernetes router has no weights: GetRoutes reports 0/0.
    const canaryWeight = this.status.canaryWeight ?? 0;
    const primaryWeight = 100 - canaryWeight;

    if (!(await this.checkCanaryStatus())) return;

    const current = this.status.phase;
    if (
      (current === "Progressing" || current === "WaitingPromotion") &&
      hasSpecChanged(this.cd, await this.targetTemplate())
    ) {
      await this.event("Normal", `New revision detected! Restarting analysis for ${this.targetName}.${this.ns}`);
      await this.syncStatus("Progressing");
      return;
    }

    let canaryError: NotReady | undefined;
    try {
      await this.ensureReady(this.targetName, cd.spec.analysis?.canaryReadyThreshold ?? 100, "canary");
    } catch (err) {
      if (!(err instanceof NotReady)) throw err;
      canaryError = err;
      await this.event("Warning", err.message);
      if (err.retriable) return;
    }

    if (skipAnalysis(cd) && !canaryError) {
      await this.event(
        "Normal",
        `Copying ${this.targetName}.${this.ns} template spec to ${this.primaryName}.${this.ns}`,
      );
      await this.promote(sel.label, sel.value);
      await this.scaleToZero();
      await this.setStatusPhase("Succeeded");
      await this.runPostRolloutHooks("Succeeded");
      await this.event("Normal", `Promotion completed! Canary analysis was skipped for ${this.targetName}.${this.ns}`);
      return;
    }

    const phaseNow = this.status.phase;
    if (phaseNow === "Progressing" || phaseNow === "Waiting" || phaseNow === "WaitingPromotion") {
      if (await this.runRollbackHooks(phaseNow)) {
        await this.event("Warning", `Rolling back ${this.name}.${this.ns} manual webhook invoked`);
        await this.rollback();
        return;
      }
    }

    if (phaseNow === "Promoting") {
      await this.runPromotionTrafficShift(canaryWeight, primaryWeight);
      return;
    }

    if (phaseNow === "Finalising") {
      await this.scaleToZero();
      await this.setStatusPhase("Succeeded");
      await this.runPostRolloutHooks("Succeeded");
      await this.event("Normal", `Promotion completed! Scaling down ${this.targetName}.${this.ns}`);
      return;
    }

    if (
      (phaseNow === "Progressing" || phaseNow === "WaitingPromotion") &&
      (canaryError !== undefined || (this.status.failedChecks ?? 0) >= threshold(cd))
    ) {
      if (canaryError)
        await this.event(
          "Warning",
          `Rolling back ${this.name}.${this.ns} progress deadline exceeded ${canaryError.message}`,
        );
      await this.rollback();
      return;
    }

    if (canaryWeight === 0 && (this.status.iterations ?? 0) === 0) {
      await this.event("Normal", `Starting canary analysis for ${this.targetName}.${this.ns}`);
      if (!(await this.runPreRolloutHooks())) {
        await this.setFailedChecks((this.status.failedChecks ?? 0) + 1);
        return;
      }
    } else if (!(await this.runAnalysis())) {
      await this.setFailedChecks((this.status.failedChecks ?? 0) + 1);
      return;
    }

    const provider = cd.spec.provider ?? "kubernetes";
    const analysis = cd.spec.analysis ?? {};
    let iterations = analysis.iterations ?? 0;
    if (provider === "kubernetes" && iterations < 1) {
      await this.event("Warning", "Progressive traffic is not supported when using the kubernetes provider");
      await this.event("Warning", "Setting canaryAnalysis.iterations: 10");
      iterations = 10;
    }
    const strategy = provider === "kubernetes" ? "blue-green" : deploymentStrategy(cd);
    if (strategy === "ab-testing") {
      await this.runAB(iterations, sel.label, sel.value);
      return;
    }
    if (strategy === "blue-green") {
      await this.runBlueGreen(iterations, sel.label, sel.value);
      return;
    }
    if (nextStepWeight(analysis, canaryWeight) > 0) {
      if (phaseNow !== "WaitingPromotion") {
        if (!(await this.runConfirmTrafficIncreaseHooks())) return;
      }
      await this.runCanary(canaryWeight, primaryWeight, sel.label, sel.value);
    }
  }

  /**
   * runPromotionTrafficShift: with the kubernetes provider, or without stepWeightPromotion, straight to
   * Finalising; otherwise the primary gets stepWeightPromotion more weight per tick (canary strategy only: the
   * blue/green and A/B routes are not kept in the status, so they finalise at once).
   */
  async runPromotionTrafficShift(canaryWeight: number, primaryWeight: number): Promise<void> {
    const provider = this.cd.spec.provider ?? "kubernetes";
    if (provider === "kubernetes") {
      await this.setStatusPhase("Finalising");
      return;
    }
    const step = this.cd.spec.analysis?.stepWeightPromotion ?? 0;
    if (step === 0 || deploymentStrategy(this.cd) !== "canary") {
      await this.event("Normal", "Routing all traffic to primary");
      await this.setStatusPhase("Finalising");
      return;
    }
    if (canaryWeight > 0) {
      const primary = Math.min(100, primaryWeight + step);
      const canary = Math.max(0, canaryWeight - step);
      await this.event("Normal", `Advance ${this.name}.${this.ns} primary weight ${primary}`);
      if (primary === 100) await this.setStatusPhase("Finalising");
      else await this.setWeight(canary);
    }
  }

  /** How runAB and runBlueGreen start a tick: one more iteration while fewer than `iterations` ran (true). */
  private async nextIteration(iterations: number): Promise<boolean> {
    const done = this.status.iterations ?? 0;
    if (iterations <= done) return false;
    await this.setIterations(done + 1);
    await this.event("Normal", `Advance ${this.name}.${this.ns} canary iteration ${done + 1}/${iterations}`);
    return true;
  }

  /** runAB: iterations with all matching traffic on the canary, then confirm-promotion and promote. */
  async runAB(iterations: number, label: string, value: string): Promise<void> {
    if (await this.nextIteration(iterations)) return;
    if (!(await this.runConfirmPromotionHooks())) return;
    if (iterations === (this.status.iterations ?? 0)) {
      await this.event(
        "Normal",
        `Copying ${this.targetName}.${this.ns} template spec to ${this.primaryName}.${this.ns}`,
      );
      await this.promote(label, value);
      await this.setStatusPhase("Promoting");
    }
  }

  async runBlueGreen(iterations: number, label: string, value: string): Promise<void> {
    if (await this.nextIteration(iterations)) return;
    if (!(await this.runConfirmPromotionHooks())) return;
    if (iterations === (this.status.iterations ?? 0)) {
      await this.setIterations((this.status.iterations ?? 0) + 1);
      return;
    }
    await this.event("Normal", `Copying ${this.targetName}.${this.ns} template spec to ${this.primaryName}.${this.ns}`);
    await this.promote(label, value);
    await this.setStatusPhase("Promoting");
  }

  /** runCanary: only status.canaryWeight moves, as kube-sim routes no traffic by weight. */
  async runCanary(canaryWeight: number, _primaryWeight: number, label: string, value: string): Promise<void> {
    const analysis = this.cd.spec.analysis;
    const max = maxWeight(analysis);
    if (canaryWeight < max) {
      const next = Math.min(100, canaryWeight + nextStepWeight(analysis, canaryWeight));
      await this.setWeight(next);
      await this.event("Normal", `Advance ${this.name}.${this.ns} canary weight ${next}`);
      return;
    }
    if (!(await this.runConfirmPromotionHooks())) return;
    await this.event("Normal", `Copying ${this.targetName}.${this.ns} template spec to ${this.primaryName}.${this.ns}`);
    await this.promote(label, value);
    await this.setStatusPhase("Promoting");
  }

  async shouldAdvance(): Promise<boolean> {
    const phase = this.status.phase;
    if (
      phase === "Progressing" ||
      phase === "Waiting" ||
      phase === "WaitingPromotion" ||
      phase === "Promoting" ||
      phase === "Finalising"
    ) {
      return true;
    }
    if (phase === "Failed") {
      // Flagger's SyncStatus writes a deep copy: the Canary this tick compares with keeps the lastAppliedSpec it
      // was read with, so a template changed since the failure is still seen as new (and analysed).
      const read = this.cd;
      await this.syncStatus("Failed", {
        canaryWeight: this.status.canaryWeight,
        failedChecks: this.status.failedChecks,
        iterations: this.status.iterations,
      });
      this.cd = read;
    }
    return hasSpecChanged(this.cd, await this.targetTemplate());
  }

  /** checkCanaryStatus: a new revision waits for confirm-rollout, then scales the target up. */
  async checkCanaryStatus(): Promise<boolean> {
    const phase = this.status.phase;
    if (phase === "Progressing" || phase === "WaitingPromotion" || phase === "Promoting" || phase === "Finalising") {
      return true;
    }
    const fresh = await this.world.getCanary(this.ns, this.name);
    if (!fresh) return false;
    this.cd = fresh;
    if (!(await this.runConfirmRolloutHooks())) return false;
    await this.event("Normal", `New revision detected! Scaling up ${this.targetName}.${this.ns}`);
    await this.scaleFromZero();
    await this.syncStatus("Progressing");
    return false;
  }
}

/** retryablehttp.DefaultBackoff: Retry-After on 429/503, else 2^attempt seconds, within [1 s, 30 s]. */
function retryWaitMs(attempt: number, res: WebhookResponse | undefined): number {
  if (res && (res.status === 429 || res.status === 503) && res.retryAfter && /^\d+$/.test(res.retryAfter))
    return Number(res.retryAfter) * 1000;
  return Math.min(30_000, 2 ** attempt * 1000);
}

/** The URL as retryablehttp's redactURL prints it, without the credentials (they never reach an error here). */
function redactedUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return raw;
  }
}

const TOOLKIT_MARKER = "toolkit.fluxcd.io";
/** router.filterMetadata: keeps Flux from overriding the Services Flagger manages. */
const FLUX_DISABLED = {
  "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
  "helm.toolkit.fluxcd.io/driftDetection": "disabled",
};
const SIDECARS = new Set(["istio-proxy", "envoy", "appmesh-proxy", "linkerd-proxy", "kuma-sidecar", "osm-envoy"]);

function withoutToolkit(meta: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(meta).filter(([k]) => !k.includes(TOOLKIT_MARKER)));
}

/** canary.makeAnnotations: the template's annotations (no toolkit ones) plus a fresh `flagger-id`. */
function makeAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  const out = withoutToolkit(annotations ?? {});
  out["flagger-id"] = randomUUID();
  return out;
}

/** canary.getPorts: the target's container ports other than the service's own target port, for portDiscovery. */
function discoveredPorts(cd: Canary, target: DeploymentWithStatus): Record<string, number> {
  const svc = cd.spec.service;
  const out: Record<string, number> = {};
  const containers = (target.spec?.template?.spec?.containers ?? []) as Array<{
    name: string;
    ports?: Array<{ name?: string; containerPort: number }>;
  }>;
  for (const c of containers) {
    if (SIDECARS.has(c.name)) continue;
    (c.ports ?? []).forEach((p, i) => {
      const tp = svc.targetPort;
      if (tp === undefined || String(tp) === "0") {
        if (p.containerPort === svc.port) return;
      } else if (typeof tp === "number" ? p.containerPort === tp : p.name === tp) return;
      out[p.name || `tcp-${c.name}-${i}`] = p.containerPort;
    });
  }
  return out;
}

function sorted(map: Record<string, string>): Array<[string, string]> {
  return Object.entries(map).sort(([a], [b]) => a.localeCompare(b));
}

/** A merge patch value that turns `current` into exactly `next`. */
function replaceMap(current: Record<string, string>, next: Record<string, string>): Record<string, string | null> {
  const out: Record<string, string | null> = { ...next };
  for (const key of Object.keys(current)) if (!(key in next)) out[key] = null;
  return out;
}

function threshold(cd: Canary): number {
  const t = cd.spec.analysis?.threshold ?? 0;
  return t > 0 ? t : 1;
}

/** The controller's sync of a new Canary: status Initializing with the Promoted condition. */
export async function initializeCanary(world: FlaggerWorld, canary: Canary): Promise<void> {
  if (canary.status?.conditions) return;
  const now = kubeTime(world.now());
  const conditions = makeStatusConditions(canary, "Initializing", now);
  await world.patchCanaryStatus(canary.metadata.namespace ?? "default", canary.metadata.name, {
    status: { phase: "Initializing", lastTransitionTime: now, ...(conditions ? { conditions } : {}) },
  });
}

/** Runs one analysis tick (advanceCanary) for the named Canary. */
export async function advanceCanary(
  world: FlaggerWorld,
  namespace: string,
  name: string,
  options: FlaggerOptions = {},
): Promise<void> {
  const canary = await world.getCanary(namespace, name);
  if (!canary || canary.metadata.deletionTimestamp) return;
  await new FlaggerPass(world, canary, options).advance();
}
