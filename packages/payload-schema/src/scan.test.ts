import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_PAYLOAD_DEPTH, parseDeployPayload, scanText } from "./parse.js";

/** The scan as it was (one character at a time, inside strings too): the oracle the faster scan must agree with. */
function charByCharScan(text: string): { tooDeepAt?: number; colons: number } {
  let depth = 0;
  let colons = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 58) colons++;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_PAYLOAD_DEPTH) return { tooDeepAt: i, colons };
    } else if (c === 125 || c === 93) depth--;
  }
  return { colons };
}

/** Texts dense in what the scan looks at: quotes, backslashes, colons, brackets. */
const jsonish = fc.string({
  unit: fc.constantFrom('"', "\\", ":", "{", "}", "[", "]", "a", ",", " ", "1"),
  maxLength: 200,
});
const deep = fc
  .integer({ min: 60, max: 70 })
  .chain((n) => fc.tuple(fc.constant("[".repeat(n)), jsonish).map(([open, rest]) => open + rest));

describe("the duplicate-key and depth scan", () => {
  it("skips strings with indexOf and agrees with the character-by-character scan on any text", () => {
    fc.assert(
      fc.property(fc.oneof(jsonish, deep, fc.json(), fc.string()), (text) => {
        expect(scanText(text)).toEqual(charByCharScan(text));
      }),
      { numRuns: 2000 },
    );
  });

  it("reports a duplicate key exactly when the text repeats one, whatever quotes, backslashes and colons it holds", () => {
    const key = fc.constantFrom("a", "b", 'q"', "c\\", "d:e");
    const entries = fc.array(fc.tuple(key, fc.oneof(fc.string(), fc.integer(), fc.constant(':"\\'))), { maxLength: 5 });
    fc.assert(
      fc.property(entries, (pairs) => {
        const inner = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
        const text = `{"frontend":{"image":"my-registry/app:1"},"extraArgs":[],"x":${inner}}`;
        const duplicated = new Set(pairs.map(([k]) => k)).size !== pairs.length;
        let error: unknown;
        try {
          parseDeployPayload(text);
        } catch (e) {
          error = e;
        }
        const problems = (error as { problems?: { message: string }[] }).problems ?? [];
        expect(problems.some((p) => p.message.startsWith("duplicate key"))).toBe(duplicated);
      }),
      { numRuns: 500 },
    );
  });
});
