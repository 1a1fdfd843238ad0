/**
 * Which oConfig ConfigMaps can go. Kept: every ConfigMap used by the last N releases, every one a workload
 * still references (stable or preview pods), and young ones no release mentions yet (a release being applied
 * creates its ConfigMaps before it is recorded). Only ConfigMaps labelled as rollway's are ever considered.
 */
import { OConfigError } from "./errors.js";
import { LABEL_MANAGED_BY, LABEL_SERVICE, MANAGED_BY_VALUE } from "./render.js";

export interface ExistingConfigMap {
  name: string;
  labels?: Record<string, string> | undefined;
  /** RFC 3339, as in `metadata.creationTimestamp`. */
  creationTimestamp?: string | undefined;
}

export interface ReleaseConfigMaps {
  releaseId: string;
  /** Every oConfig ConfigMap the release's components used (current and next). */
  configMaps: readonly string[];
}

export interface GcInput {
  existing: readonly ExistingConfigMap[];
  /** The release history, oldest first. */
  releases: readonly ReleaseConfigMaps[];
  /** ConfigMaps referenced by live pod templates (see `referencedConfigMap`). */
  referenced: readonly string[];
  /** How many of the most recent releases keep their ConfigMaps. At least 1. */
  keepReleases: number;
  /** With `now`, ConfigMaps younger than `minAgeSeconds` that no release mentions are kept. */
  now?: Date;
  /** Default 600. */
  minAgeSeconds?: number;
}

export type GcKeepReason = "referenced" | "recent-release" | "too-young";

export interface GcPlan {
  delete: { name: string; lastRelease: string | undefined }[];
  keep: { name: string; reason: GcKeepReason; release?: string }[];
}

const isManaged = (cm: ExistingConfigMap) =>
  cm.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE && cm.labels?.[LABEL_SERVICE] !== undefined;

/** Plans the garbage collection of oConfig ConfigMaps. Pure; the caller deletes `delete[].name`. */
export function planConfigMapGc(input: GcInput): GcPlan {
  if (!Number.isInteger(input.keepReleases) || input.keepReleases < 1) {
    throw new OConfigError([
      {
        code: "INVALID_OPTION",
        service: "*",
        path: [],
        message: `keepReleases is ${input.keepReleases}; keep at least 1 release (the running one)`,
      },
    ]);
  }
  const referenced = new Set(input.referenced);
  const recent = new Map<string, string>();
  const lastUse = new Map<string, string>();
  const firstRecent = Math.max(0, input.releases.length - input.keepReleases);
  input.releases.forEach((release, index) => {
    for (const name of release.configMaps) {
      lastUse.set(name, release.releaseId);
      if (index >= firstRecent) recent.set(name, release.releaseId);
    }
  });
  const minAgeMs = (input.minAgeSeconds ?? 600) * 1000;
  const plan: GcPlan = { delete: [], keep: [] };
  for (const cm of [...input.existing].filter(isManaged).sort((a, b) => a.name.localeCompare(b.name))) {
    const recentRelease = recent.get(cm.name);
    if (referenced.has(cm.name)) {
      plan.keep.push({ name: cm.name, reason: "referenced" });
    } else if (recentRelease !== undefined) {
      plan.keep.push({ name: cm.name, reason: "recent-release", release: recentRelease });
    } else if (!lastUse.has(cm.name) && input.now && isYoung(cm, input.now, minAgeMs)) {
      plan.keep.push({ name: cm.name, reason: "too-young" });
    } else {
      plan.delete.push({ name: cm.name, lastRelease: lastUse.get(cm.name) });
    }
  }
  return plan;
}

function isYoung(cm: ExistingConfigMap, now: Date, minAgeMs: number): boolean {
  if (cm.creationTimestamp === undefined) return true; // unknown age: not ours to judge, keep it
  const created = Date.parse(cm.creationTimestamp);
  return Number.isNaN(created) || now.getTime() - created < minAgeMs;
}
