import { writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SnapshooterError } from "../errors.js";
import { loadGraph } from "../graph.js";
import { exportText, generateRecords } from "../test-helpers/generate.js";
import { useHttpExport, useTempDir } from "../test-helpers/resources.js";
import { fileSource, httpSource, openSource } from "./source.js";

const records = generateRecords({ folders: 2, projectsPerFolder: 2, objectsPerProject: 10 });

async function failureOf(promise: Promise<unknown>): Promise<SnapshooterError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshooterError);
    return error as SnapshooterError;
  }
  throw new Error("expected a SnapshooterError");
}

describe("export sources", () => {
  it("reads the same graph from a JSON file, an NDJSON file and an HTTP endpoint", async () => {
    const dir = await useTempDir();
    await writeFile(path.join(dir, "export.json"), exportText(records, "json"));
    await writeFile(path.join(dir, "export.ndjson"), exportText(records, "ndjson"));
    const server = await useHttpExport(exportText(records, "ndjson"));
    const fromJson = await loadGraph(fileSource(path.join(dir, "export.json")));
    const fromNdjson = await loadGraph(fileSource(path.join(dir, "export.ndjson")));
    const fromHttp = await loadGraph(openSource(server.url));
    expect(fromJson.objects.size).toBe(records.filter((r) => r.record === "object").length);
    expect(fromJson.relations.length).toBe(records.filter((r) => r.record === "relation").length);
    expect(fromNdjson).toEqual(fromJson);
    expect(fromHttp).toEqual(fromJson);
  });

  it("gives a file of several chunks whole, each chunk intact until the next is taken while the next is read", async () => {
    const dir = await useTempDir();
    const file = path.join(dir, "export.ndjson");
    // 3.5 chunks of 1 MiB, every byte telling where it is.
    const bytes = Buffer.alloc(3.5 * 2 ** 20);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 20)) & 0xff;
    await writeFile(file, bytes);
    const chunksOf = async () => {
      const source = fileSource(file);
      if (!source.bytes) throw new Error("a file source gives its bytes");
      return (await source.bytes()).chunks;
    };
    const chunks = await chunksOf();
    let at = 0;
    const sizes: number[] = [];
    for await (const chunk of chunks) {
      // The next chunk's read is under way meanwhile: this one stays as it was read.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(chunk.equals(bytes.subarray(at, at + chunk.length))).toBe(true);
      at += chunk.length;
      sizes.push(chunk.length);
    }
    expect(at).toBe(bytes.length);
    expect(sizes).toEqual([2 ** 20, 2 ** 20, 2 ** 20, 2 ** 19]);
    // Stopped after its first chunk, with the next read under way: the file is closed, and reads again the same.
    for (let k = 0; k < 2; k++) {
      const again = (await chunksOf())[Symbol.asyncIterator]();
      const first = await again.next();
      expect(first.done === false && first.value.equals(bytes.subarray(0, 2 ** 20))).toBe(true);
      await again.return?.();
    }
  });

  it("streams a JSON array served in small chunks over HTTP", async () => {
    const text = exportText(records, "json");
    const server = await useHttpExport(
      (res) => {
        for (let i = 0; i < text.length; i += 97) res.write(text.slice(i, i + 97));
        res.end();
      },
      { contentType: "application/json" },
    );
    const graph = await loadGraph(httpSource(server.url));
    expect(graph.objects.size).toBe(records.filter((r) => r.record === "object").length);
  });

  it("lists every invalid record with its line and field", async () => {
    const dir = await useTempDir();
    const file = path.join(dir, "bad.ndjson");
    const lines = [
      JSON.stringify({ record: "object", tag: "10000000000000000000", kind: "folder", name: "Home" }),
      JSON.stringify({ record: "object", tag: "123", kind: "folder", name: "Short" }),
      JSON.stringify({ record: "relation", from: "10000000000000000000", to: "10000000000000000000" }),
      '{"record": "object", "tag": ',
      JSON.stringify({ record: "object", tag: "10000000000000000000", kind: "folder", name: "Again" }),
    ];
    await writeFile(file, `${lines.join("\n")}\n`);
    const error = await failureOf(loadGraph(fileSource(file)));
    expect(error.code).toBe("INVALID_EXPORT");
    expect(error.problems.map((p) => `${p.path}${p.line ? ` @${p.line}` : ""}: ${p.message}`)).toEqual([
      "bad.ndjson line 2 tag: must be a tag of exactly 20 digits",
      "bad.ndjson line 3 type: Invalid input: expected string, received undefined",
      "bad.ndjson line 4: invalid JSON: the record ends early",
    ]);
  });

  it("reports a repeated tag with where it was first defined", async () => {
    const dir = await useTempDir();
    const file = path.join(dir, "dup.json");
    const home = { record: "object", tag: "10000000000000000000", kind: "folder", name: "Home" };
    await writeFile(file, JSON.stringify([home, home]));
    const error = await failureOf(loadGraph(fileSource(file)));
    expect(error.problems).toEqual([
      {
        path: "dup.json record #2 (line 1)",
        message: "repeats object 10000000000000000000, already defined on line 1",
      },
    ]);
  });

  it.each([
    [
      "a truncated JSON array",
      '[{"record":"object","tag":"10000000000000000000","kind":"folder","name":"Home"}, {"rec',
      /the array ends early, after record #1: the export is truncated/,
    ],
    ["neither JSON nor NDJSON", "tag,kind\n", /is neither a JSON array of records nor NDJSON/],
    ["an empty file", "  \n", /is empty/],
  ])("refuses %s", async (_what, text, expected) => {
    const dir = await useTempDir();
    const file = path.join(dir, "export.json");
    await writeFile(file, text);
    const error = await failureOf(loadGraph(fileSource(file)));
    expect(error.code).toBe("INVALID_EXPORT");
    expect(error.message).toMatch(expected);
  });

  it("says which file is missing", async () => {
    const error = await failureOf(loadGraph(fileSource("/nonexistent/export.ndjson")));
    expect(error.code).toBe("SOURCE_UNAVAILABLE");
    expect(error.message).toContain("/nonexistent/export.ndjson");
    expect(error.problems[0]?.message).toBe("ENOENT");
  });

  it("sends URL credentials as a header and never prints them, on success and on failure", async () => {
    const ok = await useHttpExport(exportText(records, "ndjson"));
    const withToken = ok.url.replace("http://", "http://robot:tok-12345678@");
    await loadGraph(httpSource(withToken));
    expect(ok.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from("robot:tok-12345678").toString("base64")}`);

    const failing = await useHttpExport("boom", { status: 503 });
    const error = await failureOf(loadGraph(httpSource(failing.url.replace("http://", "http://robot:tok-12345678@"))));
    expect(error.code).toBe("SOURCE_UNAVAILABLE");
    expect(error.message).toContain("HTTP 503");
    expect(error.message).toContain("http://***@127.0.0.1");
    expect(`${error.message}${error.stack}${JSON.stringify(error.problems)}`).not.toContain("tok-12345678");

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await failureOf(loadGraph(httpSource(`http://robot:tok-12345678@127.0.0.1:${port}/export`)));
    expect(unreachable.problems[0]?.message).toBe("ECONNREFUSED");
    expect(`${unreachable.message}${unreachable.stack}`).not.toContain("tok-12345678");
  });
});
