import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// The tests run the built binary exactly as a user would.
const bin = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const examples = fileURLToPath(new URL("../../../packages/payload-schema/examples/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rollway-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The binary in the background, for commands that run while the test does other things (and for long ones). */
function rollwayAsync(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function rollway(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    input,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("rollway demo", () => {
  it("releases the seed's example on a simulated cluster to preview, promotes it and shows the history", async () => {
    const r = await rollwayAsync(["demo", "--ready-delay", "50"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("6 workloads on version 1.0");
    expect(r.stdout).toMatch(
      /image +my-registry\/image-for-backend-1:1\.0 → my-registry\/image-for-backend-1:tag +\(rule backends\.deployRules\[1\]\)/,
    );
    for (const c of ["frontend", "backend-1", "backend-2", "backend-3", "backend-4", "backend-5"]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${c} +Paused 2/2 ready`, "m"));
      expect(r.stdout).toMatch(new RegExp(`component-promoted +${c}: .* now serves users`));
    }
    expect(r.stdout).toMatch(/^demo-\d{8}-\d{6}-\w+ +promoted +/m);
    expect(r.stdout).not.toContain("\u001b[");
  });

  it("prints one JSON object per line with --json, ending with the promoted release", async () => {
    const r = await rollwayAsync(["demo", "--json", "--ready-delay", "50"]);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const types = lines.filter((l) => l.type === "event").map((l) => l.event.type);
    expect(types).toEqual(
      expect.arrayContaining(["started", "previews-ready", "waiting-for-approval", "upgrade-done"]),
    );
    expect(lines.find((l) => l.type === "history").releases[0].state).toBe("promoted");
    expect(lines.at(-1)).toMatchObject({ type: "done", ok: true, state: "promoted" });
  });
});

describe("rollway validate", () => {
  it("accepts the seed's example", () => {
    const r = rollway(["validate", join(examples, "seed-004.json")]);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining("a valid deploy payload") });
  });

  it("reports the published example's trailing comma with line and column, exit code 2", () => {
    const r = rollway(["validate", join(examples, "seed-004-as-published.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("(line 19, column 52): trailing comma before '}'");
  });

  it("reads standard input with -, and reports problems as JSON with --json", () => {
    const r = rollway(
      ["validate", "-", "--json"],
      '{"frontend": {"image": "r/w:1"}, "noDowntime": {"promotionmode": "manual"}}',
    );
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.problems).toEqual([
      { path: "noDowntime.promotionmode", line: 1, column: 49, message: 'unknown key; did you mean "promotionMode"?' },
    ]);
  });

  it("names a missing file and the fix", () => {
    const r = rollway(["validate", join(dir, "missing.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read the payload file ".*missing.json": no such file; pass a readable file/);
  });
});

describe("rollway rules explain", () => {
  it("refuses rules that give one backend two images, naming both rules", () => {
    const file = join(dir, "conflict.json");
    writeFileSync(
      file,
      JSON.stringify({
        backends: {
          images: ["r/a:1", "r/b:1"],
          deployRules: [
            { source: "^r/a:", target: "^api" },
            { source: "^r/b:", target: "api$" },
          ],
        },
      }),
    );
    const r = rollway(["rules", "explain", "--payload", file, "--backends", "api,web"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('backend "api": given two images');
  });

  it("refuses a catastrophic pattern before matching anything", () => {
    const file = join(dir, "redos.json");
    writeFileSync(
      file,
      JSON.stringify({ backends: { images: ["r/a:1"], deployRules: [{ source: ".*", target: "^(a+)+$" }] } }),
    );
    const r = rollway(["rules", "explain", "--payload", file, "--backends", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /backends.deployRules\[0\].target \(line 1, column \d+\): refused: catastrophic backtracking/,
    );
  });
});

describe("conventions", () => {
  it("documents the exit codes in --help", () => {
    const r = rollway(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Exit codes: 0 ok, 1 failed, 2 bad input, 3 timed out.");
  });

  it("answers an unknown command with exit code 2 and a suggestion", () => {
    const r = rollway(["dmeo"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("(Did you mean demo?)");
  });

  it("prints its version", () => {
    expect(rollway(["--version"])).toMatchObject({ code: 0, stdout: "0.1.0\n" });
  });
});
