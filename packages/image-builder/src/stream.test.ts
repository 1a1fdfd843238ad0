import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BuildStreamReader, type EngineMessage, engineMessages, PushStreamReader } from "./stream.js";

async function collect(chunks: string[]): Promise<EngineMessage[]> {
  const out: EngineMessage[] = [];
  for await (const message of engineMessages(Readable.from(chunks.map((c) => Buffer.from(c))))) out.push(message);
  return out;
}

describe("BuildStreamReader", () => {
  it.each([
    ["docker's classic builder", "Step 2/3 : COPY dist/web /usr/share/nginx/html", { number: 2, total: 3 }],
    ["podman (buildah)", "STEP 2/3: COPY dist/web /usr/share/nginx/html", { number: 2, total: 3 }],
  ])("follows the steps of %s", (_engine, line, numbers) => {
    const reader = new BuildStreamReader();
    reader.read({ stream: "STEP 1/3: FROM scratch\n" });
    reader.read({ stream: `${line}\n` });
    reader.read({ error: "COPY failed: no such file", errorDetail: { message: "COPY failed: no such file" } });
    expect(reader.step).toEqual({ ...numbers, instruction: "COPY dist/web /usr/share/nginx/html" });
    expect(reader.error).toBe("COPY failed: no such file");
  });

  it("keeps the image ID and splits multi-line output into lines", () => {
    const reader = new BuildStreamReader();
    expect(reader.read({ stream: "a\n\nb\n" })).toEqual(["a", "b"]);
    reader.read({ aux: { ID: "sha256:abc" } });
    expect(reader.imageId).toBe("sha256:abc");
    expect(reader.error).toBeUndefined();
  });
});

describe("PushStreamReader", () => {
  it.each([
    ["docker's aux message", { aux: { Tag: "x", Digest: `sha256:${"a".repeat(64)}`, Size: 1 } }],
    ["podman's status line", { status: `x: digest: sha256:${"a".repeat(64)} size: 732` }],
  ])("reads the digest from %s", (_from, message: EngineMessage) => {
    const reader = new PushStreamReader();
    reader.read(message);
    expect(reader.digest).toBe(`sha256:${"a".repeat(64)}`);
  });
});

describe("engineMessages", () => {
  it("shows plain-text answers as output instead of failing", async () => {
    expect(await collect(["not json\n", '{"stream":"ok"}'])).toEqual([{ stream: "not json\n" }, { stream: "ok" }]);
  });

  it("gives the same messages however the network splits the bytes", async () => {
    const message = fc.record(
      { stream: fc.string(), status: fc.string(), error: fc.string() },
      { requiredKeys: [] },
    ) as fc.Arbitrary<EngineMessage>;
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (messages, cuts) => {
          const text = messages.map((m) => `${JSON.stringify(m)}\r\n`).join("");
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks: string[] = [];
          let last = 0;
          for (const p of [...points, text.length]) {
            chunks.push(text.slice(last, p));
            last = p;
          }
          expect(await collect(chunks)).toEqual(messages);
        },
      ),
    );
  });
});
