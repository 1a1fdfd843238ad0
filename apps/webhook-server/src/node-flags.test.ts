import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { missingServerEnv, missingServerFlags, SERVER_ENV, SERVER_NODE_FLAGS } from "./node-flags.js";

describe("the server's Node flags", () => {
  it("the image's ENTRYPOINT runs the server with exactly SERVER_NODE_FLAGS", () => {
    const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? "null")).toEqual(["/nodejs/bin/node", ...SERVER_NODE_FLAGS, "/app/dist/main.js"]);
  });

  it("the image's ENV sets every SERVER_ENV variable to its value", () => {
    const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
    const set = Object.fromEntries(
      [...dockerfile.matchAll(/^ENV (.*)$/gm)].flatMap((m) =>
        (m[1] ?? "").split(/\s+/).map((pair) => pair.split("=") as [string, string]),
      ),
    );
    expect(Object.keys(SERVER_ENV).length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(SERVER_ENV)) expect(set[name], name).toBe(value);
  });

  it("names the environment variables a process lacks, and leaves a value the user set alone", () => {
    expect(missingServerEnv({})).toEqual(SERVER_ENV);
    expect(missingServerEnv({ ...SERVER_ENV })).toEqual({});
    const [first, ...rest] = Object.keys(SERVER_ENV);
    expect(missingServerEnv({ [first as string]: "8" })).toEqual(
      Object.fromEntries(rest.map((name) => [name, SERVER_ENV[name]])),
    );
  });

  it("names the flags a process lacks", () => {
    expect(missingServerFlags([])).toEqual([...SERVER_NODE_FLAGS]);
    expect(missingServerFlags(["--enable-source-maps", ...SERVER_NODE_FLAGS])).toEqual([]);
  });
});
