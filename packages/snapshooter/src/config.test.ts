import { describe, expect, it } from "vitest";
import {
  DEFAULT_COMMIT_MESSAGE,
  formatCommitMessage,
  parseSnapshooterConfig,
  parseSnapshooterConfigText,
} from "./config.js";
import { SnapshooterError } from "./errors.js";

// Seed 004's two examples, verbatim in shape.
const seedEntry = {
  snapshooter: {
    name: "My Projects",
    rootTags: ["10000000000000000000"],
    exclude: ["10000000000000000001"],
    outputDir: "snapshot",
  },
};
const seedGit = {
  repo: "https://s3cr3t-t0ken@git.example.com/org/app.git",
  branch: "master",
  commitMessage: "Snapshot at {date} in {folder}",
};

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshooterError);
    return (error as SnapshooterError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error("expected a SnapshooterError");
}

describe("parseSnapshooterConfig", () => {
  it("accepts seed 004's examples, with and without git", () => {
    expect(parseSnapshooterConfig([seedEntry])).toEqual([seedEntry]);
    expect(parseSnapshooterConfig([{ ...seedEntry, git: seedGit }])[0]?.git).toEqual(seedGit);
  });

  it("defaults exclude to none and the commit message to the seed's", () => {
    const [entry] = parseSnapshooterConfig([
      {
        snapshooter: { name: "a", rootTags: ["10000000000000000000"], outputDir: "s" },
        git: { repo: "/r.git", branch: "main" },
      },
    ]);
    expect(entry?.snapshooter.exclude).toEqual([]);
    expect(entry?.git?.commitMessage).toBe(DEFAULT_COMMIT_MESSAGE);
  });

  it.each([
    [
      "a short tag",
      { rootTags: ["1000"] },
      'entry 0 ("My Projects").snapshooter.rootTags[0]: must be a tag of exactly 20 digits',
    ],
    [
      "a numeric tag",
      { exclude: JSON.parse("[10000000000000000001]") },
      'entry 0 ("My Projects").snapshooter.exclude[0]: must be a string of 20 digits in quotes: as a JSON number a tag loses its last digits',
    ],
    ["no roots", { rootTags: [] }, 'entry 0 ("My Projects").snapshooter.rootTags: must list at least one tag'],
    [
      "an outputDir going up",
      { outputDir: "../elsewhere" },
      'entry 0 ("My Projects").snapshooter.outputDir: must not go up',
    ],
    [
      "an outputDir in .git",
      { outputDir: ".git/x" },
      'entry 0 ("My Projects").snapshooter.outputDir: must not be inside .git',
    ],
    [
      "a misspelt key",
      { rootTag: ["10000000000000000000"] },
      'entry 0 ("My Projects").snapshooter: Unrecognized key: "rootTag"',
    ],
  ])("names the entry and field for %s", (_what, change, expected) => {
    const problems = problemsOf(() =>
      parseSnapshooterConfig([{ snapshooter: { ...seedEntry.snapshooter, ...change } }]),
    );
    expect(problems.some((p) => p.startsWith(expected))).toBe(true);
  });

  it("names a git field wrong in the second entry", () => {
    const second = {
      snapshooter: { ...seedEntry.snapshooter, name: "Other" },
      git: { ...seedGit, branch: "bad..branch" },
    };
    expect(problemsOf(() => parseSnapshooterConfig([seedEntry, second]))).toEqual([
      'entry 1 ("Other").git.branch: must be a valid git branch name, such as master',
    ]);
  });

  it("refuses two entries with one name, since --entry selects by name", () => {
    expect(problemsOf(() => parseSnapshooterConfig([seedEntry, seedEntry]))).toEqual([
      'entry 1 ("My Projects").snapshooter.name: repeats the name of entry 0; names select entries with --entry, so they must be unique',
    ]);
  });

  it("refuses an object where the seed has an array", () => {
    expect(problemsOf(() => parseSnapshooterConfig(seedEntry))[0]).toMatch(
      /^\(config\): Invalid input: expected array/,
    );
  });
});

describe("parseSnapshooterConfigText", () => {
  it("says where a trailing comma is, and never quotes the text holding the token", () => {
    const text = `[\n  {\n    "snapshooter": ${JSON.stringify(seedEntry.snapshooter)},\n    "git": ${JSON.stringify(seedGit)},\n  }\n]\n`;
    try {
      parseSnapshooterConfigText(text, "snapshooter.json");
      expect.unreachable();
    } catch (error) {
      const e = error as SnapshooterError;
      expect(e.code).toBe("INVALID_CONFIG");
      expect(e.problems[0]).toMatchObject({ path: "snapshooter.json", line: 5, column: 3 });
      expect(e.message).toContain("a property name is expected here (a trailing comma?)");
      expect(e.message).not.toContain("s3cr3t-t0ken");
    }
  });

  it("gives the line and column of a wrong field", () => {
    const text = '[\n  {"snapshooter": {"name": "x", "rootTags": ["123"], "outputDir": "s"}}\n]';
    try {
      parseSnapshooterConfigText(text, "c.json");
      expect.unreachable();
    } catch (error) {
      expect((error as SnapshooterError).problems[0]).toMatchObject({
        path: 'entry 0 ("x").snapshooter.rootTags[0]',
        line: 2,
        column: 46,
      });
    }
  });
});

describe("formatCommitMessage", () => {
  it("fills {date} as yyyy.MM.dd hh:mm:ss (UTC, 24-hour) and {folder} as the outputDir", () => {
    const date = new Date(Date.UTC(2026, 0, 5, 17, 4, 9));
    expect(formatCommitMessage("Snapshot at {date} in {folder}", { date, folder: "snapshot" })).toBe(
      "Snapshot at 2026.01.05 17:04:09 in snapshot",
    );
  });
});
