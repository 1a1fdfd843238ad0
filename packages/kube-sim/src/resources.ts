/**
 * The resource types the server knows: the built-in kinds it serves and the custom resources loaded from CRDs.
 * A type is addressed on the wire by group, version and plural resource name, as in `/apis/apps/v1/deployments`.
 */

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface ResourceType {
  group: string;
  /** Served versions; the first is the preferred one. */
  versions: string[];
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  status: boolean;
  scale: ScaleSubresource | undefined;
  /** Whether `metadata.generation` is kept and bumped on spec changes. */
  generation: boolean;
  /** For custom resources: the CRD's openAPIV3Schema per version. */
  schemas: Map<string, Record<string, unknown>> | undefined;
  printerColumns: Map<string, PrinterColumn[]> | undefined;
  custom: boolean;
  /** Verbs served when not all of them are (create-only reviews); undefined means every verb. */
  verbs?: string[];
  /**
   * Another API for objects stored as a different type (events.k8s.io/v1 Events are core/v1 Events in one
   * storage, as in the real server); the handler converts on the way in and out.
   */
  storedAs?: { group: string; resource: string };
}

/** Unique key of a type in the store: `apps/deployments`, `/pods`. */
export function typeKey(t: { group: string; resource: string }): string {
  return `${t.group}/${t.resource}`;
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

interface BuiltIn {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: boolean;
  generation?: boolean;
  verbs?: string[];
  storedAs?: { group: string; resource: string };
}

const all = ["all"];
const builtIns: BuiltIn[] = [
  {
    group: "",
    version: "v1",
    resource: "namespaces",
    kind: "Namespace",
    namespaced: false,
    shortNames: ["ns"],
    status: true,
  },
  { group: "", version: "v1", resource: "nodes", kind: "Node", namespaced: false, shortNames: ["no"], status: true },
  {
    group: "",
    version: "v1",
    resource: "pods",
    kind: "Pod",
    namespaced: true,
    shortNames: ["po"],
    categories: all,
    status: true,
  },
  {
    group: "",
    version: "v1",
    resource: "services",
    kind: "Service",
    namespaced: true,
    shortNames: ["svc"],
    categories: all,
    status: true,
  },
  { group: "", version: "v1", resource: "endpoints", kind: "Endpoints", namespaced: true, shortNames: ["ep"] },
  { group: "", version: "v1", resource: "configmaps", kind: "ConfigMap", namespaced: true, shortNames: ["cm"] },
  { group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true },
  {
    group: "",
    version: "v1",
    resource: "serviceaccounts",
    kind: "ServiceAccount",
    namespaced: true,
    shortNames: ["sa"],
  },
  { group: "", version: "v1", resource: "events", kind: "Event", namespaced: true, shortNames: ["ev"] },
  {
    group: "",
    version: "v1",
    resource: "persistentvolumeclaims",
    kind: "PersistentVolumeClaim",
    namespaced: true,
    shortNames: ["pvc"],
    status: true,
  },
  {
    group: "apps",
    version: "v1",
    resource: "deployments",
    kind: "Deployment",
    namespaced: true,
    shortNames: ["deploy"],
    categories: all,
    status: true,
    scale: true,
    generation: true,
  },
  {
    group: "apps",
    version: "v1",
    resource: "replicasets",
    kind: "ReplicaSet",
    namespaced: true,
    shortNames: ["rs"],
    categories: all,
    status: true,
    scale: true,
    generation: true,
  },
  {
    group: "apps",
    version: "v1",
    resource: "statefulsets",
    kind: "StatefulSet",
    namespaced: true,
    shortNames: ["sts"],
    categories: all,
    status: true,
    scale: true,
    generation: true,
  },
  {
    group: "apps",
    version: "v1",
    resource: "daemonsets",
    kind: "DaemonSet",
    namespaced: true,
    shortNames: ["ds"],
    categories: all,
    status: true,
    generation: true,
  },
  { group: "apps", version: "v1", resource: "controllerrevisions", kind: "ControllerRevision", namespaced: true },
  {
    group: "batch",
    version: "v1",
    resource: "jobs",
    kind: "Job",
    namespaced: true,
    categories: all,
    status: true,
    generation: true,
  },
  {
    group: "batch",
    version: "v1",
    resource: "cronjobs",
    kind: "CronJob",
    namespaced: true,
    shortNames: ["cj"],
    categories: all,
    status: true,
    generation: true,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    resource: "ingresses",
    kind: "Ingress",
    namespaced: true,
    shortNames: ["ing"],
    status: true,
    generation: true,
  },
  {
    group: "autoscaling",
    version: "v2",
    resource: "horizontalpodautoscalers",
    kind: "HorizontalPodAutoscaler",
    namespaced: true,
    shortNames: ["hpa"],
    categories: all,
    status: true,
    generation: true,
  },
  {
    group: "policy",
    version: "v1",
    resource: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    namespaced: true,
    shortNames: ["pdb"],
    status: true,
    generation: true,
  },
  // The same Events as core/v1, in the events.k8s.io shape (regarding/note/deprecated* fields).
  {
    group: "events.k8s.io",
    version: "v1",
    resource: "events",
    kind: "Event",
    namespaced: true,
    shortNames: ["ev"],
    storedAs: { group: "", resource: "events" },
  },
  // RBAC objects are stored and served; kube-sim authorizes through `faults.deny()`, not through them.
  { group: "rbac.authorization.k8s.io", version: "v1", resource: "roles", kind: "Role", namespaced: true },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "rolebindings",
    kind: "RoleBinding",
    namespaced: true,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterroles",
    kind: "ClusterRole",
    namespaced: false,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
  },
  // Leases keep no generation in the real server either (the registry strategy never sets it).
  { group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true },
  // Create-only: nothing is stored; the answer is computed from the deny rules (see `Faults.deny`).
  {
    group: "authorization.k8s.io",
    version: "v1",
    resource: "selfsubjectaccessreviews",
    kind: "SelfSubjectAccessReview",
    namespaced: false,
    verbs: ["create"],
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    resource: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
    shortNames: ["crd", "crds"],
    status: true,
    generation: true,
  },
];

export function builtInTypes(): ResourceType[] {
  return builtIns.map((b) => ({
    group: b.group,
    versions: [b.version],
    resource: b.resource,
    kind: b.kind,
    singular: b.kind.toLowerCase(),
    namespaced: b.namespaced,
    shortNames: b.shortNames ?? [],
    categories: b.categories ?? [],
    status: b.status ?? false,
    scale: b.scale
      ? {
          specReplicasPath: ".spec.replicas",
          statusReplicasPath: ".status.replicas",
          labelSelectorPath: ".status.selector",
        }
      : undefined,
    generation: b.generation ?? false,
    schemas: undefined,
    printerColumns: undefined,
    custom: false,
    ...(b.verbs ? { verbs: b.verbs } : {}),
    ...(b.storedAs ? { storedAs: b.storedAs } : {}),
  }));
}

/** Looks up types by group/version/resource, by kind, and by the short names kubectl uses. */
export class ResourceTypes {
  private byKey = new Map<string, ResourceType>();

  constructor(types: Iterable<ResourceType> = []) {
    for (const t of types) this.add(t);
  }

  add(type: ResourceType): void {
    this.byKey.set(typeKey(type), type);
  }

  remove(group: string, resource: string): void {
    this.byKey.delete(typeKey({ group, resource }));
  }

  all(): ResourceType[] {
    return [...this.byKey.values()];
  }

  get(group: string, resource: string): ResourceType | undefined {
    return this.byKey.get(typeKey({ group, resource }));
  }

  /** The type for `group/version` and `resource`, only if that version is served. */
  lookup(group: string, version: string, resource: string): ResourceType | undefined {
    const t = this.byKey.get(typeKey({ group, resource }));
    return t?.versions.includes(version) ? t : undefined;
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    for (const t of this.byKey.values())
      if (t.group === group && t.kind === kind && t.versions.includes(version)) return t;
    return undefined;
  }

  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.byKey.values()) {
      const versions = out.get(t.group) ?? [];
      for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
      out.set(t.group, versions);
    }
    return out;
  }
}
