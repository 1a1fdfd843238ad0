/**
 * What the environment schema cannot say by itself, without zod (the quick read of `environment-quick.ts` uses it too):
 * the strategies each workload kind runs, the `.refine()` predicates, and the checks across parts of an environment.
 */
import type { OConfigProblem } from "@rollway/oconfig-versioning";
import type { EnvironmentProblem, JobTemplate, ValidEnvironment, WorkloadKind } from "./environment.js";

/** A platform component's image is a repository: without a tag (the tag is its stableVersion) or a digest. */
export const isUntaggedImage = (image: string): boolean => !/:[^/]*$/.test(image) && !image.includes("@");

/** Which strategies each workload kind can run. */
export const STRATEGIES_BY_KIND = {
  Rollout: ["blueGreen", "canary"],
  Canary: ["blueGreen", "canary"],
  Deployment: ["rolling", "recreate"],
} as const satisfies Record<WorkloadKind, readonly string[]>;

const componentsOf = (env: ValidEnvironment) => [
  ...(env.frontend ? [{ name: "frontend", component: env.frontend, path: ["frontend"] }] : []),
  ...Object.entries(env.backends).map(([name, component]) => ({ name, component, path: ["backends", name] })),
];

/**
 * Checks what the schema alone cannot: references between parts, strategies per workload kind, oConfig contents (with
 * `oConfigCheck`: the full check, or one the caller already knows finds nothing).
 */
export function crossCheck(
  env: ValidEnvironment,
  oConfigCheck: (input: unknown, options: { service: string; noDowntime: boolean }) => OConfigProblem[],
): EnvironmentProblem[] {
  const problems: EnvironmentProblem[] = [];
  const components = componentsOf(env);
  const names = new Set(components.map((c) => c.name));
  const workloads = new Map<string, string>();

  if ("frontend" in env.backends) {
    problems.push({
      code: "DUPLICATE",
      path: ["backends", "frontend"],
      message: 'a backend cannot be named "frontend": that name is the frontend\'s; rename the backend',
    });
  }

  const claimWorkload = (kind: string, name: string, owner: string, path: (string | number)[]) => {
    const key = `${kind}/${name}`;
    const other = workloads.get(key);
    if (other !== undefined) {
      problems.push({ code: "DUPLICATE", path, message: `${key} is already the workload of ${other}` });
    } else {
      workloads.set(key, owner);
    }
  };

  for (const { name, component, path } of components) {
    claimWorkload(component.workload.kind, component.workload.name, name, [...path, "workload"]);
    const allowed: readonly string[] = STRATEGIES_BY_KIND[component.workload.kind];
    if (!allowed.includes(component.strategy.type)) {
      problems.push({
        code: "UNSUPPORTED_STRATEGY",
        path: [...path, "strategy", "type"],
        message: `a ${component.workload.kind} cannot run the ${component.strategy.type} strategy; use ${allowed.join(" or ")}, or change the workload kind`,
      });
    }
    if (component.oConfig !== undefined) {
      const found = oConfigCheck(component.oConfig, { service: name, noDowntime: env.noDowntime });
      problems.push(...found.map((p) => oConfigProblem(p, [...path, "oConfig"])));
    }
  }

  const platformNames = new Set<string>();
  env.platform.forEach((p, index) => {
    if (names.has(p.name) || platformNames.has(p.name)) {
      problems.push({
        code: "DUPLICATE",
        path: ["platform", index, "name"],
        message: `"${p.name}" is already a component name`,
      });
    }
    platformNames.add(p.name);
    claimWorkload(p.workload.kind, p.workload.name, `platform component ${p.name}`, ["platform", index, "workload"]);
  });

  const checkJob = (
    job: JobTemplate,
    container: string | undefined,
    path: (string | number)[],
    needsImage: boolean,
  ) => {
    const containers = job.spec.template.spec.containers;
    const chosen = container === undefined ? containers[0] : containers.find((c) => c.name === container);
    if (!chosen) {
      problems.push({
        code: "UNKNOWN_REFERENCE",
        path: [...path, "container"],
        message: `the job has no container "${container}" (it has ${containers.map((c) => `"${c.name}"`).join(", ")})`,
      });
    } else if (needsImage && !chosen.image) {
      problems.push({
        code: "INVALID_ENVIRONMENT",
        path: [...path, "job", "spec", "template", "spec", "containers", containers.indexOf(chosen), "image"],
        message: `container "${chosen.name}" needs an image, or set imageFrom to run it with a component's new image`,
      });
    }
  };

  if (env.codeAsData) checkJob(env.codeAsData.job, env.codeAsData.container, ["codeAsData"], false);

  const hookNames = new Set<string>();
  const checkHook = (hook: ValidEnvironment["hooks"]["preRelease"][number], path: (string | number)[]) => {
    if (hookNames.has(hook.name)) {
      problems.push({
        code: "DUPLICATE",
        path: [...path, "name"],
        message: `another hook is already named "${hook.name}"`,
      });
    }
    hookNames.add(hook.name);
    if (hook.imageFrom !== undefined && !names.has(hook.imageFrom)) {
      problems.push({
        code: "UNKNOWN_REFERENCE",
        path: [...path, "imageFrom"],
        message: `no component is named "${hook.imageFrom}" (there are ${[...names].map((n) => `"${n}"`).join(", ") || "none"})`,
      });
    }
    checkJob(hook.job, hook.container, path, hook.imageFrom === undefined);
  };
  env.hooks.preRelease.forEach((hook, index) => {
    checkHook(hook, ["hooks", "preRelease", index]);
  });
  env.hooks.migration.forEach((hook, index) => {
    checkHook(hook, ["hooks", "migration", index]);
    const target = components.find((c) => c.name === hook.for);
    if (!target) {
      problems.push({
        code: "UNKNOWN_REFERENCE",
        path: ["hooks", "migration", index, "for"],
        message: `no component is named "${hook.for}"`,
      });
    } else if (target.component.strategy.type !== "recreate") {
      problems.push({
        code: "UNSUPPORTED_STRATEGY",
        path: ["hooks", "migration", index, "for"],
        message: `"${hook.for}" uses the ${target.component.strategy.type} strategy; a migration hook runs between old and new, which only the recreate strategy has`,
      });
    }
  });
  return problems;
}

export function oConfigProblem(p: OConfigProblem, base: (string | number)[]): EnvironmentProblem {
  return {
    code: "INVALID_OCONFIG",
    path: [...base, ...p.path],
    message:
      p.line !== undefined
        ? `${p.version !== undefined ? `version "${p.version}", ` : ""}line ${p.line}, column ${p.column ?? 1} of its JSON: ${p.message}`
        : p.message,
    oConfig: { service: p.service, version: p.version, line: p.line, column: p.column },
  };
}
