/**
 * The defaults the real API server fills in for built-in kinds (pkg/apis/<group>/v1/defaults.go), limited to the
 * fields that controllers and clients read back: replicas, strategies, restart policy, pull policy, service ports.
 */
import type { KubeObject } from "./crds.js";
import { isPlainObject } from "./patch/index.js";

type Obj = Record<string, unknown>;

function obj(parent: Obj, key: string): Obj {
  const v = parent[key];
  if (isPlainObject(v)) return v;
  // A wrong type stays as sent, for validation to report; defaults then go to a detached object.
  if (v !== undefined && v !== null) return {};
  const fresh: Obj = {};
  parent[key] = fresh;
  return fresh;
}

function setDefault(o: Obj, key: string, value: unknown): void {
  if (isPlainObject(o) && (o[key] === undefined || o[key] === null)) o[key] = value;
}

/** The plain-object entries of a list field; anything else is left for validation to report. */
function objects(list: unknown): Obj[] {
  return Array.isArray(list) ? list.filter(isPlainObject) : [];
}

function defaultContainer(c: Obj): void {
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  if (c.imagePullPolicy === undefined) {
    const image = String(c.image ?? "");
    const tag = image.includes("@") ? "digest" : (/:([^/:]+)$/.exec(image)?.[1] ?? "latest");
    c.imagePullPolicy = tag === "latest" ? "Always" : "IfNotPresent";
  }
  setDefault(c, "resources", {});
  for (const p of objects(c.ports)) setDefault(p, "protocol", "TCP");
}

export function defaultPodSpec(spec: Obj, restartPolicy = "Always"): void {
  setDefault(spec, "restartPolicy", restartPolicy);
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "securityContext", {});
  setDefault(spec, "schedulerName", "default-scheduler");
  for (const list of ["containers", "initContainers"]) for (const c of objects(spec[list])) defaultContainer(c);
}

function defaultTemplate(spec: Obj, restartPolicy?: string): void {
  const template = obj(spec, "template");
  obj(template, "metadata");
  const podSpec = template.spec;
  if (isPlainObject(podSpec)) defaultPodSpec(podSpec, restartPolicy);
}

/** Fills in defaults in place, for the kinds that have them. */
export function applyDefaults(group: string, resource: string, o: KubeObject): void {
  const spec = isPlainObject(o.spec) ? o.spec : undefined;
  switch (`${group}/${resource}`) {
    case "apps/deployments": {
      if (!spec) return;
      setDefault(spec, "replicas", 1);
      const strategy = obj(spec, "strategy");
      setDefault(strategy, "type", "RollingUpdate");
      if (strategy.type === "RollingUpdate") {
        const ru = obj(strategy, "rollingUpdate");
        setDefault(ru, "maxUnavailable", "25%");
        setDefault(ru, "maxSurge", "25%");
      }
      setDefault(spec, "revisionHistoryLimit", 10);
      setDefault(spec, "progressDeadlineSeconds", 600);
      defaultTemplate(spec);
      return;
    }
    case "apps/replicasets":
      if (!spec) return;
      setDefault(spec, "replicas", 1);
      defaultTemplate(spec);
      return;
    case "apps/daemonsets": {
      // apps/v1 SetDefaults_DaemonSet: RollingUpdate with maxUnavailable 1 and maxSurge 0.
      if (!spec) return;
      const strategy = obj(spec, "updateStrategy");
      setDefault(strategy, "type", "RollingUpdate");
      if (strategy.type === "RollingUpdate") {
        const ru = obj(strategy, "rollingUpdate");
        setDefault(ru, "maxUnavailable", 1);
        setDefault(ru, "maxSurge", 0);
      }
      setDefault(spec, "revisionHistoryLimit", 10);
      defaultTemplate(spec);
      return;
    }
    case "batch/jobs":
      if (!spec) return;
      setDefault(spec, "parallelism", 1);
      setDefault(spec, "completions", 1);
      setDefault(spec, "backoffLimit", 6);
      setDefault(spec, "completionMode", "NonIndexed");
      setDefault(spec, "suspend", false);
      setDefault(spec, "manualSelector", undefined);
      if (spec.manualSelector === undefined) delete spec.manualSelector;
      defaultTemplate(spec);
      return;
    case "/pods":
      if (spec) defaultPodSpec(spec);
      return;
    case "/services": {
      if (!spec) return;
      setDefault(spec, "type", "ClusterIP");
      setDefault(spec, "sessionAffinity", "None");
      for (const p of objects(spec.ports)) {
        setDefault(p, "protocol", "TCP");
        setDefault(p, "targetPort", p.port);
      }
      return;
    }
    case "/namespaces": {
      // As the NamespaceDefaultLabelName admission: every namespace carries its own name as a label.
      if (o.metadata.name)
        o.metadata.labels = { ...(o.metadata.labels ?? {}), "kubernetes.io/metadata.name": o.metadata.name };
      const s = obj(o as Obj, "spec");
      setDefault(s, "finalizers", ["kubernetes"]);
      const status = obj(o as Obj, "status");
      setDefault(status, "phase", "Active");
      return;
    }
  }
}
