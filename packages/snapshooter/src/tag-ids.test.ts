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

  it("tells apart tags that differ in one digit only, at every position, and ranks them", () => {
    const ids = new TagIds();
    const tags = ["00000000000000000000", "99999999999999999999"];
    for (let at = 0; at < 20; at++) {
      for (const base of tags.slice(0, 2)) {
        const digit = base[at] === "0" ? "1" : "8";
        tags.push(`${base.slice(0, at)}${digit}${base.slice(at + 1)}`);
      }
    }
    const numbered = tags.map((tag, i) => (i % 2 ? ids.internBytes(Buffer.from(tag, "latin1"), 0) : ids.intern(tag)));
    expect(numbered).toEqual(tags.map((_, i) => i));
    for (const [i, tag] of tags.entries()) expect([ids.get(tag), ids.tag(i)]).toEqual([i, tag]);
    expect(Array.from(ids.ranks().byRank, (id) => ids.tag(id))).toEqual([...tags].sort());
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

  it("finds every tag again among 2^19 + 5 of them, both halves varying", () => {
    const ids = new TagIds();
    const count = 2 ** 19 + 5;
    // Both halves vary, and the digits are read from bytes as a snapshot reads them.
    const tagOf = (n: number) => `${String((n * 7) % 9_999_999_967).padStart(10, "0")}${String(n).padStart(10, "9")}`;
    const bytes = Buffer.alloc(20);
    let misnumbered = 0;
    for (let n = 0; n < count; n++) {
      bytes.write(tagOf(n), "latin1");
      if (ids.internBytes(bytes, 0) !== n) misnumbered++;
    }
    expect(misnumbered).toBe(0);
    for (const n of [0, 1, 2 ** 19 - 2, 2 ** 19 - 1, 2 ** 19, 2 ** 19 + 1, count - 1]) {
      expect(ids.get(tagOf(n))).toBe(n);
      expect(ids.intern(tagOf(n))).toBe(n);
      expect(ids.tag(n)).toBe(tagOf(n));
    }
    expect(ids.get(tagOf(count))).toBeUndefined();
    expect(ids.size).toBe(count);
  });
});
