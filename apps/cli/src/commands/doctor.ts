/**
 * `rollway doctor`: is the cluster ready for the environment? Argo Rollouts / Flagger CRDs and their versions,
 * what this identity may do (SelfSubjectAccessReview), the active and preview Services, the preview Ingress, and
 * `sc.production` in every oConfig.
 */
import { parseOConfig } from "@rollway/oconfig-versioning";
import { type Environment, listComponents } from "@rollway/release";
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { CliError, ExitCode, type Output, printJson } from "../output.js";
import { colorEnabled, paint } from "../style.js";

/** API paths doctor reads, named so a reader sees what reaches the cluster. */
export const DOCTOR_PATHS = {
  version: "/version",
  crd: (name: string) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
  accessReview: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
  service: (ns: string, name: string) => `/api/v1/namespaces/${ns}/services/${name}`,
  ingresses: (ns: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
} as const;

/** What the release engine does in the namespace (checked with SelfSubjectAccessReview). */
const NEEDED: { verb: string; group: string; resource: string }[] = [
  { verb: "patch", group: "argoproj.io", resource: "rollouts" },
  { verb: "patch", group: "apps", resource: "deployments" },
  { verb: "create", group: "", resource: "configmaps" },
  { verb: "update", group: "", resource: "configmaps" },
  { verb: "create", group: "coordination.k8s.io", resource: "leases" },
  { verb: "create", group: "batch", resource: "jobs" },
];

export interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects as read
type Obj = any;

export async function doctorCommand(options: ClusterOptions & { env?: string }, output: Output): Promise<void> {
  const environment = await loadEnvironment(options.env);
  const ns = options.namespace ?? environment.namespace;
  const direct = await openDirect({ ...options, namespace: ns });
  const checks: Check[] = [];
  const get = (path: string, what: string) =>
    direct.api.request<Obj>({ method: "GET", path, resource: { kind: what } });
  const status = (error: unknown) => (error as { httpStatus?: number }).httpStatus;
  try {
    try {
      const v = await get(DOCTOR_PATHS.version, "the API server version");
      checks.push({ name: "API server", status: "ok", detail: `reachable, Kubernetes ${v.gitVersion ?? "?"}` });
    } catch (error) {
      checks.push({
        name: "API server",
        status: "fail",
        detail: `${(error as Error).message}; check --kubeconfig and --context`,
      });
      return report(checks, environment, output);
    }
    await checkCrds(environment, get, status, checks);
    await checkAccess(direct.api, ns, checks);
    await checkServices(environment, ns, get, status, checks);
    await checkIngress(environment, ns, get, checks);
    checkProduction(environment, checks);
  } finally {
    direct.close();
  }
  report(checks, environment, output);
}

async function checkCrds(
  environment: Environment,
  get: (path: string, what: string) => Promise<Obj>,
  status: (e: unknown) => number | undefined,
  checks: Check[],
) {
  const kinds = new Set(listComponents(environment).map((c) => c.component.workload.kind));
  const wanted = [
    ...(kinds.has("Rollout") ? [["Argo Rollouts", "rollouts.argoproj.io"]] : []),
    ...(kinds.has("Canary") ? [["Flagger", "canaries.flagger.app"]] : []),
  ];
  for (const [name, crd] of wanted as [string, string][]) {
    try {
      const found = await get(DOCTOR_PATHS.crd(crd), `CustomResourceDefinition "${crd}"`);
      const labels = found.metadata?.labels ?? {};
      const annotations = found.metadata?.annotations ?? {};
      const version =
        labels["app.kubernetes.io/version"] ??
        annotations["controller-gen.kubebuilder.io/version"] ??
        "version not labelled";
      const served = (found.spec?.versions ?? []).filter((v: Obj) => v.served).map((v: Obj) => v.name);
      checks.push({ name: `${name} CRD`, status: "ok", detail: `${crd} (${version}), serves ${served.join(", ")}` });
    } catch (error) {
      checks.push({
        name: `${name} CRD`,
        status: "fail",
        detail:
          status(error) === 404
            ? `${crd} is not installed; install ${name} in the cluster`
            : `cannot read ${crd}: ${(error as Error).message}`,
      });
    }
  }
}

async function checkAccess(api: import("@rollway/rollout-client").Connection, ns: string, checks: Check[]) {
  const denied: string[] = [];
  for (const need of NEEDED) {
    try {
      const review = await api.request<Obj>({
        method: "POST",
        path: DOCTOR_PATHS.accessReview,
        resource: { kind: "a SelfSubjectAccessReview" },
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { namespace: ns, verb: need.verb, group: need.group, resource: need.resource } },
        },
      });
      if (!review.status?.allowed) denied.push(`${need.verb} ${need.resource}${need.group ? `.${need.group}` : ""}`);
    } catch (error) {
      checks.push({
        name: "RBAC",
        status: "warn",
        detail: `could not ask the API server (SelfSubjectAccessReview): ${(error as Error).message}`,
      });
      return;
    }
  }
  checks.push(
    denied.length === 0
      ? { name: "RBAC", status: "ok", detail: `allowed to ${NEEDED.map((n) => `${n.verb} ${n.resource}`).join(", ")}` }
      : {
          name: "RBAC",
          status: "fail",
          detail: `not allowed to ${denied.join(", ")} in ${ns}; grant them to this identity`,
        },
  );
}

async function checkServices(
  environment: Environment,
  ns: string,
  get: (path: string, what: string) => Promise<Obj>,
  status: (e: unknown) => number | undefined,
  checks: Check[],
) {
  const missing: string[] = [];
  let found = 0;
  for (const { name, component } of listComponents(environment)) {
    const s = component.strategy;
    const services =
      s.type === "blueGreen"
        ? [s.activeService, s.previewService]
        : s.type === "canary"
          ? [s.stableService, s.canaryService]
          : [];
    for (const svc of services.filter((x): x is string => typeof x === "string")) {
      try {
        await get(DOCTOR_PATHS.service(ns, svc), `Service "${svc}"`);
        found++;
      } catch (error) {
        if (status(error) !== 404) throw error;
        missing.push(`${svc} (${name})`);
      }
    }
  }
  checks.push(
    missing.length === 0
      ? { name: "Services", status: "ok", detail: `${found} active and preview Services found` }
      : { name: "Services", status: "fail", detail: `missing in ${ns}: ${missing.join(", ")}; create them` },
  );
}

async function checkIngress(
  environment: Environment,
  ns: string,
  get: (p: string, w: string) => Promise<Obj>,
  checks: Check[],
) {
  try {
    const list = await get(DOCTOR_PATHS.ingresses(ns), "Ingresses");
    const hosts = (list.items ?? []).flatMap((i: Obj) => (i.spec?.rules ?? []).map((r: Obj) => r.host));
    checks.push(
      hosts.includes(environment.previewHost)
        ? { name: "Preview Ingress", status: "ok", detail: `${environment.previewHost} is routed` }
        : {
            name: "Preview Ingress",
            status: "warn",
            detail: `no Ingress in ${ns} routes ${environment.previewHost}; testers cannot reach the preview until one does`,
          },
    );
  } catch (error) {
    checks.push({
      name: "Preview Ingress",
      status: "warn",
      detail: `cannot list Ingresses: ${(error as Error).message}`,
    });
  }
}

function checkProduction(environment: Environment, checks: Check[]) {
  const without = listComponents(environment)
    .filter((c) => c.component.oConfig !== undefined)
    .filter((c) => {
      const parsed = parseOConfig(c.component.oConfig, { service: c.name });
      return parsed.next.value["sc.production"] !== true;
    })
    .map((c) => c.name);
  checks.push(
    without.length === 0
      ? { name: "sc.production", status: "ok", detail: "set in every oConfig" }
      : {
          name: "sc.production",
          status: environment.noDowntime ? "fail" : "warn",
          detail: `not true in the oConfig of ${without.join(", ")}; add "sc.production": true`,
        },
  );
}

function report(checks: Check[], environment: Environment, output: Output): void {
  const failed = checks.filter((c) => c.status === "fail");
  if (output.json) {
    printJson(output, { ok: failed.length === 0, environment: environment.name, checks });
  } else {
    const color = colorEnabled();
    const mark = {
      ok: paint("ok  ", "green", color),
      warn: paint("warn", "yellow", color),
      fail: paint("FAIL", "red", color),
    };
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) output.out(`${mark[c.status]}  ${c.name.padEnd(width)}  ${c.detail}\n`);
  }
  if (failed.length > 0) {
    throw new CliError(
      `the cluster is not ready for environment "${environment.name}": ${failed.map((c) => c.name).join(", ")} failed; fix what the lines above say`,
      ExitCode.failed,
    );
  }
}
