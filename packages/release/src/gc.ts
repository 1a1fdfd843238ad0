/** Garbage collection of oConfig ConfigMaps after a promotion. */
import { OCONFIG_SELECTOR, planConfigMapGc, referencedConfigMap } from "@rollway/oconfig-versioning";
import type { Connection } from "@rollway/rollout-client";
import type { PodTemplate } from "./cluster-state.js";
import { CONFIG_MAP, REPLICA_SET, unlessMissing } from "./kinds.js";
import { listRecords, type ReleaseRecord } from "./records.js";

/**
 * Deletes the oConfig ConfigMaps no recent release used and no live ReplicaSet (stable, preview or kept for
 * undo) mounts. Runs while the Lease is held, so no release of this environment is creating ConfigMaps.
 */
export async function collectReleaseConfigMaps(
  api: Connection,
  ns: string,
  environment: string,
  keepReleases: number,
  report: (message: string) => void,
): Promise<void> {
  const [existing, replicaSets, history] = await Promise.all([
    api.objects.list<{ metadata: { name: string; labels?: Record<string, string>; creationTimestamp?: string } }>(
      { ...CONFIG_MAP, namespace: ns },
      { labelSelector: OCONFIG_SELECTOR },
    ),
    api.objects.list<{ spec?: { template?: PodTemplate } }>({ ...REPLICA_SET, namespace: ns }),
    listRecords(api, ns, environment),
  ]);
  const used = (r: ReleaseRecord) => [
    ...r.plan.configMaps.map((c) => c.metadata.name),
    ...r.plan.components
      .flatMap((c) => (c.config ? [c.config.to.configMap, c.config.from.configMap ?? ""] : []))
      .filter(Boolean),
  ];
  const gc = planConfigMapGc({
    existing: existing.items.map((c) => c.metadata),
    releases: history
      .filter((r) => r.state === "promoted" || r.state === "rolled-back")
      .reverse()
      .map((r) => ({ releaseId: r.id, configMaps: used(r) })),
    referenced: replicaSets.items.flatMap((rs) => {
      const name = rs.spec?.template ? referencedConfigMap(rs.spec.template as never) : undefined;
      return name ? [name] : [];
    }),
    keepReleases,
  });
  for (const { name } of gc.delete) {
    await unlessMissing(api.objects.delete({ ...CONFIG_MAP, namespace: ns, name }));
  }
  if (gc.delete.length > 0)
    report(`deleted ${gc.delete.length} old oConfig ConfigMap(s): ${gc.delete.map((d) => d.name).join(", ")}`);
}
