import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { useTempDir } from "./test-helpers/resources.js";
import { syncPatchFiles } from "./write.js";

const A = "folders/10000000000000000000.json";
const B = "projects/20000000000000000001.json";

async function snapshotOf(dir: string): Promise<Record<string, { text: string; mtimeMs: number }>> {
  const out: Record<string, { text: string; mtimeMs: number }> = {};
  async function walk(rel: string) {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else
        out[child] = {
          text: await readFile(path.join(dir, child), "utf8"),
          mtimeMs: (await stat(path.join(dir, child))).mtimeMs,
        };
    }
  }
  await walk("");
  return out;
}

describe("syncPatchFiles", () => {
  it("writes new files, then writes nothing when run again on the same content", async () => {
    const dir = await useTempDir();
    const files = new Map([
      [A, "a\n"],
      [B, "b\n"],
      ["manifest.json", "m\n"],
    ]);
    expect(await syncPatchFiles(dir, files)).toEqual({ added: [A, B, "manifest.json"], changed: [], removed: [] });
    const before = await snapshotOf(dir);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await syncPatchFiles(dir, files)).toEqual({ added: [], changed: [], removed: [] });
    expect(await snapshotOf(dir)).toEqual(before);
  });

  it("rewrites changed files, removes vanished patches, and leaves other files alone", async () => {
    const dir = await useTempDir();
    await syncPatchFiles(
      dir,
      new Map([
        [A, "a\n"],
        [B, "b\n"],
        ["manifest.json", "m\n"],
      ]),
    );
    await writeFile(path.join(dir, "README.md"), "mine\n");
    await writeFile(path.join(dir, "projects", "notes.txt"), "mine too\n");
    const changes = await syncPatchFiles(
      dir,
      new Map([
        [A, "a2\n"],
        ["manifest.json", "m2\n"],
      ]),
    );
    expect(changes).toEqual({ added: [], changed: [A, "manifest.json"], removed: [B] });
    expect(Object.fromEntries(Object.entries(await snapshotOf(dir)).map(([k, v]) => [k, v.text]))).toEqual({
      "README.md": "mine\n",
      [A]: "a2\n",
      "manifest.json": "m2\n",
      "projects/notes.txt": "mine too\n",
    });
  });

  it("changes nothing on a dry run", async () => {
    const dir = await useTempDir();
    await syncPatchFiles(dir, new Map([[A, "a\n"]]));
    const before = await snapshotOf(dir);
    expect(await syncPatchFiles(dir, new Map([[B, "b\n"]]), { dryRun: true })).toEqual({
      added: [B],
      changed: [],
      removed: [A],
    });
    expect(await snapshotOf(dir)).toEqual(before);
  });

  it("cleans the temporary files a crashed run left, and never leaves its own", async () => {
    const dir = await useTempDir();
    await mkdir(path.join(dir, "folders"), { recursive: true });
    await writeFile(path.join(dir, "folders", ".10000000000000000000.json.tmp-0badc0ffee00"), "half a pat");
    await syncPatchFiles(dir, new Map([[A, "a\n"]]));
    expect(await readdir(path.join(dir, "folders"))).toEqual(["10000000000000000000.json"]);
  });

  it("says which file it could not write", async () => {
    const dir = await useTempDir();
    await writeFile(path.join(dir, "folders"), "a file where a folder should be");
    await expect(syncPatchFiles(dir, new Map([[A, "a\n"]]))).rejects.toMatchObject({
      code: "WRITE_FAILED",
      problems: [{ path: path.join(dir, "folders"), message: "EEXIST" }],
    });
  });

  it("takes files as they come from an iterable reusing one buffer, and writes each one's own bytes", async () => {
    const dir = await useTempDir();
    const texts: [string, string][] = [
      [A, "first file\n"],
      [B, "second, longer file\n"],
      ["manifest.json", "m\n"],
    ];
    function* reused() {
      const buffer = Buffer.alloc(64);
      for (const [rel, text] of texts) {
        buffer.fill(0);
        const n = buffer.write(text);
        yield [rel, buffer.subarray(0, n)] as const;
      }
    }
    expect(await syncPatchFiles(dir, { [Symbol.iterator]: reused })).toEqual({
      added: [A, B, "manifest.json"],
      changed: [],
      removed: [],
    });
    expect(Object.fromEntries(Object.entries(await snapshotOf(dir)).map(([k, v]) => [k, v.text]))).toEqual(
      Object.fromEntries(texts),
    );
    expect(await syncPatchFiles(dir, { [Symbol.iterator]: reused })).toEqual({ added: [], changed: [], removed: [] });
  });

  it("leaves the folder exactly as it was when the deletion guard refuses: no patch replaced, no temporary file", async () => {
    const dir = await useTempDir();
    const patch = (tags: string[]) => `${JSON.stringify({ objects: tags.map((tag) => ({ tag })) })}\n`;
    const C = "objects/20000000000000000002.json";
    await syncPatchFiles(
      dir,
      new Map([
        [A, patch(["1", "2"])],
        [B, patch(["3", "4"])],
        ["manifest.json", `${JSON.stringify({ objects: 4 })}\n`],
      ]),
    );
    const before = await snapshotOf(dir);
    const folders = await readdir(dir);
    const run = syncPatchFiles(
      dir,
      new Map([
        [A, patch(["1"])],
        [C, patch(["5"])],
        ["manifest.json", `${JSON.stringify({ objects: 2 })}\n`],
      ]),
      { guard: { keep: new Set(["1", "5"]), maxShare: 0.1, override: "--max-removed" } },
    );
    await expect(run).rejects.toMatchObject({ code: "TOO_MANY_REMOVED" });
    expect(await snapshotOf(dir)).toEqual(before);
    expect(await readdir(dir)).toEqual(folders);
  });

  it("stops when aborted part-way and leaves nothing behind: no patch, no temporary file, no folder it made", async () => {
    const dir = await useTempDir();
    const controller = new AbortController();
    function* files() {
      for (let i = 0; i < 200; i++) {
        if (i === 10) controller.abort();
        yield [`objects/${String(i).padStart(20, "0")}.json`, `patch ${i}\n`] as const;
      }
    }
    const run = syncPatchFiles(dir, { [Symbol.iterator]: files }, { signal: controller.signal });
    await expect(run).rejects.toMatchObject({ code: "ABORTED" });
    expect(await readdir(dir)).toEqual([]);
  });

  it("writes many files while the next ones come, each with its own bytes, from one reused buffer (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Sizes around and past the writer thread's batches (1 MiB: a larger file goes alone), and more bytes than
        // its buffers hold at once (8 MiB), so it hands buffers back while the next files come.
        fc.array(
          fc.tuple(fc.constantFrom(0, 1, 7, 4096, 131_073, 300_000, 1_048_576, 1_048_577, 2_500_000), fc.nat(255)),
          { minLength: 1, maxLength: 30 },
        ),
        async (specs) => {
          const dir = await useTempDir();
          const expected = new Map<string, Buffer>();
          specs.forEach(([size, byte], i) => {
            const content = Buffer.alloc(size, byte);
            if (size > 0) content[size - 1] = i;
            expected.set(`objects/${String(i).padStart(20, "0")}.json`, content);
          });
          expected.set("manifest.json", Buffer.from(`${specs.length}\n`));
          function* reused() {
            const buffer = Buffer.alloc(2_500_000);
            for (const [rel, content] of expected) {
              // Whatever the previous file's bytes were, they are overwritten now.
              buffer.fill(0xee);
              content.copy(buffer);
              yield [rel, buffer.subarray(0, content.length)] as const;
            }
          }
          const changes = await syncPatchFiles(dir, { [Symbol.iterator]: reused });
          expect(changes).toEqual({ added: [...expected.keys()], changed: [], removed: [] });
          for (const [rel, content] of expected)
            expect((await readFile(path.join(dir, rel))).equals(content)).toBe(true);
          expect(await readdir(path.join(dir, "objects"))).toHaveLength(specs.length);
          expect(await syncPatchFiles(dir, { [Symbol.iterator]: reused })).toEqual({
            added: [],
            changed: [],
            removed: [],
          });
        },
      ),
      { numRuns: 15 },
    );
  });

  it("writes files rendered straight into the writer's buffers, only the ones that changed, and lists each one's SHA-256 (property)", async () => {
    const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
    /** A set that renders each patch into the room its consumer gives and lists their hashes, as PatchFiles does. */
    const renderedInto = (contents: Map<string, Buffer>) => {
      let rooms = 0;
      const after = (digestOf: (path: string) => string): [string, string][] => [
        ["manifest.json", `${[...contents.keys()].map((rel) => `${rel} ${digestOf(rel)}`).join("\n")}\n`],
      ];
      const set = {
        *[Symbol.iterator]() {
          yield* contents;
          yield* after((rel) => sha256(contents.get(rel) as Buffer));
        },
        patchesInto(space: (bytes: number) => Uint8Array) {
          return {
            *[Symbol.iterator]() {
              for (const [rel, content] of contents) {
                const room = space(content.length);
                rooms++;
                // Whatever the room held before (an earlier file, a file not written) is overwritten now.
                room.set(content);
                yield [rel, room] as const;
              }
            },
          };
        },
        after,
      };
      return { set, rooms: () => rooms };
    };
    await fc.assert(
      fc.asyncProperty(
        // Sizes around and past a batch (1 MiB; a larger file goes alone, in a buffer of its own), more bytes than
        // the writer's buffers hold at once (8 MiB); then a second run where some files change, some grow or shrink.
        fc.array(
          fc.record({
            size: fc.constantFrom(0, 1, 7, 4096, 131_073, 600_000, 1_048_576, 1_048_577, 2_500_000),
            byte: fc.nat(255),
            next: fc.constantFrom("same", "changed", "grown", "shrunk"),
          }),
          { minLength: 1, maxLength: 24 },
        ),
        async (specs) => {
          const dir = await useTempDir();
          const contentOf = (size: number, byte: number, i: number) => {
            const content = Buffer.alloc(size, byte);
            if (size > 0) content[size - 1] = i;
            return content;
          };
          const first = new Map<string, Buffer>();
          const second = new Map<string, Buffer>();
          specs.forEach(({ size, byte, next }, i) => {
            const rel = `objects/${String(i).padStart(20, "0")}.json`;
            first.set(rel, contentOf(size, byte, i));
            const nextSize = next === "grown" ? size + 3 : next === "shrunk" ? Math.max(0, size - 3) : size;
            second.set(rel, next === "same" ? contentOf(size, byte, i) : contentOf(nextSize, (byte + 1) % 256, i));
          });
          const manifestOf = (contents: Map<string, Buffer>) =>
            `${[...contents].map(([rel, content]) => `${rel} ${sha256(content)}`).join("\n")}\n`;

          const one = renderedInto(first);
          expect(await syncPatchFiles(dir, one.set)).toEqual({
            added: [...first.keys(), "manifest.json"],
            changed: [],
            removed: [],
          });
          // Every patch went through the writer's own buffers.
          expect(one.rooms()).toBe(specs.length);
          expect(await readFile(path.join(dir, "manifest.json"), "utf8")).toBe(manifestOf(first));
          const two = renderedInto(second);
          const changed = [...second.keys()].filter(
            (rel) => !(first.get(rel) as Buffer).equals(second.get(rel) as Buffer),
          );
          if (manifestOf(second) !== manifestOf(first)) changed.push("manifest.json");
          expect(await syncPatchFiles(dir, two.set)).toEqual({ added: [], changed, removed: [] });
          for (const [rel, content] of second) expect((await readFile(path.join(dir, rel))).equals(content)).toBe(true);
          // The hashes of the files written (by the writer thread) and of those left as they were (by this thread).
          expect(await readFile(path.join(dir, "manifest.json"), "utf8")).toBe(manifestOf(second));
          expect((await readdir(path.join(dir, "objects"))).sort()).toEqual(
            [...second.keys()].map((rel) => path.basename(rel)),
          );
          // A dry run takes the plain iteration: nothing changes.
          expect(await syncPatchFiles(dir, renderedInto(first).set, { dryRun: true })).toEqual({
            added: [],
            changed: [...changed],
            removed: [],
          });
          expect(await readFile(path.join(dir, "manifest.json"), "utf8")).toBe(manifestOf(second));
        },
      ),
      { numRuns: 15 },
    );
  });

  it("says which file it could not write when one fails among others under way, and leaves nothing behind", async () => {
    const dir = await useTempDir();
    await syncPatchFiles(dir, new Map([[A, "a\n"]]));
    const before = await snapshotOf(dir);
    // A name the file system takes, whose temporary name (20-odd characters longer) it does not.
    const long = `notes/${"n".repeat(240)}.txt`;
    const files = new Map<string, string>();
    for (let i = 0; i < 20; i++) files.set(`objects/${String(i).padStart(20, "0")}.json`, `patch ${i}\n`.repeat(5000));
    files.set(long, "too long a temporary name\n");
    for (let i = 20; i < 30; i++) files.set(`objects/${String(i).padStart(20, "0")}.json`, `patch ${i}\n`);
    files.set(A, "a2\n");
    const run = syncPatchFiles(dir, files);
    await expect(run).rejects.toMatchObject({
      code: "WRITE_FAILED",
      problems: [{ message: "ENAMETOOLONG" }],
    });
    const error = (await run.catch((e: unknown) => e)) as { problems: { path: string }[] };
    expect(error.problems[0]?.path).toContain(path.join(dir, "notes", `.${"n".repeat(240)}.txt.tmp-`));
    // The patch it had, unchanged; no temporary file, and no folder this run made.
    expect(await snapshotOf(dir)).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(["folders"]);
  });
});
