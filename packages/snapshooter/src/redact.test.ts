import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HOME_TAG } from "./model.js";
import { createRedactor, redactUrlCredentials } from "./redact.js";
import { exitCodeOf, formatError, formatReport } from "./report.js";
import { runSnapshots, type SnapshotEvent } from "./run.js";
import { exportText, generateRecords, OLYMPE_TAG } from "./test-helpers/generate.js";
import { git, useBareRemote, useGitHttpServer, useTempDir } from "./test-helpers/resources.js";

const TOKEN = "ghp_S3cr3tT0kenValue1234567890";

describe("redactUrlCredentials", () => {
  it.each([
    ["https://ghp_abc123@github.com/org/app.git", "https://***@github.com/org/app.git"],
    [
      "fatal: unable to access 'https://user:pa55@host/x.git/': 403",
      "fatal: unable to access 'https://***@host/x.git/': 403",
    ],
    ["http://u:p@127.0.0.1:8080/a and https://t@h/b", "http://***@127.0.0.1:8080/a and https://***@h/b"],
    ["Authorization: Basic dXNlcjp0b2tlbg==", "Authorization: Basic ***"],
    ["git@github.com:org/app.git", "git@github.com:org/app.git"],
    ["https://github.com/org/app.git", "https://github.com/org/app.git"],
  ])("redacts %s", (input, expected) => {
    expect(redactUrlCredentials(input)).toBe(expected);
  });

  it("also redacts the bare token and its encoded forms when they appear outside a URL", () => {
    const redact = createRedactor([`https://robot:${TOKEN}@host/app.git`]);
    const basic = Buffer.from(`robot:${TOKEN}`).toString("base64");
    expect(redact(`token ${TOKEN} header ${basic}`)).toBe("token *** header ***");
  });
});

/** Collects everything a run could show a person: events, report, formatted output, errors, and any console output. */
function captureOutput() {
  const seen: string[] = [];
  const writes = [process.stdout, process.stderr].map((stream) => {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      seen.push(String(chunk));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    return () => {
      stream.write = original;
    };
  });
  return {
    seen,
    onEvent: (e: SnapshotEvent) => seen.push(JSON.stringify(e)),
    restore: () => {
      for (const restore of writes) restore();
    },
  };
}

async function httpSetup() {
  const remote = await useBareRemote("master");
  const server = await useGitHttpServer(path.dirname(remote.bare), { user: "robot", token: TOKEN });
  const dir = await useTempDir();
  const exportFile = path.join(dir, "export.ndjson");
  await writeFile(
    exportFile,
    exportText(generateRecords({ folders: 1, projectsPerFolder: 2, objectsPerProject: 5 }), "ndjson"),
  );
  const configFor = (repo: string, branch = "master") => [
    {
      snapshooter: { name: "My Projects", rootTags: [HOME_TAG], exclude: [OLYMPE_TAG], outputDir: "snapshot" },
      git: { repo, branch, commitMessage: "Snapshot at {date} in {folder}" },
    },
  ];
  return { remote, server, dir, exportFile, configFor };
}

describe("credentials in https://<token>@host URLs", () => {
  it("clones and pushes over smart HTTP with the token, which appears in no event, report, output, or checkout", async () => {
    const { remote, server, dir, exportFile, configFor } = await httpSetup();
    const capture = captureOutput();
    let gitConfig = "";
    try {
      const report = await runSnapshots({
        config: configFor(server.urlWithToken("remote.git")),
        source: exportFile,
        workDir: path.join(dir, "work"),
        onEvent: (e) => {
          capture.onEvent(e);
          if (e.type === "cloned") gitConfig = readFileSync(path.join(e.checkout, ".git", "config"), "utf8");
        },
      });
      capture.seen.push(JSON.stringify(report), formatReport(report));
      expect(report.entries[0]).toMatchObject({ status: "updated", pushed: true });
      expect(exitCodeOf(report)).toBe(0);
    } finally {
      capture.restore();
    }
    expect((await git(remote.bare, "log", "--format=%s", "master")).trim().split("\n")).toHaveLength(2);
    expect(gitConfig).toContain(`url = ${server.baseUrl}/remote.git`);
    const everything = [...capture.seen, gitConfig].join("\n");
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(Buffer.from(`robot:${TOKEN}`).toString("base64"));
  });

  it("a wrong token fails with a clear, redacted error (exit code 1)", async () => {
    const { server, dir, exportFile, configFor } = await httpSetup();
    const capture = captureOutput();
    try {
      const report = await runSnapshots({
        config: configFor(server.urlWithWrongToken("remote.git")),
        source: exportFile,
        workDir: path.join(dir, "work"),
        onEvent: capture.onEvent,
      });
      const text = formatReport(report);
      capture.seen.push(JSON.stringify(report), text);
      expect(report.entries[0]).toMatchObject({ status: "failed", error: { code: "GIT_FAILED" } });
      expect(text).toContain("git clone failed for http://127.0.0.1");
      expect(text).toMatch(/could not read Username|Authentication failed/);
      expect(text).toContain("check the token in git.repo");
      expect(exitCodeOf(report)).toBe(1);
    } finally {
      capture.restore();
    }
    expect(capture.seen.join("\n")).not.toContain(TOKEN);
  });

  it("a missing branch and a bad config, both with the token in the URL, print no token", async () => {
    const { server, dir, exportFile, configFor } = await httpSetup();
    const capture = captureOutput();
    try {
      const report = await runSnapshots({
        config: configFor(server.urlWithToken("remote.git"), "nope"),
        source: exportFile,
        workDir: path.join(dir, "work"),
        onEvent: capture.onEvent,
      });
      capture.seen.push(JSON.stringify(report), formatReport(report));
      expect(report.entries[0]?.error?.message).toContain("the branch must exist on the remote");

      const configFile = path.join(dir, "snapshooter.json");
      await writeFile(
        configFile,
        `${JSON.stringify(configFor(server.urlWithToken("remote.git"), "bad..branch"), null, 2)},`,
      );
      const error = await runSnapshots({ configPath: configFile, source: exportFile }).then(
        () => expect.unreachable(),
        (e: unknown) => e,
      );
      capture.seen.push(formatError(error), String((error as Error).stack));
      expect(exitCodeOf(error)).toBe(2);

      // A source URL with credentials that cannot be reached.
      const unreachable = await runSnapshots({
        config: configFor(server.urlWithToken("remote.git")),
        source: `http://robot:${TOKEN}@127.0.0.1:9/export`,
      }).then(
        () => expect.unreachable(),
        (e: unknown) => e,
      );
      capture.seen.push(formatError(unreachable), String((unreachable as Error).stack));
      expect(exitCodeOf(unreachable)).toBe(1);
    } finally {
      capture.restore();
    }
    expect(capture.seen.join("\n")).not.toContain(TOKEN);
  });
});
