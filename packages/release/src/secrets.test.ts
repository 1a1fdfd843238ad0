// Finding 9 of issue #13 (secrets): no oConfig value reaches a plan's JSON, a release record or an event.
import { describe, expect, it } from "vitest";
import { parseEnvironment } from "./environment.js";
import {
  configMapsPath,
  demoEnvironmentInput,
  eventLog,
  NS,
  releaseSimResource,
  seedPayload,
} from "./test-helpers/release-sim.js";

const SECRET = "s3cr3t-db-pa55word";
const API_KEY = "ak-0123456789abcdef";

describe("finding 9: oConfig values stay out of records, JSON and events", () => {
  it("finding 9: plan JSON, the release record and the events hold no oConfig value; the oConfig ConfigMap itself does, and the release runs", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const input = demoEnvironmentInput({ backends: ["backend-1"] });
    const v1 = '{ "sc.production": true, "param1": "a value" }';
    const v2 = `{ "sc.production": true, "param1": "a value", "dbPassword": "${SECRET}", "apiKey": "${API_KEY}" }`;
    const environment = parseEnvironment({
      ...input,
      backends: {
        "backend-1": {
          ...input.backends?.["backend-1"],
          oConfig: { current: "v1", next: "v2", configs: [{ v1 }, { v2 }] },
        },
      },
    } as never);
    const plan = await k.engine.plan(seedPayload({ noDowntime: { promotionMode: "auto" } }), environment);
    const json = JSON.stringify(plan);
    expect(json).not.toContain(SECRET);
    expect(json).not.toContain(API_KEY);
    expect(plan.configMaps.length).toBeGreaterThan(0);

    const log = eventLog();
    const record = await k.engine.apply(plan, { onEvent: log.onEvent });
    expect(record.state).toBe("promoted");
    expect(JSON.stringify(log.events)).not.toContain(SECRET);

    const stored = await k.get(`${configMapsPath}/rollway-release-${record.id}`);
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    expect(JSON.stringify(stored)).not.toContain(API_KEY);
    const served = await k.serving("backend-1");
    const oconfig = await k.get(`/api/v1/namespaces/${NS}/configmaps/${served.configMap}`);
    expect(JSON.stringify(oconfig.data)).toContain(SECRET);
  });
});
