import fc from "fast-check";
import { getNodeValue, type ParseError, parseTree } from "jsonc-parser";
import { describe, expect, it } from "vitest";
import { contentHash } from "./canonical.js";
import { oConfigProblems } from "./check.js";
import { OConfigError, type OConfigProblem } from "./errors.js";
import { parseOConfig, validateOConfig } from "./parse.js";

// Seed 000's example, as YAML gives it to us (block scalars keep their newlines).
const seedOConfig = {
  current: "v1",
  next: "v2",
  configs: [
    { v1: '{\n  "sc.production": true,\n  "param1": "a value"\n}\n' },
    { v2: '{\n  "sc.production": true,\n  "param1": "another value",\n  "param2": "a new value"\n}\n' },
  ],
};

function problemsOf(input: unknown, noDowntime = true): OConfigProblem[] {
  const result = validateOConfig(input, { service: "backend-1", noDowntime });
  if (result.ok) throw new Error("expected problems");
  return result.problems;
}

describe("parseOConfig", () => {
  it("parses the seed's versioned example: current v1, next v2", () => {
    const parsed = parseOConfig(seedOConfig, { service: "backend-1" });
    expect(parsed.form).toBe("versioned");
    expect(parsed.current.name).toBe("v1");
    expect(parsed.next.name).toBe("v2");
    expect(parsed.next.value).toEqual({ "sc.production": true, param1: "another value", param2: "a new value" });
    expect(parsed.versions.map((v) => v.name)).toEqual(["v1", "v2"]);
  });

  it("accepts the legacy single string as one version named legacy", () => {
    const parsed = parseOConfig('{"sc.production": true, "a": 1}', { service: "frontend" });
    expect(parsed.form).toBe("legacy");
    expect(parsed.current).toBe(parsed.next);
    expect(parsed.current.name).toBe("legacy");
  });

  it("gives the same hash and canonical text whatever the key order and whitespace", () => {
    const a = parseOConfig('{"b": [1, {"y": 2, "x": 1}], "sc.production": true}', { service: "s" });
    const b = parseOConfig('{\n  "sc.production": true,\n  "b": [1, {"x": 1, "y": 2}]\n}', { service: "s" });
    expect(a.current.hash).toBe(b.current.hash);
    expect(a.current.canonical).toBe(
      '{\n  "b": [\n    1,\n    {\n      "x": 1,\n      "y": 2\n    }\n  ],\n  "sc.production": true\n}\n',
    );
  });

  it("names service, version, place, line and column for invalid JSON (a trailing comma)", () => {
    const input = { ...seedOConfig, configs: [seedOConfig.configs[0], { v2: '{\n  "sc.production": true,\n}' }] };
    expect(problemsOf(input)).toEqual([
      {
        code: "INVALID_JSON",
        service: "backend-1",
        version: "v2",
        path: ["configs", 1, "v2"],
        message: "invalid JSON: a trailing comma before '}'; remove it (JSON allows none)",
        line: 2,
        column: 24,
      },
    ]);
    expect(() => parseOConfig(input, { service: "backend-1" })).toThrow(
      'service "backend-1", version "v2", oConfig.configs[1].v2, line 2, column 24 of the JSON: invalid JSON: a trailing comma',
    );
  });

  it.each([
    ["a comment", '{\n  // production\n  "sc.production": true\n}', 2, 3, "comments are not allowed in JSON"],
    ["single quotes", "{ 'sc.production': true }", 1, 3, "unexpected character"],
    ["a missing comma", '{\n  "sc.production": true\n  "a": 1\n}', 3, 3, "expected ',' between entries"],
    [
      "a trailing comma in an array",
      '{ "sc.production": true, "hosts": ["a", ] }',
      1,
      39,
      "a trailing comma before ']'",
    ],
    ["an unclosed object", '{ "sc.production": true', 1, 24, "expected '}' to close the object"],
    ["empty text", "  ", 1, 1, "empty; a config is a JSON object"],
  ])("explains %s in words, with its line and column", (_name, text, line, column, message) => {
    const [problem] = problemsOf(text);
    expect(problem).toMatchObject({ code: "INVALID_JSON", line, column });
    expect(problem?.message).toContain(message);
  });

  it("requires sc.production: true in every config when no-downtime is on, pointing at the key", () => {
    const input = {
      current: "v1",
      next: "v1",
      configs: [
        { v1: '{ "sc.production": true }' },
        { old: '{\n  "x": 1,\n  "sc.production": "yes"\n}' },
        { v0: "{}" },
      ],
    };
    const problems = problemsOf(input);
    expect(problems.map((p) => [p.code, p.version, p.line, p.column])).toEqual([
      ["PRODUCTION_MODE_REQUIRED", "old", 3, 3],
      ["PRODUCTION_MODE_REQUIRED", "v0", 1, 1],
    ]);
    expect(problems[0]?.message).toBe('"sc.production" is "yes"; no-downtime deployment needs "sc.production": true');
    expect(validateOConfig(input, { service: "backend-1", noDowntime: false }).ok).toBe(true);
  });

  it("refuses current or next missing from configs, listing the versions there are", () => {
    const problems = problemsOf({ current: "v1", next: "v3", configs: seedOConfig.configs });
    expect(problems).toEqual([
      {
        code: "UNKNOWN_VERSION",
        service: "backend-1",
        version: "v3",
        path: ["next"],
        message: 'next is "v3" but configs defines "v1", "v2"; add "v3" to configs or pick one of those',
      },
    ]);
  });

  it.each([
    ["an array", [], [[]], "oConfig is a JSON string or an object with current, next and configs, not an array"],
    ["a number", 3, [[]], "not number"],
    ["a missing next", { current: "v1", configs: seedOConfig.configs }, [["next"]], "missing: expected a version name"],
    ["an unknown key", { ...seedOConfig, nxt: "v2" }, [[]], 'unknown key "nxt"'],
    [
      "a two-key entry",
      { ...seedOConfig, configs: [{ v1: "{}", v2: "{}" }] },
      [["configs", 0]],
      "each entry of configs is a single-key map",
    ],
    [
      "a config given as a YAML map",
      { current: "v1", next: "v1", configs: [{ v1: { "sc.production": true } }] },
      [["configs", 0, "v1"]],
      "a config is JSON text",
    ],
    [
      "a version name with a space",
      { current: "v 1", next: "v 1", configs: [{ "v 1": "{}" }] },
      [["current"], ["next"], ["configs", 0, "v 1"]],
      "a version name uses letters",
    ],
  ])("refuses %s with INVALID_SHAPE at the right path", (_name, input, paths, message) => {
    const problems = problemsOf(input);
    expect(problems.every((p) => p.code === "INVALID_SHAPE")).toBe(true);
    expect(problems.map((p) => p.path)).toEqual(paths);
    expect(problems[0]?.message).toContain(message);
  });

  it("refuses a duplicate version name", () => {
    const problems = problemsOf({ current: "v1", next: "v1", configs: [seedOConfig.configs[0], { v1: "{}" }] });
    expect(problems.map((p) => [p.code, p.path])).toEqual([["DUPLICATE_VERSION", ["configs", 1, "v1"]]]);
  });

  it("refuses a JSON array or scalar as a config", () => {
    expect(problemsOf("[1, 2]").map((p) => [p.code, p.message])).toEqual([
      ["NOT_AN_OBJECT", 'a config is a JSON object ({ "key": value, ... }), not an array'],
    ]);
    expect(problemsOf("").map((p) => p.code)).toEqual(["INVALID_JSON"]);
  });

  it("throws an OConfigError whose code is the first problem's", () => {
    try {
      parseOConfig("{", { service: "backend-2" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(OConfigError);
      expect((error as OConfigError).code).toBe("INVALID_JSON");
      expect((error as OConfigError).message).toMatch(
        /^1 problem with oConfig:\n {2}service "backend-2", version "legacy"/,
      );
    }
  });

  it("never throws anything but an OConfigError, whatever the text (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const result = validateOConfig(text, { service: "s" });
        if (!result.ok) expect(result.problems.length).toBeGreaterThan(0);
        else expect(result.value.current.value["sc.production"]).toBe(true);
      }),
    );
  });

  it("finds the line and column of the first error in any broken object (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.nat(), (object, cut) => {
        const text = JSON.stringify({ "sc.production": true, ...object }, null, 2);
        const broken = text.slice(0, 1 + (cut % (text.length - 1)));
        const result = validateOConfig(broken, { service: "s" });
        expect(result.ok).toBe(false);
        if (result.ok) return;
        const [problem] = result.problems;
        const lines = broken.split("\n");
        expect(problem?.line).toBeGreaterThanOrEqual(1);
        expect(problem?.line).toBeLessThanOrEqual(lines.length);
        expect(problem?.column).toBeLessThanOrEqual((lines[(problem?.line ?? 1) - 1]?.length ?? 0) + 1);
      }),
    );
  });

  it("reads JSON text as the located parser does (value, hash and problems), __proto__ and odd spacing included (property)", () => {
    const key = fc.oneof(fc.string(), fc.constantFrom("__proto__", "sc.production", "constructor", "0", "-1"));
    const value = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(key, fc.jsonValue(), { noNullPrototype: true }),
      fc.constantFrom(true, false, "true"),
    );
    const text = fc.oneof(
      fc
        .record({ production: fc.constantFrom(true, false, "true", undefined), rest: fc.dictionary(key, value) })
        .map(({ production, rest }) =>
          JSON.stringify(production === undefined ? rest : { "sc.production": production, ...rest }),
        ),
      fc.json(),
      fc.constantFrom(
        '{"sc.production": true, "a": 1, "a": 2}',
        '{"sc.production":true}\u00a0',
        '{"__proto__": {"x": 1}, "sc.production": true}',
      ),
    );
    fc.assert(
      fc.property(text, fc.boolean(), (json, noDowntime) => {
        const options = { service: "s", noDowntime };
        const result = validateOConfig(json, options);
        expect(oConfigProblems(json, options)).toEqual(result.ok ? [] : result.problems);
        const errors: ParseError[] = [];
        const tree = parseTree(json, errors, { disallowComments: true, allowTrailingComma: false });
        if (!result.ok) return;
        expect(errors).toEqual([]);
        const located = getNodeValue(tree as NonNullable<typeof tree>);
        expect(result.value.current.value).toEqual(located);
        expect(Object.keys(result.value.current.value)).toEqual(Object.keys(located));
        expect(result.value.current.hash).toBe(contentHash(located));
      }),
    );
  });
});
