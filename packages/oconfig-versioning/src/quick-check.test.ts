import { describe, expect, it } from "vitest";
import { oConfigProblems } from "./check.js";
import { oConfigIsClean } from "./quick-check.js";
import { oConfigSchema } from "./schema.js";

const texts = [
  '{ "sc.production": true }',
  '{ "sc.production": true, "a": 1 }',
  '{ "sc.production": false }',
  '{ "a": 1 }',
  "{}",
  "[]",
  "1",
  "",
  "{",
  '{ "sc.production": true, }',
  '{ "__proto__": { "sc.production": true }, "sc.production": true }',
  '/* c */ { "sc.production": true }',
];
/** Every legacy text, and every versioned oConfig of up to two entries over three names and these texts. */
function* inputs(): Generator<unknown> {
  yield* texts;
  const entries: Record<string, string>[] = [{ v1: texts[0] as string, v2: texts[0] as string }];
  for (const name of ["v1", "v2", "v3"]) for (const text of texts) entries.push({ [name]: text });
  const lists: Record<string, string>[][] = [[], ...entries.map((e) => [e])];
  for (const a of entries) for (const b of entries) lists.push([a, b]);
  for (const current of ["v1", "v2", "v3"])
    for (const next of ["v1", "v2", "v3"]) for (const configs of lists) yield { current, next, configs };
}

describe("oConfigIsClean", () => {
  it("says clean only when oConfigProblems finds nothing, for every input oConfigSchema accepts (exhaustive)", () => {
    let clean = 0;
    for (const value of inputs()) {
      if (!oConfigSchema.safeParse(value).success) continue;
      for (const noDowntime of [true, false]) {
        if (!oConfigIsClean(value, { noDowntime })) continue;
        clean++;
        expect(oConfigProblems(value, { service: "s", noDowntime }), JSON.stringify(value)).toEqual([]);
      }
    }
    expect(clean).toBeGreaterThan(100);
  });

  it.each([
    ["a version without production mode", '{ "sc.production": false }', true],
    ["text that is not JSON", "{", false],
    ["next naming no version", { current: "v1", next: "v2", configs: [{ v1: texts[0] }] }, false],
    ["a version defined twice", { current: "v1", next: "v1", configs: [{ v1: texts[0] }, { v1: texts[0] }] }, false],
  ])("leaves %s to the full check", (_, value, noDowntime) => {
    expect(oConfigIsClean(value, { noDowntime })).toBe(false);
    expect(oConfigProblems(value, { service: "s", noDowntime }).length).toBeGreaterThan(0);
  });
});
