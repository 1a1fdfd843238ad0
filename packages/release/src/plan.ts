/**
 * `plan()`: the pure heart of a release. A deploy payload, an environment and a snapshot of the cluster become
 * one plan: per component the image from → to, the oConfig change, the strategy and the hooks, plus the code-as-data
 * Job and the promotion mode. No I/O: the same inputs always give the same plan, which `formatPlan` renders for a
 * dry run and which is stored as JSON in the release record.
 */
import { createHash } from "node:crypto";
import { type Assignment, type ChosenBy, explain, resolveDeployRules } from "@rollway/deploy-rules";
import {
  type ConfigMapManifest,
  canonicalJson,
  configMapName,
  diffVersions,
  formatOConfigDiff,
  type OConfigDiff,
  parseOConfig,
  renderReleaseConfigMaps,
} from "@rollway/oconfig-versioning";
import type { DeployPayload } from "@rollway/payload-schema";
import type { Strategy as TargetStrategy } from "@rollway/rollout-client";
import type { ClusterState, PodTemplate } from "./cluster-state.js";
import type { Component, Environment, JobTemplate } from "./environment.js";
import { type PlanProblem, ReleaseError } from "./errors.js";

export type Role = "frontend" | "backend" | "platform";
export type StrategyType = Component["strategy"]["type"];

export interface ConfigPlan {
  /** The version the pods run now (by the ConfigMap the template mounts), when rollway knows it. */
  from: { version: string | undefined; configMap: string | undefined };
  /** `next` of the environment's oConfig. */
  to: { version: string; configMap: string };
  changed: boolean;
  mountPath: string;
  diff: OConfigDiff | undefined;
}

export interface ComponentPlan {
  name: string;
  role: Role;
  /** The object rollway drives, as found in the cluster. */
  target: { kind: "Rollout" | "Deployment" | "Canary"; name: string; strategy: TargetStrategy };
  /** The object holding the pod template. */
  workload: { kind: "Rollout" | "Deployment"; name: string };
  container: string;
  strategy: StrategyType;
  image: { from: string | undefined; to: string; changed: boolean; reason: string };
  config: ConfigPlan | undefined;
  /** Whether this component rolls out at all in this release. */
  changed: boolean;
  /**
   * For a rollback: the exact pod template to put back (what users were served before the release it undoes),
   * written whole instead of setting the image and oConfig.
   */
  restore?: PodTemplate;
}

export interface JobPlan {
  name: string;
  container: string;
  image: string | undefined;
  /** The Job template with the image (and for code as data, `--force-sync`) filled in. */
  job: JobTemplate;
  timeoutSeconds: number;
}

export interface MigrationPlan extends JobPlan {
  for: string;
}

export interface CodeAsDataPlan extends JobPlan {
  updateMode: "auto" | "manual";
  args: string[];
}

export interface ReleasePlan {
  apiVersion: "rollway.dev/v1alpha1";
  kind: "ReleasePlan";
  environment: string;
  namespace: string;
  host: string;
  previewHost: string;
  /** sha256 of the payload's canonical JSON. */
  payloadDigest: string;
  promotion: {
    mode: "auto" | "manual";
    /** Where the mode came from. */
    source: "payload" | "environment";
    readyTimeoutSeconds: number;
    approvalTimeoutSeconds: number | undefined;
  };
  forceSync: boolean;
  skipUpdateVersions: boolean;
  components: ComponentPlan[];
  /** The immutable oConfig ConfigMaps the release needs (created if missing). */
  configMaps: ConfigMapManifest[];
  codeAsData: CodeAsDataPlan | undefined;
  hooks: { preRelease: JobPlan[]; migration: MigrationPlan[] };
  /** deploy-rules' explanation of which backend got which image. */
  routing: string;
  warnings: string[];
}

const COMPATIBLE: Record<StrategyType, readonly TargetStrategy[]> = {
  blueGreen: ["blueGreen", "flaggerBlueGreen"],
  canary: ["canary", "flaggerCanary"],
  rolling: ["rollingUpdate"],
  recreate: ["recreate"],
};

export const FORCE_SYNC = "--force-sync";

/**
 * oConfig values may be secrets (`dbPassword`, `apiKey`): the ConfigMap keeps its `data` for the engine to create
 * it, but as a non-enumerable property, so no JSON of a plan (`--json`, HTTP bodies, release records, events)
 * carries a value. The ConfigMap's name is a hash of its content: that is the reference records keep.
 */
function withoutDataInJson(cm: ConfigMapManifest): ConfigMapManifest {
  const { data, ...rest } = cm;
  const out = rest as ConfigMapManifest;
  Object.defineProperty(out, "data", { value: data, enumerable: false, writable: true, configurable: true });
  return out;
}

export function payloadDigest(payload: DeployPayload): string {
  return createHash("sha256").update(canonicalJson(payload)).digest("hex");
}

/**
 * Computes the release plan. Throws one `ReleaseError` (`INVALID_PLAN`) listing every problem: a component whose
 * workload is missing or runs another strategy than the environment says, a container the pod template lacks, a
 * payload part the environment has no place for; deploy-rules and oConfig errors are kept as `cause`.
 */
export function plan(payload: DeployPayload, environment: Environment, cluster: ClusterState): ReleasePlan {
  const problems: PlanProblem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });
  const warnings: string[] = [];
  const components: ComponentPlan[] = [];
  const configMaps: ConfigMapManifest[] = [];

  const component = (
    name: string,
    role: Role,
    spec: { workload: { kind: string; name: string }; container: string; strategy?: { type: StrategyType } },
    to: string | undefined,
    reason: string,
    rule?: ChosenBy,
  ) => {
    const state = cluster.workloads[name];
    if (!state) {
      if (to !== undefined)
        problem(
          name,
          `${spec.workload.kind} "${spec.workload.name}" was not found in namespace "${environment.namespace}"; create it or remove ${name} from the environment`,
        );
      return undefined;
    }
    if (state.kind !== spec.workload.kind) {
      problem(
        name,
        `the environment says ${spec.workload.kind} "${spec.workload.name}" but the cluster runs it as a ${state.kind}; fix workload.kind`,
      );
      return undefined;
    }
    if (spec.strategy && !COMPATIBLE[spec.strategy.type].includes(state.strategy)) {
      problem(
        name,
        `the environment says strategy ${spec.strategy.type} but ${state.kind} "${state.name}" is set up for ${state.strategy}; make them agree`,
      );
      return undefined;
    }
    if (!(spec.container in state.images)) {
      problem(
        name,
        `${state.workload.kind} "${state.workload.name}" has no container "${spec.container}" (it has ${Object.keys(state.images).join(", ") || "none"})`,
      );
      return undefined;
    }
    const from = state.images[spec.container];
    const target = to ?? from ?? "";
    const plan: ComponentPlan = {
      name,
      role,
      target: { kind: state.kind, name: state.name, strategy: state.strategy },
      workload: state.workload,
      container: spec.container,
      strategy: spec.strategy?.type ?? (state.strategy === "recreate" ? "recreate" : "rolling"),
      image: {
        from,
        to: target,
        changed: target !== from,
        reason: rule ? `rule backends.deployRules[${rule.index}]` : reason,
      },
      config: undefined,
      changed: target !== from,
    };
    components.push(plan);
    return plan;
  };

  const withConfig = (plan: ComponentPlan | undefined, spec: Component) => {
    if (!plan || spec.oConfig === undefined) return;
    let parsed: ReturnType<typeof parseOConfig>;
    try {
      parsed = parseOConfig(spec.oConfig, { service: plan.name, noDowntime: environment.noDowntime });
    } catch (error) {
      problem(plan.name, (error as Error).message);
      return;
    }
    const current = cluster.workloads[plan.name]?.configMap;
    const fromVersion = parsed.versions.find((v) => configMapName(plan.name, v) === current);
    const toConfigMap = configMapName(plan.name, parsed.next);
    const changed = toConfigMap !== current;
    plan.config = {
      from: { version: fromVersion?.name, configMap: current },
      to: { version: parsed.next.name, configMap: toConfigMap },
      changed,
      mountPath: spec.oConfigMountPath,
      diff: fromVersion ? diffVersions(plan.name, fromVersion, parsed.next) : undefined,
    };
    if (changed) plan.changed = true;
    for (const cm of renderReleaseConfigMaps(parsed, { namespace: environment.namespace })) {
      if (!configMaps.some((c) => c.metadata.name === cm.metadata.name)) configMaps.push(withoutDataInJson(cm));
    }
  };

  // Frontend
  if (payload.frontend?.image && !environment.frontend)
    problem(
      "frontend.image",
      `the environment "${environment.name}" has no frontend; add one or remove frontend.image`,
    );
  if (environment.frontend) {
    const to = payload.frontend?.image;
    withConfig(
      component(
        "frontend",
        "frontend",
        environment.frontend,
        to,
        to ? "frontend.image" : "not in the payload: unchanged",
      ),
      environment.frontend,
    );
  }

  // Backends, routed by the deploy rules
  let routing = "";
  const backendNames = Object.keys(environment.backends);
  let assignments: Assignment[] = backendNames.map((name) => ({
    backend: name,
    change: "unchanged",
    image: undefined,
    currentImage: undefined,
  }));
  if (payload.backends) {
    try {
      const resolution = resolveDeployRules({
        images: payload.backends.images,
        rules: payload.backends.deployRules ?? [],
        backends: backendNames.map((name) => {
          const spec = environment.backends[name] as Component;
          return { name, currentImage: cluster.workloads[name]?.images[spec.container] };
        }),
      });
      assignments = resolution.assignments;
      routing = explain(resolution);
      for (const w of resolution.warnings) warnings.push(`${w.path}: ${w.message}`);
    } catch (error) {
      throw new ReleaseError("INVALID_PLAN", `the deploy rules do not route the images: ${(error as Error).message}`, {
        environment: environment.name,
        cause: error,
      });
    }
  }
  for (const a of assignments) {
    const spec = environment.backends[a.backend] as Component;
    const p =
      a.change === "update"
        ? component(a.backend, "backend", spec, a.image, "", a.rule)
        : component(
            a.backend,
            "backend",
            spec,
            undefined,
            a.rule
              ? `backends.deployRules[${a.rule.index}] gives it the image it already runs: unchanged`
              : "no deploy rule targets it: unchanged",
          );
    withConfig(p, spec);
  }

  // Platform components on their stable versions
  for (const p of environment.platform) {
    const to = payload.skipUpdateVersions ? undefined : `${p.image}:${p.stableVersion}`;
    component(
      p.name,
      "platform",
      p,
      to,
      payload.skipUpdateVersions ? "skipUpdateVersions: left as it is" : `stable version ${p.stableVersion}`,
    );
  }

  const newImage = (name: string) => components.find((c) => c.name === name)?.image.to;
  const job = (
    hook: {
      name: string;
      job: JobTemplate;
      container?: string | undefined;
      imageFrom?: string | undefined;
      timeoutSeconds: number;
    },
    where: string,
  ): JobPlan => {
    const container = hook.container ?? hook.job.spec.template.spec.containers[0]?.name ?? "";
    const image = hook.imageFrom ? newImage(hook.imageFrom) : undefined;
    if (hook.imageFrom && !image) problem(where, `imageFrom "${hook.imageFrom}" is not a component of this release`);
    return {
      name: hook.name,
      container,
      image,
      job: withContainer(hook.job, container, image, []),
      timeoutSeconds: hook.timeoutSeconds,
    };
  };
  const preRelease = environment.hooks.preRelease.map((h, i) => job(h, `hooks.preRelease[${i}]`));
  const migration = environment.hooks.migration.map((h, i) => ({ ...job(h, `hooks.migration[${i}]`), for: h.for }));

  // Code as data
  const forceSync = payload.extraArgs.includes(FORCE_SYNC);
  let codeAsData: CodeAsDataPlan | undefined;
  if (payload.codeAsData?.image) {
    if (!environment.codeAsData) {
      problem(
        "codeAsData.image",
        `the environment "${environment.name}" has no codeAsData Job template; add one or remove codeAsData.image`,
      );
    } else {
      const args = forceSync ? [FORCE_SYNC] : [];
      codeAsData = {
        name: "code-as-data",
        container: environment.codeAsData.container,
        image: payload.codeAsData.image,
        job: withContainer(
          environment.codeAsData.job,
          environment.codeAsData.container,
          payload.codeAsData.image,
          args,
        ),
        timeoutSeconds: environment.codeAsData.timeoutSeconds,
        updateMode: payload.codeAsData.updateMode,
        args,
      };
    }
  }

  if (problems.length > 0) {
    throw new ReleaseError(
      "INVALID_PLAN",
      `${problems.length} problem${problems.length === 1 ? "" : "s"} with the release to environment "${environment.name}":\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`,
      { environment: environment.name, problems },
    );
  }
  return {
    apiVersion: "rollway.dev/v1alpha1",
    kind: "ReleasePlan",
    environment: environment.name,
    namespace: environment.namespace,
    host: environment.host,
    previewHost: environment.previewHost,
    payloadDigest: payloadDigest(payload),
    promotion: {
      mode: payload.noDowntime?.promotionMode ?? environment.promotion.mode,
      source: payload.noDowntime ? "payload" : "environment",
      readyTimeoutSeconds: environment.promotion.readyTimeoutSeconds,
      approvalTimeoutSeconds: environment.promotion.approvalTimeoutSeconds,
    },
    forceSync,
    skipUpdateVersions: payload.skipUpdateVersions,
    components,
    configMaps,
    codeAsData,
    hooks: { preRelease, migration },
    routing,
    warnings,
  };
}

/** The Job template with one container's image set and arguments appended. */
function withContainer(
  template: JobTemplate,
  container: string,
  image: string | undefined,
  args: string[],
): JobTemplate {
  const copy = structuredClone(template);
  for (const c of copy.spec.template.spec.containers) {
    if (c.name !== container) continue;
    if (image) c.image = image;
    if (args.length > 0)
      c.args = [
        ...((c.args as string[] | undefined) ?? []),
        ...args.filter((a) => !((c.args as string[] | undefined) ?? []).includes(a)),
      ];
  }
  return copy;
}

/** The components that roll out in this release. */
export const changedComponents = (p: ReleasePlan): ComponentPlan[] => p.components.filter((c) => c.changed);

/** The plan as a reviewer reads it in a dry run. */
export function formatPlan(p: ReleasePlan): string {
  const out: string[] = [];
  out.push(
    `Release to environment ${p.environment} (namespace ${p.namespace}), payload sha256:${p.payloadDigest.slice(0, 12)}`,
  );
  out.push(
    `promotion: ${p.promotion.mode} (from the ${p.promotion.source}); preview at https://${p.previewHost}/ while users stay on https://${p.host}/`,
  );
  const changed = changedComponents(p);
  out.push(`${changed.length} of ${p.components.length} components change:`);
  const width = Math.max(0, ...p.components.map((c) => c.name.length));
  for (const c of p.components) {
    const mark = c.changed ? "~" : "=";
    out.push(`${mark} ${c.name.padEnd(width)}  ${c.target.kind}/${c.target.name} ${c.strategy}`);
    if (c.image.changed) out.push(`    image   ${c.image.from ?? "(none)"} → ${c.image.to}  (${c.image.reason})`);
    else out.push(`    image   ${c.image.to} (unchanged: ${c.image.reason || "same image"})`);
    if (c.config) {
      if (!c.config.changed) out.push(`    oConfig ${c.config.to.version} (unchanged, ${c.config.to.configMap})`);
      else {
        out.push(
          `    oConfig ${c.config.from.version ?? c.config.from.configMap ?? "(none)"} → ${c.config.to.version}  (${c.config.to.configMap})`,
        );
        if (c.config.diff?.changed)
          for (const line of formatOConfigDiff(c.config.diff).split("\n").slice(1)) out.push(`    ${line}`);
      }
    }
    for (const m of p.hooks.migration.filter((h) => h.for === c.name))
      out.push(`    migration Job ${m.name} between old and new`);
  }
  for (const h of p.hooks.preRelease) out.push(`pre-release Job ${h.name}${h.image ? ` (${h.image})` : ""}`);
  if (p.codeAsData) {
    out.push(
      `code as data: Job from ${p.codeAsData.image}${p.codeAsData.args.length ? ` with ${p.codeAsData.args.join(" ")}` : ""}${p.codeAsData.updateMode === "manual" ? ", after an approval" : ""}`,
    );
  }
  if (p.skipUpdateVersions) out.push("platform components: left on their versions (skipUpdateVersions)");
  for (const w of p.warnings) out.push(`warning: ${w}`);
  return `${out.join("\n")}\n`;
}
