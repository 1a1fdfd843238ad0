/**
 * The CLI's contract with scripts, through the built binary: `--json` streams end with one `{"type":"done"}` line on
 * success and failure, usage errors are JSON too, a closed pipe ends quietly, bad payload files are refused with
 * their name and what is wrong (depth, size, encoding), `eval "$(rollway sim --detach)"` works, and a server says
 * which project and environment it was asked about.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimServer } from "@rollway/webhook-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, rollway, rollwayAsync } from "./test-helpers/run-cli.js";
import { startQuietSimServer } from "./test-helpers/sim-server.js";

const dir = mkdtempSync(join(tmpdir(), "rollway-json-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lastLine = (text: string) => JSON.parse(text.trim().split("\n").at(-1) as string);
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const deep = `{"frontend": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;

describe("--json: one done line at the end, success or failure", () => {
  it("prints a usage error as a JSON done line on stdout, exit 2, nothing on stderr", () => {
    const r = rollway(["status", "--no-such-flag", "--json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({
      type: "done",
      ok: false,
      exitCode: 2,
      error: { code: "USAGE", message: "unknown option '--no-such-flag'; see rollway --help" },
    });
  });

  it("ends a failure with one done line carrying the error's code and file", () => {
    const r = rollway(["validate", file("comma.json", '{"frontend": {"image": "r/w:1",}}'), "--json"]);
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(lastLine(r.stdout)).toMatchObject({
      type: "done",
      ok: false,
      exitCode: 2,
      error: { code: "INVALID_JSON", file: join(dir, "comma.json"), problems: [{ line: 1, column: 31 }] },
    });
  });
});

describe("bad payload files", () => {
  it("refuses 100,000-deep JSON with exit 2, naming the file and the depth", () => {
    const path = file("deep.json", deep);
    const r = rollway(["validate", path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `rollway: ${path}: the deploy payload is nested too deep (1 problem):\n  (payload) (line 1, column 77): nested more than 64 levels deep; a deploy payload nests 4\n`,
    );
  });

  it("refuses invalid UTF-8 instead of replacing it, naming the file and the byte", () => {
    const path = file("latin1.json", Buffer.from('{"frontend": {"image": "r/caf\xe9:1"}}', "latin1"));
    const r = rollway(["deploy", path, "--env", join(dir, "unused.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `rollway: the payload file "${path}" is not UTF-8 text (byte 30 is not UTF-8); save it as UTF-8\n`,
    );
  });

  it("says a 10 MB file is too large, not that it is not JSON", () => {
    const path = file("big.json", " ".repeat(10 * 1024 * 1024));
    const r = rollway(["validate", path, "--json"]);
    expect(r.code).toBe(2);
    expect(lastLine(r.stdout)).toMatchObject({
      ok: false,
      error: {
        code: "TOO_LARGE",
        file: path,
        message: `${path}: the deploy payload is too large (1 problem):\n  (payload): 10485760 bytes; a deploy payload may be at most 1048576 bytes`,
      },
    });
  });

  it("names standard input as such", () => {
    const r = rollway(["validate", "-"], { input: "{" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rollway: standard input: the deploy payload is not valid JSON/);
  });
});

describe("rollway sim --detach", () => {
  it("makes the documented eval recipe work: status reads the simulated cluster, status --watch --json | head -1 ends quietly", async () => {
    const script = [
      "set -e",
      `eval "$(node ${bin} sim --detach --ready-delay 50)"`,
      `trap 'kill $ROLLWAY_SIM_PID' EXIT`,
      `node ${bin} status --json > ${dir}/status.json`,
      `node ${bin} status --watch --json 2> ${dir}/watch.err | head -1 > ${dir}/watch.out`,
      `echo "pipe=\${PIPESTATUS[0]}"`,
    ].join("\n");
    // Asynchronous: a blocking spawn for this long would starve the test worker.
    const child = spawn("bash", ["-c", script], { env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const r = { status: code, stdout, stderr };
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("pipe=0");
    const status = JSON.parse(spawnSync("cat", [`${dir}/status.json`], { encoding: "utf8" }).stdout);
    expect(status).toMatchObject({ ok: true, environment: "demo", namespace: "demo" });
    const first = JSON.parse(spawnSync("cat", [`${dir}/watch.out`], { encoding: "utf8" }).stdout);
    expect(first).toMatchObject({ type: "status" });
    expect(spawnSync("cat", [`${dir}/watch.err`], { encoding: "utf8" }).stdout).toBe("");
  }, 120_000);
});

describe("--server mode says what it sent", () => {
  let server: SimServer;
  beforeAll(async () => {
    server = await startQuietSimServer();
  });
  afterAll(async () => {
    await server?.shutdown();
  });

  it("names the project and environment on a refusal", async () => {
    const r = await rollwayAsync([
      "history",
      "--server",
      server.url,
      "--token",
      server.tokens.deploy,
      "--project",
      "shop",
      "--env",
      "demo",
    ]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 40[34]: .*project "shop" \(--project\), environment "demo" \(--env\)/);
  });

  it("refuses an environment file as --env, saying it came from ROLLWAY_ENV", async () => {
    const r = await rollwayAsync(["history", "--server", server.url, "--token", server.tokens.deploy], {
      ROLLWAY_ENV: "/tmp/rollway-sim-x/demo-environment.yaml",
    }).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "with --server, --env is the environment's name in the server's URL (e.g. --env prod), not a file: got \"/tmp/rollway-sim-x/demo-environment.yaml\" from ROLLWAY_ENV",
    );
  });

  it("answers 100,000-deep JSON with 400 naming the depth, not 500", async () => {
    const res = await fetch(`${server.url}/v1/projects/demo/environments/demo/validate`, {
      method: "POST",
      headers: { Authorization: `Bearer ${server.tokens.deploy}`, "Content-Type": "application/json" },
      body: deep,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      code: "TOO_DEEP",
      problems: [
        {
          path: "(payload)",
          line: 1,
          column: 77,
          message: "nested more than 64 levels deep; a deploy payload nests 4",
        },
      ],
    });
  });
});
