import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { missingServerFlags, SERVER_NODE_FLAGS } from "./node-flags.js";

describe("the server's Node flags", () => {
  it("the image's ENTRYPOINT runs the server with exactly SERVER_NODE_FLAGS", () => {
    const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? "null")).toEqual(["/nodejs/bin/node", ...SERVER_NODE_FLAGS, "/app/dist/main.js"]);
  });

  it("names the flags a process lacks", () => {
    expect(missingServerFlags([])).toEqual([...SERVER_NODE_FLAGS]);
    expect(missingServerFlags(["--enable-source-maps", ...SERVER_NODE_FLAGS])).toEqual([]);
  });
});
