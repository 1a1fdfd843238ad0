/**
 * What oConfig costs a release of 50 backends: parse and validate both versions, diff, render two ConfigMaps and
 * patch the pod template, per backend. Baseline in the same run: JSON.parse of the same texts, the least any
 * validation must do.
 */
import { bench, describe } from "vitest";
import { diffOConfig, parseOConfig, referenceConfigMap, renderReleaseConfigMaps } from "../src/index.js";

const SERVICES = 50;
const KEYS = 60;

function configText(service: number, version: number): string {
  const entries: Record<string, unknown> = { "sc.production": true };
  for (let k = 0; k < KEYS; k++) entries[`service.${service}.param${k}`] = k % 7 === 0 ? `value-${version}-${k}` : k;
  entries.nested = { hosts: ["db-1", "db-2"], pool: { min: 1, max: 10 + version } };
  return JSON.stringify(entries, null, 2);
}

const inputs = Array.from({ length: SERVICES }, (_, i) => ({
  service: `backend-${i + 1}`,
  oConfig: { current: "v1", next: "v2", configs: [{ v1: configText(i, 1) }, { v2: configText(i, 2) }] },
}));

const template = {
  metadata: { labels: { app: "backend" } },
  spec: { containers: [{ name: "backend", image: "registry.example.com/backend:1.0.0" }] },
};

describe(`oConfig for a release of ${SERVICES} backends (${KEYS} keys each, current → next)`, () => {
  bench("baseline: JSON.parse of every version", () => {
    for (const { oConfig } of inputs)
      for (const entry of oConfig.configs) for (const text of Object.values(entry)) JSON.parse(text);
  });

  bench("parse + validate + diff + render ConfigMaps + patch pod template", () => {
    for (const { service, oConfig } of inputs) {
      const parsed = parseOConfig(oConfig, { service });
      diffOConfig(parsed);
      const [, next] = renderReleaseConfigMaps(parsed, { namespace: "demo" });
      referenceConfigMap(template, { configMapName: next?.metadata.name ?? "", container: "backend" });
    }
  });
});
