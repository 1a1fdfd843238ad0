import { setImmediate as turn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { FreshPages } from "./fresh-pages.js";

describe("FreshPages", () => {
  it("hands out buffers of their size, or larger when asked, each its own memory, never touched after", async () => {
    const pages = new FreshPages(64 << 10);
    const taken: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      const page = pages.take(i === 3 ? 100_000 : 10);
      expect(page.length).toBe(i === 3 ? 100_000 : 64 << 10);
      page.fill(i + 1);
      taken.push(page);
      // The next one is being made ready meanwhile (a read of /dev/zero into it): let it finish, or not.
      if (i % 2 === 0) await turn();
    }
    pages.end();
    await turn();
    await turn();
    taken.forEach((page, i) => {
      expect(page.every((byte) => byte === i + 1)).toBe(true);
    });
    expect(new Set(taken.map((page) => page.buffer)).size).toBe(taken.length);
  });

  it("still hands out buffers after the end (fresh ones)", () => {
    const pages = new FreshPages(4096);
    pages.end();
    expect(pages.take(1).length).toBe(4096);
  });
});
