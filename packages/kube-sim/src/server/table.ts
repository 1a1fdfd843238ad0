/**
 * Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for (Accept: ...;as=Table), with the
 * usual columns for common built-in kinds and a CRD's additionalPrinterColumns for custom resources.
 */
import type { KubeObject } from "../crds.js";
import type { PrinterColumn, ResourceType } from "../resources.js";
import { formatSelector, fromLabelSelectorObject, type LabelSelectorObject } from "../selectors.js";

type Obj = Record<string, unknown>;

export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept);
}

/** kubectl's duration format (apimachinery duration.HumanDuration): 5s, 3m20s, 4h, 3h30m, 2d1h, 12d, 3y. */
export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  return `${Math.floor(h / 24 / 365)}y`;
}

/** Evaluates the simple JSONPath forms used in printer columns: `.a.b`, `.a[0].b`, `.a[?(@.k=="v")].b`. */
export function jsonPath(obj: unknown, path: string): unknown {
  const tokens = path.replace(/^\{|\}$/g, "").match(/\.[^.[]+|\[[^\]]*\]/g) ?? [];
  let current: unknown[] = [obj];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const c of current) {
      if (t.startsWith(".")) {
        if (c && typeof c === "object" && !Array.isArray(c)) next.push((c as Obj)[t.slice(1)]);
      } else if (Array.isArray(c)) {
        const filter = /^\[\?\(@\.([\w.]+)\s*==\s*["']([^"']*)["']\)\]$/.exec(t);
        if (filter)
          for (const e of c)
            if (e && typeof e === "object" && String((e as Obj)[filter[1] as string]) === filter[2]) next.push(e);
        const index = /^\[(\d+)\]$/.exec(t);
        if (index) next.push(c[Number(index[1])]);
        if (t === "[*]") next.push(...c);
      }
    }
    current = next.filter((v) => v !== undefined);
  }
  return current.length === 0 ? undefined : current.length === 1 ? current[0] : current;
}

interface Column {
  def: PrinterColumn & { format?: string };
  cell(o: KubeObject, now: number): unknown;
}

const nameColumn: Column = {
  def: {
    name: "Name",
    type: "string",
    jsonPath: ".metadata.name",
    description: "Name must be unique within a namespace.",
    priority: 0,
    format: "name",
  },
  cell: (o) => o.metadata.name,
};
const ageColumn: Column = {
  def: {
    name: "Age",
    type: "string",
    jsonPath: ".metadata.creationTimestamp",
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
    priority: 0,
  },
  cell: (o, now) =>
    o.metadata.creationTimestamp ? humanAge(now - Date.parse(o.metadata.creationTimestamp)) : "<unknown>",
};

function col(name: string, type: string, cell: (o: KubeObject, now: number) => unknown, priority = 0): Column {
  return { def: { name, type, jsonPath: "", description: name, priority }, cell };
}

/**
 * The apiserver always prints tables as `-o wide` (printers.GenerateOptions{Wide: true}); the extra columns have
 * priority 1 and kubectl shows them only with `-o wide`.
 */
const wide = (name: string, type: string, cell: (o: KubeObject, now: number) => unknown) => col(name, type, cell, 1);

/** layoutContainerCells: names and images, comma-separated. */
function containerCells(o: KubeObject): { names: string; images: string } {
  const template = spec(o).template as Obj | undefined;
  const containers = ((template?.spec as Obj | undefined)?.containers ?? []) as Obj[];
  return {
    names: containers.map((c) => String(c.name ?? "")).join(","),
    images: containers.map((c) => String(c.image ?? "")).join(","),
  };
}

function selectorCell(o: KubeObject): string {
  const selector = spec(o).selector;
  if (selector === undefined || selector === null) return "";
  try {
    return formatSelector(fromLabelSelectorObject(selector as LabelSelectorObject));
  } catch {
    return "<invalid>";
  }
}

const workloadWide = [
  wide("Containers", "string", (o) => containerCells(o).names),
  wide("Images", "string", (o) => containerCells(o).images),
  wide("Selector", "string", selectorCell),
];

const since = (now: number, t: unknown) =>
  typeof t === "string" && t !== "" ? humanAge(now - Date.parse(t)) : "<unknown>";

/** printEvent: Last Seen from lastTimestamp (or the series, or firstTimestamp/eventTime), Object as kind/name. */
function eventTimes(o: KubeObject, now: number): { first: string; last: string; count: number } {
  const e = o as unknown as Obj;
  const first = e.firstTimestamp ? since(now, e.firstTimestamp) : since(now, e.eventTime);
  let last = e.lastTimestamp ? since(now, e.lastTimestamp) : first;
  let count = num(e.count);
  const series = e.series as Obj | undefined;
  if (series) {
    last = since(now, series.lastObservedTime);
    count = num(series.count);
  } else if (count === 0) count = 1;
  return { first, last, count };
}

function eventTarget(o: KubeObject): string {
  const involved = ((o as unknown as Obj).involvedObject ?? {}) as Obj;
  const kind = String(involved.kind ?? "").toLowerCase();
  return involved.name ? `${kind}/${String(involved.name)}` : kind;
}

function eventSource(o: KubeObject): string {
  const e = o as unknown as Obj;
  const source = (e.source ?? {}) as Obj;
  const component = String(source.component || e.reportingComponent || "");
  const instance = String(source.host || e.reportingInstance || "");
  return instance ? `${component}, ${instance}` : component;
}

const eventColumns: Column[] = [
  col("Last Seen", "string", (o, now) => eventTimes(o, now).last),
  col("Type", "string", (o) => (o as unknown as Obj).type ?? ""),
  col("Reason", "string", (o) => (o as unknown as Obj).reason ?? ""),
  col("Object", "string", eventTarget),
  wide("Subobject", "string", (o) => (((o as unknown as Obj).involvedObject ?? {}) as Obj).fieldPath ?? ""),
  wide("Source", "string", eventSource),
  col("Message", "string", (o) => String((o as unknown as Obj).message ?? "").trim()),
  wide("First Seen", "string", (o, now) => eventTimes(o, now).first),
  wide("Count", "string", (o, now) => eventTimes(o, now).count),
  { ...wide("Name", "string", (o) => o.metadata.name), def: { ...nameColumn.def, priority: 1 } },
];

function subjects(o: KubeObject): { users: string; groups: string; sas: string } {
  const list = ((o as unknown as Obj).subjects ?? []) as Obj[];
  const pick = (kind: string) => list.filter((x) => x.kind === kind);
  return {
    users: pick("User")
      .map((x) => String(x.name))
      .join(", "),
    groups: pick("Group")
      .map((x) => String(x.name))
      .join(", "),
    sas: pick("ServiceAccount")
      .map((x) => `${String(x.namespace ?? "")}/${String(x.name)}`)
      .join(", "),
  };
}

const bindingColumns = (o: KubeObject) => {
  const ref = ((o as unknown as Obj).roleRef ?? {}) as Obj;
  return `${String(ref.kind ?? "")}/${String(ref.name ?? "")}`;
};

const num = (v: unknown) => (typeof v === "number" ? v : 0);
const spec = (o: KubeObject) => (o.spec ?? {}) as Obj;
const status = (o: KubeObject) => (o.status ?? {}) as Obj;

function podStatus(o: KubeObject): string {
  if (o.metadata.deletionTimestamp) return "Terminating";
  const statuses = (status(o).containerStatuses ?? []) as Obj[];
  for (const c of statuses) {
    const state = (c.state ?? {}) as Obj;
    const waiting = state.waiting as Obj | undefined;
    if (waiting?.reason) return String(waiting.reason);
    const terminated = state.terminated as Obj | undefined;
    if (terminated?.reason && status(o).phase === "Running") return String(terminated.reason);
  }
  return String(status(o).phase ?? "Pending");
}

const builtInColumns: Record<string, Column[]> = {
  "/pods": [
    col("Ready", "string", (o) => {
      const cs = (status(o).containerStatuses ?? []) as Obj[];
      return `${cs.filter((c) => c.ready === true).length}/${((spec(o).containers ?? []) as unknown[]).length}`;
    }),
    col("Status", "string", podStatus),
    col("Restarts", "string", (o) =>
      String(((status(o).containerStatuses ?? []) as Obj[]).reduce((n, c) => n + num(c.restartCount), 0)),
    ),
  ],
  "apps/deployments": [
    col("Ready", "string", (o) => `${num(status(o).readyReplicas)}/${num(spec(o).replicas)}`),
    col("Up-to-date", "integer", (o) => num(status(o).updatedReplicas)),
    col("Available", "integer", (o) => num(status(o).availableReplicas)),
  ],
  "apps/replicasets": [
    col("Desired", "integer", (o) => num(spec(o).replicas)),
    col("Current", "integer", (o) => num(status(o).replicas)),
    col("Ready", "integer", (o) => num(status(o).readyReplicas)),
  ],
  "rbac.authorization.k8s.io/rolebindings": [col("Role", "string", bindingColumns)],
  "rbac.authorization.k8s.io/clusterrolebindings": [col("Role", "string", bindingColumns)],
  "batch/jobs": [
    col("Status", "string", (o) => {
      const conditions = (status(o).conditions ?? []) as Obj[];
      if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return "Complete";
      if (conditions.some((c) => c.type === "Failed" && c.status === "True")) return "Failed";
      return "Running";
    }),
    col("Completions", "string", (o) => `${num(status(o).succeeded)}/${num(spec(o).completions ?? 1)}`),
  ],
  "/services": [
    col("Type", "string", (o) => spec(o).type ?? "ClusterIP"),
    col("Cluster-IP", "string", (o) => spec(o).clusterIP ?? "<none>"),
    col("External-IP", "string", () => "<none>"),
    col(
      "Port(s)",
      "string",
      (o) => ((spec(o).ports ?? []) as Obj[]).map((p) => `${p.port}/${p.protocol ?? "TCP"}`).join(",") || "<none>",
    ),
  ],
  "/namespaces": [col("Status", "string", (o) => status(o).phase ?? "Active")],
  "coordination.k8s.io/leases": [col("Holder", "string", (o) => spec(o).holderIdentity ?? "")],
};

/** Priority-1 columns after AGE, in printers.go's order. */
const wideColumns: Record<string, Column[]> = {
  "/pods": [
    wide("IP", "string", (o) => status(o).podIP ?? "<none>"),
    wide("Node", "string", (o) => spec(o).nodeName ?? "<none>"),
    wide("Nominated Node", "string", (o) => status(o).nominatedNodeName ?? "<none>"),
    wide("Readiness Gates", "string", (o) => {
      const gates = (spec(o).readinessGates ?? []) as Obj[];
      if (gates.length === 0) return "<none>";
      const conditions = (status(o).conditions ?? []) as Obj[];
      const ready = gates.filter((g) =>
        conditions.some((c) => c.type === g.conditionType && c.status === "True"),
      ).length;
      return `${ready}/${gates.length}`;
    }),
  ],
  "apps/deployments": workloadWide,
  "apps/replicasets": workloadWide,
  "rbac.authorization.k8s.io/rolebindings": [
    wide("Users", "string", (o) => subjects(o).users),
    wide("Groups", "string", (o) => subjects(o).groups),
    wide("ServiceAccounts", "string", (o) => subjects(o).sas),
  ],
  "rbac.authorization.k8s.io/clusterrolebindings": [
    wide("Users", "string", (o) => subjects(o).users),
    wide("Groups", "string", (o) => subjects(o).groups),
    wide("ServiceAccounts", "string", (o) => subjects(o).sas),
  ],
};

function columnsFor(type: ResourceType, version: string): Column[] {
  if (type.custom) {
    const defs = type.printerColumns?.get(version) ?? [];
    const cols = defs.map((d) => ({ def: d, cell: (o: KubeObject, now: number) => customCell(o, d, now) }));
    return [
      nameColumn,
      ...cols,
      ...(defs.some((d) => d.jsonPath === ".metadata.creationTimestamp") ? [] : [ageColumn]),
    ];
  }
  const key = `${type.group}/${type.resource}`;
  if (key === "/events") return eventColumns;
  return [nameColumn, ...(builtInColumns[key] ?? []), ageColumn, ...(wideColumns[key] ?? [])];
}

function customCell(o: KubeObject, d: PrinterColumn, now: number): unknown {
  const v = jsonPath(o, d.jsonPath);
  if (v === undefined) return null;
  if (d.type === "date" && typeof v === "string") return humanAge(now - Date.parse(v));
  if (Array.isArray(v)) return v.join(",");
  return v;
}

export function toTable(
  type: ResourceType,
  version: string,
  objects: KubeObject[],
  resourceVersion: string,
  listMeta: Obj | undefined,
  now: number,
  withColumns = true,
) {
  const columns = columnsFor(type, version);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta ?? { resourceVersion },
    // Watch events after the first carry no definitions, as the apiserver sends them (kubectl reuses the last).
    columnDefinitions: withColumns
      ? columns.map((c) => ({ ...c.def, format: c.def.format ?? "", priority: c.def.priority ?? 0 }))
      : [],
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o, now)),
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}
