import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { rollway } from "./test-helpers/run-cli.js";

const examples = fileURLToPath(new URL("../../../packages/payload-schema/examples/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "rollway-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
    const r = rollway(["validate", "-", "--json"], {
      input: '{"frontend": {"image": "r/w:1"}, "noDowntime": {"promotionmode": "manual"}}',
    });
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

const demoEnvironment = fileURLToPath(
  new URL("../../../packages/release/examples/demo-environment.yaml", import.meta.url),
);

describe("rollway validate, other kinds", () => {
  it("recognises an environment file and reports a typo with its line, column and the fix", () => {
    expect(rollway(["validate", demoEnvironment])).toMatchObject({
      code: 0,
      stdout: `${demoEnvironment}: a valid environment\n`,
    });
    const file = join(dir, "env.yaml");
    writeFileSync(
      file,
      readFileSync(demoEnvironment, "utf8").replace("activeService: frontend", "activService: frontend"),
    );
    const r = rollway(["validate", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /env\.yaml:\d+:\d+ frontend\.strategy.*unknown key "activService"; did you mean "activeService"\?/,
    );
  });

  it("refuses an unknown --kind", () => {
    const r = rollway(["validate", demoEnvironment, "--kind", "chart"]);
    expect(r).toMatchObject({
      code: 2,
      stderr: 'rollway: --kind "chart" is unknown; use one of payload, environment, snapshooter\n',
    });
  });
});

describe("rollway config diff and rules explain --env", () => {
  it("shows backend-1's oConfig going from v1 to v2", () => {
    const r = rollway(["config", "diff", "backend-1", "--env", demoEnvironment]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'backend-1 oConfig v1 → v2\n  ~ param1: "a value" → "another value"\n  + param2: "a new value"',
    );
    const json = JSON.parse(rollway(["config", "diff", "--env", demoEnvironment, "--json"]).stdout);
    expect(json.diffs.map((d: { service: string; changed: boolean }) => [d.service, d.changed])).toEqual([
      ["frontend", false],
      ["backend-1", true],
    ]);
  });

  it("takes the backends from the environment", () => {
    const r = rollway(["rules", "explain", "--payload", join(examples, "seed-004.json"), "--env", demoEnvironment]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend-5 +my-registry\/image-for-other-backends:tag +rule 0: /m);
  });
});

describe("ROLLWAY_LEASE_DURATION_SECONDS", () => {
  it("refuses a value that is not whole seconds, naming the variable, exit 2, before touching any cluster", () => {
    for (const value of ["soon", "0", "2.5"]) {
      const r = rollway(["status", "--env", demoEnvironment, "--kubeconfig", "/nonexistent"], {
        env: { ROLLWAY_LEASE_DURATION_SECONDS: value },
      });
      expect(r.code, value).toBe(2);
      expect(r.stderr).toBe(
        `rollway: ROLLWAY_LEASE_DURATION_SECONDS must be a whole number of seconds, at least 1; it is "${value}"\n`,
      );
    }
  });
});

describe("conventions", () => {
  it("has --help with examples on every command", () => {
    for (const command of [
      ["deploy"],
      ["status"],
      ["promote"],
      ["rollback"],
      ["recover"],
      ["get"],
      ["dashboard"],
      ["undo"],
      ["history"],
      ["config", "diff"],
      ["doctor"],
      ["sim"],
      ["serve"],
      ["snapshot"],
      ["build"],
      ["promote-env"],
      ["completion"],
    ]) {
      const r = rollway([...command, "--help"]);
      expect(r.code, command.join(" ")).toBe(0);
      expect(r.stdout, command.join(" ")).toMatch(/Examples?:\n {2}\$ rollway /);
    }
  });

  it("prints a bash completion script that completes commands and their options", () => {
    const r = rollway(["completion", "bash"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("complete -o default -F _rollway rollway");
    expect(r.stdout).toMatch(/"config"\) words="diff /);
    expect(r.stdout).toMatch(/"deploy"\) words="--env --dry-run --wait --timeout --help --json /);
    const completed = spawnSync(
      "bash",
      ["-c", `${r.stdout}\nCOMP_WORDS=(rollway prom); COMP_CWORD=1; _rollway; echo "\${COMPREPLY[@]}"`],
      { encoding: "utf8" },
    );
    expect(completed.stdout.trim()).toBe("promote promote-env");
  });

  it("refuses a bad option value with exit code 2", () => {
    const r = rollway(["deploy", "p.json", "--timeout", "soon"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--timeout <seconds>' argument 'soon' is invalid. expected a positive number");
  });

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

describe("the program builds only the command it runs", () => {
  const help = (args: string[]) => {
    const r = rollway(args);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  it("finds the command after global options and their values, even a value that is a command's name", () => {
    expect(help(["--context", "status", "plan", "--help"])).toMatch(/^Usage: rollway plan /m);
    expect(help(["-n", "demo", "--kubeconfig", "k", "status", "--help"])).toMatch(/^Usage: rollway status /m);
    expect(help(["--json", "rollout", "promote", "--help"])).toMatch(/^Usage: rollway rollout promote /m);
    expect(help(["promote-env", "revert", "--help"])).toMatch(/^Usage: rollway promote-env revert\|rollback /m);
    expect(help(["approve", "--help"])).toContain("--gate <gate>");
  });

  it("help, completion and a word that is no command still see every command", () => {
    const all = help(["--help"]);
    for (const name of ["status", "deploy", "rollout", "promote-env", "completion", "serve"])
      expect(all).toContain(name);
    expect(rollway(["help", "status"]).stdout).toMatch(/^Usage: rollway status /m);
    expect(help(["completion", "bash"])).toContain("promote-env");
    const typo = rollway(["stauts"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("(Did you mean status?)");
    // "status" as --context's value: no command, so the program's help (as before), not status run.
    const value = rollway(["--context", "status"]);
    expect(value.code).toBe(2);
    expect(value.stderr).toContain("Usage: rollway [options] [command]");
  });
});
