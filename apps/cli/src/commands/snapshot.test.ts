/**
 * `rollway snapshot` on a real export file, committing to a real git repository whose remote is a local bare one;
 * and `rollway build` telling the user there is no container engine.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollway } from "../test-helpers/run-cli.js";

const root = mkdtempSync(join(tmpdir(), "rollway-cli-snapshot-"));
const bare = join(root, "code.git");
const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
const identity = {
  GIT_AUTHOR_NAME: "Snapshooter",
  GIT_AUTHOR_EMAIL: "ci@example.com",
  GIT_COMMITTER_NAME: "Snapshooter",
  GIT_COMMITTER_EMAIL: "ci@example.com",
};
const records = [
  { record: "object", tag: "10000000000000000000", kind: "project", name: "My Project", properties: {} },
  { record: "object", tag: "20000000000000000042", kind: "object", name: "Save button", properties: { label: "Save" } },
  { record: "relation", from: "10000000000000000000", to: "20000000000000000042", type: "contains" },
];

beforeAll(() => {
  git("init", "-q", "--bare", "-b", "main", bare);
  const seed = join(root, "seed");
  git("clone", "-q", bare, seed);
  writeFileSync(join(seed, "README.md"), "code as data\n");
  execFileSync("git", ["add", "."], { cwd: seed });
  execFileSync("git", ["commit", "-q", "-m", "start"], { cwd: seed, env: { ...process.env, ...identity } });
  execFileSync("git", ["push", "-q", "origin", "HEAD:main"], { cwd: seed });
  writeFileSync(join(root, "export.ndjson"), `${records.map((r) => JSON.stringify(r)).join("\n")}\n`);
  writeFileSync(
    join(root, "snapshooter.json"),
    JSON.stringify([
      {
        snapshooter: { name: "My Projects", rootTags: ["10000000000000000000"], outputDir: "snapshot" },
        git: { repo: bare, branch: "main", commitMessage: "Snapshot at {date} in {folder}" },
      },
    ]),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("rollway snapshot", () => {
  it("dry run changes nothing; a run commits the patches and pushes; a second run has nothing to commit", () => {
    const args = ["snapshot", "--config", join(root, "snapshooter.json"), "--source", join(root, "export.ndjson")];
    const dry = rollway([...args, "--dry-run"], { env: identity });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("Dry run: nothing written.");
    expect(git("--git-dir", bare, "log", "--oneline", "main")).not.toContain("Snapshot at");

    const first = rollway(args, { env: identity });
    expect(first.code).toBe(0);
    expect(git("--git-dir", bare, "log", "-1", "--format=%s", "main")).toMatch(
      /^Snapshot at \d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d in snapshot$/,
    );
    const again = rollway([...args, "--json"], { env: identity });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).report.entries[0]).toMatchObject({ name: "My Projects", commit: null });
  });

  it("names a configuration problem with its line and column, exit code 2", () => {
    const bad = join(root, "bad.json");
    writeFileSync(bad, '[{"snapshooter": {"name": "x", "rootTags": [1], "outputDir": "s"}}]');
    const r = rollway(["snapshot", "--config", bad, "--source", join(root, "export.ndjson")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/rootTags.*line 1, column \d+/);
  });
});

describe("rollway build", () => {
  it("says there is no container engine and how to start one", () => {
    const project = join(root, "app");
    mkdirSync(join(project, "dist", "web"), { recursive: true });
    writeFileSync(join(project, "dist", "web", "index.html"), "<h1>shop</h1>\n");
    git("init", "-q", "-b", "main", project);
    execFileSync("git", ["add", "."], { cwd: project });
    execFileSync("git", ["commit", "-q", "-m", "app"], { cwd: project, env: { ...process.env, ...identity } });
    const r = rollway(["build", "--dir", project, "--registry", "registry.example.com/team", "--no-push"], {
      env: { DOCKER_HOST: "tcp://127.0.0.1:9" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rollway: .*127\.0\.0\.1:9/m);
  });
});
