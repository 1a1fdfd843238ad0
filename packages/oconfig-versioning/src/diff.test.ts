import { describe, expect, it } from "vitest";
import { diffOConfig, formatOConfigDiff } from "./diff.js";
import { parseOConfig } from "./parse.js";

const parse = (current: string, next: string, configs: Record<string, string>) =>
  parseOConfig(
    { current, next, configs: Object.entries(configs).map(([k, v]) => ({ [k]: v })) },
    { service: "backend-1" },
  );

const seed = {
  v1: '{ "sc.production": true, "param1": "a value" }',
  v2: '{ "sc.production": true, "param1": "another value", "param2": "a new value" }',
};

describe("diffOConfig", () => {
  it("reports no change when next is current", () => {
    const diff = diffOConfig(parse("v1", "v1", seed));
    expect(diff).toEqual({ service: "backend-1", from: "v1", to: "v1", changed: false, changes: [], unified: "" });
    expect(formatOConfigDiff(diff)).toBe("backend-1 oConfig: no change (stays on v1)");
  });

  it("reports no change when two names hold the same content", () => {
    const diff = diffOConfig(
      parse("v1", "v1-copy", { ...seed, "v1-copy": '{"param1":"a value","sc.production":true}' }),
    );
    expect(diff.changed).toBe(false);
    expect(formatOConfigDiff(diff)).toBe("backend-1 oConfig v1 → v1-copy: same content, no change");
  });

  it("lists the seed's change key by key and as a unified diff", () => {
    const diff = diffOConfig(parse("v1", "v2", seed));
    expect(diff.changes).toEqual([
      { kind: "changed", path: ["param1"], from: "a value", to: "another value" },
      { kind: "added", path: ["param2"], to: "a new value" },
    ]);
    expect(formatOConfigDiff(diff)).toBe(
      'backend-1 oConfig v1 → v2\n  ~ param1: "a value" → "another value"\n  + param2: "a new value"',
    );
    expect(diff.unified).toContain("--- backend-1/oConfig@v1\n+++ backend-1/oConfig@v2\n");
    expect(diff.unified).toContain(
      '-  "param1": "a value",\n+  "param1": "another value",\n+  "param2": "a new value",\n',
    );
  });

  it("shows nested and removed keys with their full path", () => {
    const diff = diffOConfig(
      parse("a", "b", {
        a: '{"sc.production": true, "db": {"hosts": ["h1", "h2"]}, "old": 1}',
        b: '{"sc.production": true, "db": {"hosts": ["h1", "h3"]}}',
      }),
    );
    expect(formatOConfigDiff(diff).split("\n").slice(1)).toEqual(['  ~ db.hosts[1]: "h2" → "h3"', "  - old: 1"]);
  });

  it("never shows values under secret-looking keys, but still says they changed", () => {
    const diff = diffOConfig(
      parse("a", "b", {
        a: '{"sc.production": true, "db.password": "hunter2", "apiKey": "k1", "auth": {"user": "u"}}',
        b: '{"sc.production": true, "db.password": "correct horse", "apiKey": "k1", "auth": {"user": "v"}}',
      }),
    );
    const text = `${formatOConfigDiff(diff)}\n${diff.unified}\n${JSON.stringify(diff.changes)}`;
    for (const secret of ["hunter2", "correct horse", "k1", '"u"', '"v"']) expect(text).not.toContain(secret);
    expect(formatOConfigDiff(diff)).toContain('~ db.password: "<redacted>" → "<redacted>"');
    expect(diff.unified).toContain('-  "db.password": "<redacted>",\n+  "db.password": "<redacted, changed>",');
    expect(diff.unified).toContain(' "apiKey": "<redacted>",');
  });
});
