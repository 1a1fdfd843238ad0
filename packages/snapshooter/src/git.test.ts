import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { describe, expect, it } from "vitest";
import { applyPatches } from "./apply.js";
import { checkoutDirFor } from "./git.js";
import { HOME_TAG } from "./model.js";
import { exitCodeOf } from "./report.js";
import { type RunSnapshotsOptions, runSnapshots, type SnapshotEvent } from "./run.js";
import { exportText, generateRecords, OLYMPE_TAG } from "./test-helpers/generate.js";
import { git, TEST_AUTHOR, useBareRemote, useTempDir } from "./test-helpers/resources.js";

const NOW = () => new Date(Date.UTC(2026, 0, 5, 17, 4, 9));

async function setup(options: { objectsPerProject?: number } = {}) {
  const remote = await useBareRemote("master");
  const dir = await useTempDir();
  const exportFile = path.join(dir, "export.ndjson");
  const writeExport = (seed: number) =>
    writeFile(
      exportFile,
      exportText(
        generateRecords({ seed, folders: 2, projectsPerFolder: 2, objectsPerProject: options.objectsPerProject ?? 6 }),
        "ndjson",
      ),
    );
  await writeExport(4);
  const config = [
    {
      snapshooter: { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG], outputDir: "snapshot" },
      git: { repo: remote.bare, branch: "master", commitMessage: "Snapshot at {date} in {folder}" },
    },
  ];
  const events: SnapshotEvent[] = [];
  const run = (extra: Partial<RunSnapshotsOptions> = {}) =>
    runSnapshots({
      config,
      source: exportFile,
      now: NOW,
      workDir: path.join(dir, "work"),
      onEvent: (e) => events.push(e),
      ...extra,
    });
  return { remote, dir, exportFile, writeExport, config, run, events };
}

/** Pushes a commit from the other developer's clone, synchronously (called from inside a run's event). */
function pushFromOtherClone(clone: string, change: (clone: string) => void, message: string) {
  const env = { ...process.env, ...TEST_AUTHOR };
  execFileSync("git", ["pull", "--quiet", "--rebase", "origin", "master"], { cwd: clone, env });
  change(clone);
  execFileSync("git", ["add", "-A"], { cwd: clone, env });
  execFileSync("git", ["commit", "--quiet", "-m", message], { cwd: clone, env });
  execFileSync("git", ["push", "--quiet", "origin", "HEAD:refs/heads/master"], { cwd: clone, env });
}

const log = (bare: string) => git(bare, "log", "--format=%s", "master").then((out) => out.trim().split("\n"));

describe("runSnapshots with git", () => {
  it("commits and pushes the snapshot with the formatted message, and a second run commits nothing", async () => {
    const { remote, run, events } = await setup();
    const first = await run();
    expect(first.entries[0]).toMatchObject({ status: "updated", pushed: true, pushAttempts: 1 });
    expect(first.entries[0]?.files.added).toContain("manifest.json");
    expect(await log(remote.bare)).toEqual(["Snapshot at 2026.01.05 17:04:09 in snapshot", "initial"]);
    expect(first.entries[0]?.commit).toBe((await git(remote.bare, "rev-parse", "master")).trim());
    expect(exitCodeOf(first)).toBe(0);

    // What was pushed is a complete snapshot, README untouched.
    await git(remote.clone, "pull", "--quiet", "origin", "master");
    expect(await readFile(path.join(remote.clone, "README.md"), "utf8")).toBe("# app\n");
    expect((await applyPatches(path.join(remote.clone, "snapshot"))).objects.size).toBe(first.entries[0]?.objects);

    events.length = 0;
    const second = await run();
    expect(second.entries[0]).toMatchObject({
      status: "unchanged",
      commit: null,
      pushed: false,
      files: { added: [], changed: [], removed: [] },
    });
    expect(events.map((e) => e.type)).toEqual(["source-loaded", "entry-started", "cloned", "entry-finished"]);
    expect(await log(remote.bare)).toHaveLength(2);
    expect(exitCodeOf(second)).toBe(0);
  });

  it("when the push is refused because the remote moved on, fetches, rebases and pushes again", async () => {
    const { remote, run, events } = await setup();
    const report = await run({
      onEvent: (e) => {
        events.push(e);
        if (e.type === "committed" && events.filter((x) => x.type === "committed").length === 1) {
          pushFromOtherClone(
            remote.clone,
            (c) => execFileSync("sh", ["-c", "echo more >> README.md"], { cwd: c }),
            "docs: more readme",
          );
        }
      },
    });
    expect(report.entries[0]).toMatchObject({ status: "updated", pushed: true, pushAttempts: 2 });
    expect(
      events
        .filter((e) => e.type === "push-refused" || e.type === "caught-up")
        .map((e) => (e.type === "caught-up" ? e.how : e.type)),
    ).toEqual(["push-refused", "rebase"]);
    expect(await log(remote.bare)).toEqual([
      "Snapshot at 2026.01.05 17:04:09 in snapshot",
      "docs: more readme",
      "initial",
    ]);
    expect(report.entries[0]?.commit).toBe((await git(remote.bare, "rev-parse", "master")).trim());
  });

  it("when the other push changed the patches too, starts from the remote tip and writes the snapshot again", async () => {
    const { remote, run, events, writeExport } = await setup();
    await run();
    await writeExport(5);
    const report = await run({
      onEvent: (e) => {
        events.push(e);
        if (e.type === "committed" && events.filter((x) => x.type === "committed").length === 2) {
          pushFromOtherClone(
            remote.clone,
            (c) => execFileSync("sh", ["-c", "echo '{}' > snapshot/manifest.json"], { cwd: c }),
            "someone edits the manifest",
          );
        }
      },
    });
    expect(report.entries[0]).toMatchObject({ status: "updated", pushed: true, pushAttempts: 2 });
    expect(events.filter((e) => e.type === "caught-up").map((e) => e.type === "caught-up" && e.how)).toEqual([
      "rewrite",
    ]);
    expect(await log(remote.bare)).toEqual([
      "Snapshot at 2026.01.05 17:04:09 in snapshot",
      "someone edits the manifest",
      "Snapshot at 2026.01.05 17:04:09 in snapshot",
      "initial",
    ]);
    // The remote holds exactly our snapshot again: nothing of the edit survives, nothing of ours is lost.
    await git(remote.clone, "pull", "--quiet", "origin", "master");
    expect((await applyPatches(path.join(remote.clone, "snapshot"))).objects.size).toBe(report.entries[0]?.objects);
  });

  it("gives up after the bounded number of refused pushes, losing nothing", async () => {
    const { remote, run, events } = await setup();
    let busy = 0;
    const report = await run({
      maxPushAttempts: 2,
      onEvent: (e) => {
        events.push(e);
        if (e.type === "committed" || e.type === "caught-up") {
          busy++;
          pushFromOtherClone(
            remote.clone,
            (c) => execFileSync("sh", ["-c", `echo ${busy} >> README.md`], { cwd: c }),
            `busy ${busy}`,
          );
        }
      },
    });
    expect(report.entries[0]).toMatchObject({ status: "failed", pushed: false, error: { code: "PUSH_REJECTED" } });
    expect(report.entries[0]?.error?.message).toContain("was refused 2 times");
    expect(exitCodeOf(report)).toBe(1);
    expect(await log(remote.bare)).toEqual(["busy 2", "busy 1", "initial"]);
  });

  it("when the remote moves between its ref advertisement and the push (failed to update ref), retries like a moved branch", async () => {
    const { remote, run, events } = await setup();
    // Once, while our push is being received, a teammate's commit lands on master first: git's own race.
    const hook = path.join(remote.bare, "hooks", "pre-receive");
    await writeFile(
      hook,
      [
        "#!/bin/sh",
        '[ -f "$GIT_DIR/moved" ] && exit 0',
        'touch "$GIT_DIR/moved"',
        "unset GIT_QUARANTINE_PATH",
        "tip=$(git rev-parse refs/heads/master)",
        "new=$(GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t git commit-tree -p $tip -m 'teammate: meanwhile' $(git rev-parse $tip^{tree}))",
        "git update-ref refs/heads/master $new $tip",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const report = await run();
    expect(report.entries[0]).toMatchObject({ status: "updated", pushed: true, pushAttempts: 2 });
    expect(events.filter((e) => e.type === "push-refused")).toHaveLength(1);
    expect(await log(remote.bare)).toEqual([
      "Snapshot at 2026.01.05 17:04:09 in snapshot",
      "teammate: meanwhile",
      "initial",
    ]);
  });

  it("a push a server hook declines fails at once with the hook's words, without retrying", async () => {
    const { remote, run, events } = await setup();
    const hook = path.join(remote.bare, "hooks", "pre-receive");
    await writeFile(hook, "#!/bin/sh\necho 'branch frozen for the release' >&2\nexit 1\n", { mode: 0o755 });
    const report = await run();
    expect(report.entries[0]).toMatchObject({ status: "failed", pushed: false, error: { code: "GIT_FAILED" } });
    expect(report.entries[0]?.error?.message).toContain("branch frozen for the release");
    expect(events.filter((e) => e.type === "push-refused")).toEqual([]);
    expect(await log(remote.bare)).toEqual(["initial"]);
  });

  it("refuses to run on a checkout another run holds, and changes nothing (exit code 3)", async () => {
    const { remote, run, dir } = await setup();
    const checkout = checkoutDirFor({ repo: remote.bare, branch: "master" }, path.join(dir, "work"));
    await mkdir(path.dirname(checkout), { recursive: true });
    const release = await lockfile.lock(checkout, { realpath: false, lockfilePath: `${checkout}.lock` });
    try {
      const report = await run();
      expect(report.entries[0]).toMatchObject({ status: "skipped", error: { code: "LOCKED" } });
      expect(exitCodeOf(report)).toBe(3);
      expect(await log(remote.bare)).toEqual(["initial"]);
    } finally {
      await release();
    }
  });

  it("two runs at once: one does the work, the other is refused by the lock", async () => {
    const { remote, run } = await setup();
    const reports = await Promise.all([run(), run()]);
    const statuses = reports.map((r) => r.entries[0]?.status ?? "").sort();
    expect(statuses).toEqual(["skipped", "updated"]);
    expect(reports.map((r) => r.entries[0]?.error?.code).filter(Boolean)).toEqual(["LOCKED"]);
    expect(await log(remote.bare)).toHaveLength(2);
  });

  it("stops when aborted mid-run, pushing nothing (exit code 130)", async () => {
    const { remote, run, events } = await setup();
    const controller = new AbortController();
    const report = await run({
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === "cloned") controller.abort();
      },
    });
    expect(report.entries[0]).toMatchObject({ status: "failed", error: { code: "ABORTED" } });
    expect(exitCodeOf(report)).toBe(130);
    expect(await log(remote.bare)).toEqual(["initial"]);
  });

  it("a dry run clones and reports, but commits and pushes nothing", async () => {
    const { remote, run } = await setup();
    const report = await run({ dryRun: true });
    expect(report.entries[0]).toMatchObject({ status: "would-update", commit: null, pushed: false });
    expect(report.entries[0]?.files.added.length).toBeGreaterThan(1);
    expect(await log(remote.bare)).toEqual(["initial"]);
  });

  it("says clearly when the branch does not exist on the remote", async () => {
    const { run, config } = await setup();
    const report = await run({ config: [{ ...config[0], git: { ...config[0]?.git, branch: "release" } }] });
    expect(report.entries[0]).toMatchObject({ status: "failed", error: { code: "GIT_FAILED" } });
    expect(report.entries[0]?.error?.message).toMatch(/git clone failed for .*remote\.git \(branch release\)/);
    expect(report.entries[0]?.error?.message).toContain("the branch must exist on the remote");
  });
});
