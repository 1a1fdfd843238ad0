/**
 * `rollway snapshot` on a real export file, committing to a real git repository whose remote is a local bare one;
 * and `rollway build` telling the user there is no container engine.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { rollway, rollwayAsync } from "../test-helpers/run-cli.js";

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

  it("says a run that finds the lock held was skipped, not failed (exit code 3)", () => {
    const work = mkdtempSync(join(tmpdir(), "rollway-cli-locked-"));
    onTestFinished(() => rmSync(work, { recursive: true, force: true }));
    const args = ["snapshot", "--config", join(root, "snapshooter.json"), "--source", join(root, "export.ndjson")];
    // Another run holding the lock: its lock folder, fresh (the checkout folder is named after the repo and branch).
    const id = createHash("sha256").update(`${bare}\nmain`).digest("hex").slice(0, 16);
    mkdirSync(join(work, "rollway-snapshooter", `${id}.lock`), { recursive: true });
    const second = rollway(args, { env: { ...identity, TMPDIR: work } });
    expect(second.code).toBe(3);
    expect(second.stdout).toContain("- My Projects (snapshot): skipped [LOCKED]");
    expect(second.stdout).not.toContain("failed [LOCKED]");
    expect(second.stderr).toContain("rollway: snapshot skipped for My Projects: another run holds the lock");
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
  it("refuses the old --env-file (Node's own flag) with the new name, and takes --build-env", () => {
    const project = join(root, "renamed");
    mkdirSync(join(project, "dist", "web"), { recursive: true });
    writeFileSync(join(project, "dist", "web", "index.html"), "<h1>shop</h1>\n");
    // An existing file: Node loads it into the environment and still hands the flag to rollway.
    writeFileSync(join(project, "build.env"), "FROM_NODE=1\n");
    git("init", "-q", "-b", "main", project);
    execFileSync("git", ["add", "dist"], { cwd: project });
    execFileSync("git", ["commit", "-q", "-m", "app"], { cwd: project, env: { ...process.env, ...identity } });
    const old = rollway(["build", "--dir", project, "--no-push", "--env-file", join(project, "build.env")], {
      env: { DOCKER_HOST: "tcp://127.0.0.1:9" },
    });
    expect(old.code).toBe(2);
    expect(old.stderr).toContain("rollway: --env-file is now --build-env");
    const renamed = rollway(["build", "--dir", project, "--no-push", "--build-env", join(project, "out.env")], {
      env: { DOCKER_HOST: "tcp://127.0.0.1:9" },
    });
    // Past the flags: it reaches the engine (none here).
    expect(renamed.stderr).not.toContain("unknown option");
    expect(renamed.stderr).toMatch(/^rollway: .*127\.0\.0\.1:9/m);
    expect(rollway(["build", "--help"]).stdout).toContain("--build-env <file>");
  });

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

/**
 * A git smart-HTTP remote on loopback (`git http-backend` as CGI) whose receive-pack answers slowly: it takes the
 * whole push, then waits `holdMs` before handing it to git, as a busy host does. A client that hangs up during the
 * wait has its push dropped, as a host drops a request whose connection is gone before it is processed; a client
 * that stays (an orphaned `git push` whose rollway has died) has it applied when the wait ends.
 */
async function slowGitHttpRemote(projectRoot: string, holdMs: number) {
  let pushArrived: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    pushArrived = resolve;
  });
  const seen = { clientHungUp: false, applied: false };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const forward = () => {
        const child = spawn("git", ["http-backend"], {
          env: {
            PATH: process.env.PATH ?? "",
            GIT_PROJECT_ROOT: projectRoot,
            GIT_HTTP_EXPORT_ALL: "1",
            PATH_INFO: decodeURIComponent(url.pathname),
            QUERY_STRING: url.search.replace(/^\?/, ""),
            REQUEST_METHOD: req.method ?? "GET",
            CONTENT_TYPE: req.headers["content-type"] ?? "",
            REMOTE_USER: "robot",
            REMOTE_ADDR: "127.0.0.1",
            ...(req.headers["content-encoding"]
              ? { HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"]) }
              : {}),
            ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
          },
        });
        // http-backend may exit without reading its input (a GET has none): its answer is on stdout either way, and
        // the pipe's EPIPE must not surface as an unhandled error of the test run (it did once in CI).
        child.stdin.on("error", () => undefined);
        child.stdin.end(Buffer.concat(chunks));
        const out: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => out.push(c));
        child.on("close", () => {
          const all = Buffer.concat(out);
          const end = all.indexOf("\r\n\r\n");
          let status = 200;
          for (const line of all.subarray(0, end).toString().split("\r\n")) {
            const [name = "", ...rest] = line.split(":");
            if (name.toLowerCase() === "status") status = Number.parseInt(rest.join(":").trim(), 10);
            else if (name) res.setHeader(name.trim(), rest.join(":").trim());
          }
          if (!res.destroyed) res.writeHead(status).end(all.subarray(end + 4));
        });
      };
      if (!url.pathname.endsWith("/git-receive-pack")) return forward();
      pushArrived();
      let hungUp = false;
      res.on("close", () => {
        if (!res.writableEnded) {
          hungUp = true;
          seen.clientHungUp = true;
        }
      });
      setTimeout(() => {
        if (hungUp) return;
        seen.applied = true;
        forward();
      }, holdMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (repo: string) => `http://127.0.0.1:${port}/${repo}`,
    arrived,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("rollway snapshot stopped by its supervisor", () => {
  const HOLD_MS = 3_000;

  it("handles SIGTERM as SIGINT: reports the abort, removes its checkout, kills its git, and nothing lands later", async () => {
    const base = mkdtempSync(join(tmpdir(), "rollway-cli-sigterm-"));
    onTestFinished(() => rmSync(base, { recursive: true, force: true }));
    const repos = join(base, "repos");
    const remote = join(repos, "code.git");
    const seed = join(base, "seed");
    mkdirSync(repos);
    execFileSync("git", ["init", "-q", "--bare", "-b", "main", remote]);
    execFileSync("git", ["clone", "-q", remote, seed]);
    writeFileSync(join(seed, "README.md"), "code as data\n");
    execFileSync("git", ["add", "."], { cwd: seed });
    execFileSync("git", ["commit", "-q", "-m", "start"], { cwd: seed, env: { ...process.env, ...identity } });
    execFileSync("git", ["push", "-q", "origin", "HEAD:main"], { cwd: seed });
    const before = execFileSync("git", ["--git-dir", remote, "rev-parse", "main"], { encoding: "utf8" }).trim();

    const http = await slowGitHttpRemote(repos, HOLD_MS);
    onTestFinished(() => http.close());
    const config = join(base, "snapshooter.json");
    writeFileSync(
      config,
      JSON.stringify([
        {
          snapshooter: { name: "My Projects", rootTags: ["10000000000000000000"], outputDir: "snapshot" },
          git: { repo: http.url("code.git"), branch: "main", commitMessage: "Snapshot at {date}" },
        },
      ]),
    );
    const tmp = join(base, "tmp");
    mkdirSync(tmp);
    const run = rollwayAsync(["snapshot", "--config", config, "--source", join(root, "export.ndjson")], {
      ...identity,
      TMPDIR: tmp,
    });
    await http.arrived;
    run.child.kill("SIGTERM");
    const result = await run.done;

    expect(result.code).toBe(130);
    expect(result.stdout).toContain("✗ My Projects (snapshot): failed [ABORTED]");
    expect(result.stderr).toMatch(/interrupted/);
    // The push's connection was closed by rollway (its git killed), not left to an orphan.
    expect(http.seen.clientHungUp).toBe(true);
    // No checkout left behind (the lock file's folder may stay).
    const left = readdirSync(join(tmp, "rollway-snapshooter")).filter((name) => !name.endsWith(".lock"));
    expect(left).toEqual([]);
    // Nothing lands once the remote would have applied an orphaned push.
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS + 1_000));
    expect(http.seen.applied).toBe(false);
    expect(execFileSync("git", ["--git-dir", remote, "rev-parse", "main"], { encoding: "utf8" }).trim()).toBe(before);
  });
});

describe("rollway snapshot's deletion guard", () => {
  const project = { record: "object", tag: "10000000000000000000", kind: "project", name: "Shop", properties: {} };
  const exportOf = (count: number) =>
    `${[
      project,
      ...Array.from({ length: count }, (_, i) => [
        {
          record: "object",
          tag: `2${String(i).padStart(19, "0")}`,
          kind: "object",
          name: `Button ${i}`,
          properties: { n: i },
        },
        { record: "relation", from: project.tag, to: `2${String(i).padStart(19, "0")}`, type: "contains" },
      ]).flat(),
    ]
      .map((r) => JSON.stringify(r))
      .join("\n")}\n`;

  it("refuses a run that removes more than 10% of the saved objects, pushes nothing, and takes --max-removed to allow it", () => {
    const base = mkdtempSync(join(tmpdir(), "rollway-cli-guard-"));
    onTestFinished(() => rmSync(base, { recursive: true, force: true }));
    const remote = join(base, "code.git");
    const seed = join(base, "seed");
    execFileSync("git", ["init", "-q", "--bare", "-b", "main", remote]);
    execFileSync("git", ["clone", "-q", remote, seed]);
    writeFileSync(join(seed, "README.md"), "code as data\n");
    execFileSync("git", ["add", "."], { cwd: seed });
    execFileSync("git", ["commit", "-q", "-m", "start"], { cwd: seed, env: { ...process.env, ...identity } });
    execFileSync("git", ["push", "-q", "origin", "HEAD:main"], { cwd: seed });
    const config = join(base, "snapshooter.json");
    writeFileSync(
      config,
      JSON.stringify([
        {
          snapshooter: { name: "Shop", rootTags: [project.tag], outputDir: "snapshot" },
          git: { repo: remote, branch: "main", commitMessage: "Snapshot at {date}" },
        },
      ]),
    );
    const full = join(base, "full.ndjson");
    const truncated = join(base, "truncated.ndjson");
    writeFileSync(full, exportOf(40));
    writeFileSync(truncated, exportOf(20));
    const tip = () => execFileSync("git", ["--git-dir", remote, "rev-parse", "main"], { encoding: "utf8" }).trim();
    const args = (source: string) => ["snapshot", "--config", config, "--source", source];

    expect(rollway(args(full), { env: identity }).code).toBe(0);
    const saved = tip();

    const refused = rollway(args(truncated), { env: identity });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("✗ Shop (snapshot): failed [TOO_MANY_REMOVED]");
    expect(refused.stdout).toMatch(/would remove 20 of the 41 objects .* \(48\.8%\), more than the 10% allowed/);
    expect(refused.stdout).toContain("nothing was written or pushed");
    expect(refused.stdout).toContain("--max-removed <percent> (now 10%)");
    expect(tip()).toBe(saved);

    const allowed = rollway([...args(truncated), "--max-removed", "60"], { env: identity });
    expect(allowed.code).toBe(0);
    expect(tip()).not.toBe(saved);

    const bad = rollway([...args(truncated), "--max-removed", "ten"], { env: identity });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-removed "ten": give a percent from 0 to 100');
  });
});
