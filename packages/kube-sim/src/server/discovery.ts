/** Discovery documents (/version, /api, /apis, /api/v1, /apis/<group>/<version>), in their legacy (v1) form. */
import type { ResourceType, ResourceTypes } from "../resources.js";

export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-kube-sim",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23.4",
  compiler: "gc",
  platform: "linux/amd64",
};

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export function apiVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

export function apiGroupList(types: ResourceTypes) {
  const groups = [...types.groups().entries()]
    .filter(([g]) => g !== "")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, versions]) => ({
      name,
      versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    }));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

export function apiGroup(types: ResourceTypes, group: string) {
  const versions = types.groups().get(group);
  if (!versions) return undefined;
  return {
    kind: "APIGroup",
    apiVersion: "v1",
    name: group,
    versions: versions.map((version) => ({ groupVersion: `${group}/${version}`, version })),
    preferredVersion: { groupVersion: `${group}/${versions[0]}`, version: versions[0] },
  };
}

function resourceEntries(t: ResourceType) {
  const out: Record<string, unknown>[] = [
    {
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs ?? ALL_VERBS,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
    },
  ];
  if (t.status)
    out.push({
      name: `${t.resource}/status`,
      singularName: "",
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: ["get", "patch", "update"],
    });
  if (t.group === "" && t.resource === "pods")
    out.push({ name: "pods/log", singularName: "", namespaced: true, kind: "Pod", verbs: ["get"] });
  if (t.scale)
    out.push({
      name: `${t.resource}/scale`,
      singularName: "",
      namespaced: t.namespaced,
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
      verbs: ["get", "patch", "update"],
    });
  return out;
}

export function apiResourceList(types: ResourceTypes, group: string, version: string) {
  const resources = types
    .all()
    .filter((t) => t.group === group && t.versions.includes(version))
    .sort((a, b) => a.resource.localeCompare(b.resource))
    .flatMap(resourceEntries);
  if (resources.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}
