import { describe, expect, it } from "vitest";
import { RolloutClientError } from "../errors.js";
import type { PodTemplate } from "../resources.js";
import { applyPodTemplateChange, setImageStrategicPatch } from "./set-images.js";

const resource = { kind: "Rollout", name: "web", namespace: "shop" };
const template = (): PodTemplate => ({
  metadata: { labels: { app: "web" }, annotations: { keep: "1" } },
  spec: {
    containers: [
      {
        name: "web",
        image: "web:1",
        env: [
          { name: "MODE", value: "a" },
          { name: "SECRET", valueFrom: { secretKeyRef: { name: "s", key: "k" } } },
        ],
      },
      { name: "sidecar", image: "proxy:1" },
    ],
    volumes: [
      { name: "oconfig", configMap: { name: "web-oconfig-v1" } },
      { name: "creds", secret: { secretName: "web-creds-v1" } },
    ],
  },
});

describe("setImageStrategicPatch", () => {
  it("is the diff `kubectl set image` sends: changed containers by merge key, order kept", () => {
    const t = template();
    expect(
      setImageStrategicPatch({ containers: [{ name: "web", image: "web:2" }] }, { containers: t.spec?.containers }),
    ).toEqual({
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
            containers: [{ image: "web:2", name: "web" }],
          },
        },
      },
    });
  });
});

describe("applyPodTemplateChange", () => {
  it("sets and removes annotations, env and config references, and leaves the rest alone", () => {
    const next = applyPodTemplateChange(
      template(),
      {
        annotations: { "rollway.dev/oconfig": "v2", keep: null },
        env: { web: { MODE: "b", SECRET: "plain", NEW: "x" } },
        configMaps: { oconfig: "web-oconfig-v2" },
        secrets: { creds: "web-creds-v2" },
      },
      resource,
    );
    expect(next.metadata?.annotations).toEqual({ "rollway.dev/oconfig": "v2" });
    expect(next.spec?.containers?.[0]?.env).toEqual([
      { name: "MODE", value: "b" },
      { name: "SECRET", value: "plain" },
      { name: "NEW", value: "x" },
    ]);
    expect(next.spec?.volumes).toEqual([
      { name: "oconfig", configMap: { name: "web-oconfig-v2" } },
      { name: "creds", secret: { secretName: "web-creds-v2" } },
    ]);
    expect(next.spec?.containers?.[1]).toEqual({ name: "sidecar", image: "proxy:1" });
  });
  it.each([
    [{ env: { db: { A: "1" } } }, 'unable to find container named "db" to set env on'],
    [{ configMaps: { creds: "x" } }, 'the pod template has no ConfigMap volume named "creds"'],
    [{ secrets: { missing: "x" } }, 'the pod template has no Secret volume named "missing"'],
  ])("refuses %j: %s", (change, message) => {
    const original = template();
    expect(() => applyPodTemplateChange(original, change, resource)).toThrow(RolloutClientError);
    expect(() => applyPodTemplateChange(original, change, resource)).toThrow(message);
    expect(original).toEqual(template());
  });
});
