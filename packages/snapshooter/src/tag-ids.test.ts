import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readTagDigits, TagIds } from "./tag-ids.js";

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

  it("reads 20 bytes as a tag's parts exactly when they are all digits, and numbers it as internBytes does (property)", () => {
    // Digits, and bytes next to them in either nibble: '/', ':', '?', 0x20, 0xb0-0xb9, 0x40, 0x00, 0xff.
    const byte = fc.oneof(
      { weight: 30, arbitrary: fc.integer({ min: 48, max: 57 }) },
      fc.constantFrom(47, 58, 63, 32, 0xb0, 0xb5, 0xb9, 0x40, 0x3a, 0x3f, 0, 0xff, 0x70, 0x39 + 0x80),
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(byte, { minLength: 20, maxLength: 20 }), { minLength: 1, maxLength: 50 }),
        (all) => {
          const ids = new TagIds();
          const again = new TagIds();
          const parts = new Int32Array(6);
          for (const digits of all) {
            const bytes = Buffer.from([7, ...digits, 7]);
            const read = readTagDigits(new DataView(bytes.buffer, bytes.byteOffset, bytes.length), 1, parts, 3);
            expect(read).toBe(digits.every((c) => c >= 48 && c <= 57));
            if (read) expect(ids.internParts(parts, 3, bytes, 1)).toBe(again.internBytes(bytes, 1));
          }
          expect(ids.size).toBe(again.size);
          for (let id = 0; id < ids.size; id++) expect(ids.tag(id)).toBe(again.tag(id));
        },
      ),
      { numRuns: 300 },
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
