import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OConfigError } from "./errors.js";
import { parseOConfig } from "./parse.js";
import { configMapName, renderConfigMap, renderReleaseConfigMaps } from "./render.js";

const seed = parseOConfig(
  {
    current: "v1",
    next: "v2",
    configs: [
      { v1: '{\n  "sc.production": true,\n  "param1": "a value"\n}\n' },
      { v2: '{\n  "sc.production": true,\n  "param1": "another value",\n  "param2": "a new value"\n}\n' },
    ],
  },
  { service: "backend-1" },
);

describe("renderConfigMap", () => {
  it("renders an immutable, labelled ConfigMap named by the content hash", () => {
    const manifest = renderConfigMap("backend-1", seed.next, { namespace: "demo" });
    expect(manifest).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: `backend-1-oconfig-${seed.next.hash.slice(0, 10)}`,
        namespace: "demo",
        labels: {
          "app.kubernetes.io/managed-by": "rollway",
          "rollway.dev/service": "backend-1",
          "rollway.dev/oconfig-version": "v2",
        },
        annotations: { "rollway.dev/oconfig-sha256": seed.next.hash },
      },
      immutable: true,
      data: {
        "oConfig.json": '{\n  "param1": "another value",\n  "param2": "a new value",\n  "sc.production": true\n}\n',
      },
    });
    expect(manifest.metadata.name).toMatch(/^backend-1-oconfig-[0-9a-f]{10}$/);
  });

  it("is deterministic: the same content in another order gives the same name and data", () => {
    const reordered = parseOConfig('{"param2":"a new value","sc.production":true,"param1":"another value"}', {
      service: "backend-1",
    });
    expect(renderConfigMap("backend-1", reordered.current).metadata.name).toBe(configMapName("backend-1", seed.next));
    expect(renderConfigMap("backend-1", reordered.current).data).toEqual(renderConfigMap("backend-1", seed.next).data);
  });

  it("gives one name per content: key order and whitespace never matter, any value change does (property)", () => {
    const shuffle = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(shuffle);
      if (typeof value !== "object" || value === null) return value;
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, shuffle(v)]),
      );
    };
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (object, extraKey) => {
        const config = { ...object, "sc.production": true };
        const a = parseOConfig(JSON.stringify(config), { service: "api" });
        const b = parseOConfig(JSON.stringify(shuffle(config), null, 4), { service: "api" });
        expect(renderConfigMap("api", b.current)).toEqual(renderConfigMap("api", a.current));
        const changed = { ...config, [`${extraKey}!`]: "new" };
        const c = parseOConfig(JSON.stringify(changed), { service: "api" });
        expect(configMapName("api", c.current)).not.toBe(configMapName("api", a.current));
      }),
    );
  });

  it("pins the name of a known config so a change of hashing is noticed", () => {
    const known = parseOConfig('{ "sc.production" : true }', { service: "api" });
    // printf '{"sc.production":true}' | sha256sum
    expect(known.current.hash).toBe("1f7d7000031f767b02f88c6dbf9e667c8a350043149a505c017b77f8ba7347ae");
    expect(configMapName("api", known.current)).toBe("api-oconfig-1f7d700003");
  });

  it("renders current and next for a release, once when they have the same content", () => {
    expect(renderReleaseConfigMaps(seed).map((m) => m.metadata.labels["rollway.dev/oconfig-version"])).toEqual([
      "v1",
      "v2",
    ]);
    const legacy = parseOConfig('{"sc.production":true}', { service: "frontend" });
    expect(renderReleaseConfigMaps(legacy)).toHaveLength(1);
  });

  it.each(["Backend_1", "-api", "a".repeat(64), ""])("refuses the service name %j", (service) => {
    expect(() => configMapName(service, seed.current)).toThrow(OConfigError);
    expect(() => configMapName(service, seed.current)).toThrow("a service name is lower-case letters");
  });
});
