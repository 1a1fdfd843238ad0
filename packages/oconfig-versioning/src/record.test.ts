import { describe, expect, it } from "vitest";
import { parseOConfig } from "./parse.js";
import { recordCurrent, recordNextAsCurrent } from "./record.js";
import type { VersionedOConfigInput } from "./schema.js";

const seed: VersionedOConfigInput = {
  current: "v1",
  next: "v2",
  configs: [{ v1: '{"sc.production": true}' }, { v2: '{"sc.production": true, "param2": "x"}' }],
};

describe("recordNextAsCurrent", () => {
  it("makes next the current version, so the following release sees no change", () => {
    const promoted = recordNextAsCurrent(seed);
    expect(promoted).toEqual({ current: "v2", next: "v2", configs: seed.configs });
    expect(parseOConfig(promoted, { service: "b" }).current.name).toBe("v2");
    expect(seed.current).toBe("v1");
  });

  it("leaves a legacy string as it is", () => {
    expect(recordNextAsCurrent('{"sc.production": true}')).toBe('{"sc.production": true}');
  });
});

describe("recordCurrent", () => {
  it("returns to the previous version on rollback and keeps next pending", () => {
    const promoted = recordNextAsCurrent(seed);
    expect(recordCurrent(promoted, "v1")).toEqual({ current: "v1", next: "v2", configs: seed.configs });
  });

  it("refuses a version that configs does not define", () => {
    expect(() => recordCurrent(seed, "v9", "backend-3")).toThrow(
      'service "backend-3", version "v9", oConfig.current: cannot make "v9" current: configs defines "v1", "v2"',
    );
  });
});
