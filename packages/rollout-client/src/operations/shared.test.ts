import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createMergePatch, deepEqual, rfc3339 } from "./shared.js";

/** RFC 7386 apply, to check our diff against the spec's own algorithm. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

describe("createMergePatch", () => {
  it("removes keys with null and replaces lists whole", () => {
    expect(
      createMergePatch(
        { metadata: { annotations: { a: "1", b: "2" } }, spec: { containers: [{ name: "app", image: "v1" }] } },
        { metadata: { annotations: { a: "1" } }, spec: { containers: [{ name: "app", image: "v2" }] } },
      ),
    ).toEqual({ metadata: { annotations: { b: null } }, spec: { containers: [{ name: "app", image: "v2" }] } });
  });
  it("turns any JSON object into any other when applied (RFC 7386)", () => {
    // Values without nulls: a merge patch cannot set a null value, by design.
    const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes("null"));
    const obj = fc.dictionary(fc.string({ maxLength: 3 }), json, { maxKeys: 4 });
    fc.assert(
      fc.property(obj, obj, (from, to) => {
        expect(deepEqual(applyMergePatch(from, createMergePatch(from, to)), to)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
  it.each([["constructor"], ["toString"], ["__proto__"]])("treats the key %s as plain data", (key) => {
    const from = JSON.parse(`{"${key}": "a", "keep": 1}`);
    const to = JSON.parse(`{"keep": 1}`);
    expect(JSON.stringify(createMergePatch(from, to))).toBe(`{"${key}":null}`);
    expect(JSON.stringify(createMergePatch(to, from))).toBe(`{"${key}":"a"}`);
  });
});

describe("rfc3339", () => {
  it("formats like Go's time.RFC3339 in UTC, without fractions", () => {
    expect(rfc3339(new Date("2026-11-27T10:48:38.123Z"))).toBe("2026-11-27T10:48:38Z");
  });
});
