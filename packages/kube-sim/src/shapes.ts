/**
 * The JSON types of the built-in fields that the simulator and its controllers read. Go's typed decoding refuses
 * a body whose field has the wrong JSON type with 400 ("json: cannot unmarshal array into Go struct field ..."),
 * before validation; this table does the same for those fields. `[]` stands for every element of a list.
 */
import type { KubeObject } from "./crds.js";
import { isPlainObject } from "./patch/index.js";

type Shape = "object" | "array" | "string" | "integer" | "boolean" | "map";

function podSpec(p: string): [string, Shape][] {
  const c = (list: string): [string, Shape][] => [
    [`${p}.${list}`, "array"],
    [`${p}.${list}[]`, "object"],
    [`${p}.${list}[].name`, "string"],
    [`${p}.${list}[].image`, "string"],
    [`${p}.${list}[].command`, "array"],
    [`${p}.${list}[].args`, "array"],
    [`${p}.${list}[].ports`, "array"],
    [`${p}.${list}[].ports[]`, "object"],
    [`${p}.${list}[].ports[].containerPort`, "integer"],
    [`${p}.${list}[].ports[].name`, "string"],
    [`${p}.${list}[].env`, "array"],
    [`${p}.${list}[].env[]`, "object"],
    [`${p}.${list}[].env[].name`, "string"],
    [`${p}.${list}[].env[].value`, "string"],
    [`${p}.${list}[].resources`, "object"],
    [`${p}.${list}[].volumeMounts`, "array"],
    [`${p}.${list}[].volumeMounts[]`, "object"],
  ];
  return [
    [p, "object"],
    ...c("containers"),
    ...c("initContainers"),
    [`${p}.volumes`, "array"],
    [`${p}.volumes[]`, "object"],
    [`${p}.nodeSelector`, "map"],
    [`${p}.restartPolicy`, "string"],
    [`${p}.nodeName`, "string"],
    [`${p}.terminationGracePeriodSeconds`, "integer"],
    [`${p}.imagePullSecrets`, "array"],
    [`${p}.tolerations`, "array"],
  ];
}

const workload: [string, Shape][] = [
  ["spec.replicas", "integer"],
  ["spec.selector", "object"],
  ["spec.selector.matchLabels", "map"],
  ["spec.selector.matchExpressions", "array"],
  ["spec.selector.matchExpressions[]", "object"],
  ["spec.selector.matchExpressions[].key", "string"],
  ["spec.selector.matchExpressions[].operator", "string"],
  ["spec.selector.matchExpressions[].values", "array"],
  ["spec.template", "object"],
  ["spec.template.metadata", "object"],
  ["spec.template.metadata.labels", "map"],
  ["spec.template.metadata.annotations", "map"],
  ...podSpec("spec.template.spec"),
  ["spec.minReadySeconds", "integer"],
  ["spec.revisionHistoryLimit", "integer"],
];

const shapes: Record<string, [string, Shape][]> = {
  "apps/deployments": [
    ...workload,
    ["spec.strategy", "object"],
    ["spec.strategy.type", "string"],
    ["spec.strategy.rollingUpdate", "object"],
    ["spec.progressDeadlineSeconds", "integer"],
    ["spec.paused", "boolean"],
  ],
  "apps/replicasets": workload,
  "apps/statefulsets": workload,
  "apps/daemonsets": workload,
  "batch/jobs": [
    ...workload,
    ["spec.parallelism", "integer"],
    ["spec.completions", "integer"],
    ["spec.backoffLimit", "integer"],
    ["spec.activeDeadlineSeconds", "integer"],
    ["spec.ttlSecondsAfterFinished", "integer"],
    ["spec.suspend", "boolean"],
    ["spec.manualSelector", "boolean"],
  ],
  "/pods": podSpec("spec"),
  "/services": [
    ["spec.selector", "map"],
    ["spec.ports", "array"],
    ["spec.ports[]", "object"],
    ["spec.ports[].port", "integer"],
    ["spec.ports[].name", "string"],
    ["spec.ports[].protocol", "string"],
    ["spec.type", "string"],
    ["spec.clusterIP", "string"],
  ],
  "/configmaps": [
    ["data", "map"],
    ["binaryData", "map"],
  ],
  "/secrets": [
    ["data", "map"],
    ["stringData", "map"],
    ["type", "string"],
  ],
  "/namespaces": [["spec.finalizers", "array"]],
  "coordination.k8s.io/leases": [
    ["spec.holderIdentity", "string"],
    ["spec.leaseDurationSeconds", "integer"],
    ["spec.leaseTransitions", "integer"],
    ["spec.acquireTime", "string"],
    ["spec.renewTime", "string"],
  ],
};

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  return typeof v === "object" ? "object" : typeof v;
}

function fits(v: unknown, shape: Shape): boolean {
  switch (shape) {
    case "object":
      return isPlainObject(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "boolean":
      return typeof v === "boolean";
    case "map":
      return isPlainObject(v) && Object.values(v).every((x) => typeof x === "string");
  }
}

const goType: Record<Shape, string> = {
  object: "struct",
  array: "slice",
  string: "string",
  integer: "int32",
  boolean: "bool",
  map: "map[string]string",
};

/** Values at a path with `[]` steps, with their concrete path (`spec.ports[2].port`). */
function at(obj: unknown, path: string): [string, unknown][] {
  let current: [string, unknown][] = [["", obj]];
  for (const part of path.split(".")) {
    const many = part.endsWith("[]");
    const key = many ? part.slice(0, -2) : part;
    const next: [string, unknown][] = [];
    for (const [p, v] of current) {
      if (!isPlainObject(v) || v[key] === undefined) continue;
      const child = v[key];
      const childPath = p ? `${p}.${key}` : key;
      if (!many) next.push([childPath, child]);
      else if (Array.isArray(child)) for (const [i, e] of child.entries()) next.push([`${childPath}[${i}]`, e]);
    }
    current = next;
  }
  return current;
}

/** The first field whose JSON type is wrong, as the message Go's decoder would give; undefined when all fit. */
export function checkShapes(group: string, resource: string, kind: string, obj: KubeObject): string | undefined {
  for (const [path, shape] of shapes[`${group}/${resource}`] ?? []) {
    for (const [concrete, value] of at(obj, path)) {
      if (value === undefined || fits(value, shape)) continue;
      return `json: cannot unmarshal ${jsonType(value)} into Go struct field ${kind}.${concrete} of type ${goType[shape]}`;
    }
  }
  return undefined;
}
