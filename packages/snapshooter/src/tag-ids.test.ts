import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TagIds } from "./tag-ids.js";

const digitTag = fc.stringMatching(/^\d{20}$/);

describe("TagIds", () => {
  it("numbers each tag once, finds it again, gives it back, and ranks ids in tag order, past every growth (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 9, arbitrary: digitTag }, { weight: 1, arbitrary: fc.string() }), {
          minLength: 1,
          maxLength: 5000,
        }),
        fc.boolean(),
        fc.boolean(),
        (all, asBytes, withOthers) => {
          // Without other tags, ranks sorts numbers; with them, it compares.
          const tags = withOthers ? all : all.filter((tag) => /^\d{20}$/.test(tag));
          const ids = new TagIds();
          const first = new Map<string, number>();
          for (const tag of tags) {
            const isDigits = /^\d{20}$/.test(tag);
            const id = isDigits && asBytes ? ids.internBytes(Buffer.from(`x${tag}`, "latin1"), 1) : ids.intern(tag);
            expect(id).toBe(first.get(tag) ?? first.size);
            first.set(tag, id);
          }
          expect(ids.size).toBe(first.size);
          for (const [tag, id] of first) {
            expect(ids.get(tag)).toBe(id);
            expect(ids.tag(id)).toBe(tag);
          }
          expect(ids.get("99999999999999999999x")).toBeUndefined();
          const { rank, byRank } = ids.ranks();
          const sorted = [...first.keys()].sort();
          expect(Array.from(byRank, (id) => ids.tag(id))).toEqual(sorted);
          for (const [tag, id] of first) expect(rank[id]).toBe(sorted.indexOf(tag));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("ranks many first halves too", () => {
    const ids = new TagIds();
    const tags = Array.from(
      { length: 3000 },
      (_, i) => `${String((i * 7919) % 3001).padStart(10, "0")}${String(i).padStart(10, "0")}`,
    );
    for (const tag of tags) ids.intern(tag);
    expect(Array.from(ids.ranks().byRank, (id) => ids.tag(id))).toEqual([...tags].sort());
  });
});
