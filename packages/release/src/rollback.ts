/** The pure part of a rollback: the plan that puts back what a release replaced. */
import { referencedConfigMap } from "@rollway/oconfig-versioning";
import { changedComponents, type ReleasePlan } from "./plan.js";
import type { ReleaseRecord } from "./records.js";
import { imagesOf } from "./served.js";

/**
 * The plan that undoes a release: every component it changed back to the template users were served before it
 * (its record's `servedBefore`: image and oConfig volume, byte for byte; for a failed release whose abort could not
 * finish, only the components left), promoted automatically, without hooks or code as data. The new version keeps
 * serving until the old one is ready. Records without `servedBefore` (written by an older engine) go back by image
 * and oConfig.
 */
export function reversePlan(record: ReleaseRecord | ReleasePlan): ReleasePlan {
  const r = "plan" in record ? record : undefined;
  const p = r ? r.plan : (record as ReleasePlan);
  const only = r?.state === "failed" ? new Set(r.leftover ?? []) : undefined;
  return {
    ...p,
    promotion: { ...p.promotion, mode: "auto" },
    components: changedComponents(p)
      .filter((c) => (only ? only.has(c.name) : true))
      .filter((c) => c.image.from !== undefined || r?.servedBefore?.[c.name])
      .map((c) => {
        const before = r?.servedBefore?.[c.name];
        const beforeImage = before ? imagesOf(before)[c.container] : c.image.from;
        const beforeConfig = before ? referencedConfigMap(before as never) : c.config?.from.configMap;
        return {
          ...c,
          image: { from: c.image.to, to: beforeImage as string, changed: true, reason: "rollback" },
          ...(before ? { restore: before } : {}),
          config: c.config
            ? beforeConfig
              ? {
                  ...c.config,
                  from: c.config.to,
                  to: { version: c.config.from.version ?? beforeConfig, configMap: beforeConfig },
                  changed: c.config.changed,
                  diff: undefined,
                }
              : { ...c.config, changed: false }
            : undefined,
          changed: true,
        };
      }),
    configMaps: [],
    codeAsData: undefined,
    hooks: { preRelease: [], migration: [] },
    routing: "",
    warnings: [],
  };
}
