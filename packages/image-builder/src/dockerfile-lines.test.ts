import { describe, expect, it } from "vitest";
import { dockerfileEscape, dockerfileInstructions, lineOfStep, withLabelInstruction } from "./dockerfile-lines.js";

const multiStage = [
  "# build",
  "ARG BASE=alpine",
  "FROM $BASE AS build",
  "RUN echo a \\",
  "  # a comment inside",
  "  && echo b",
  "",
  "FROM scratch",
  "COPY --from=build /a /a",
  "LABEL x=1",
].join("\n");

describe("dockerfileInstructions", () => {
  it("lists instructions at their first line, skipping comments, blanks and continuations", () => {
    expect(dockerfileInstructions(multiStage)).toEqual([
      { keyword: "ARG", line: 2 },
      { keyword: "FROM", line: 3 },
      { keyword: "RUN", line: 4 },
      { keyword: "FROM", line: 8 },
      { keyword: "COPY", line: 9 },
      { keyword: "LABEL", line: 10 },
    ]);
  });

  it("follows the escape directive", () => {
    expect(dockerfileInstructions("# escape=`\nFROM x\nRUN a `\n  b\nCOPY a b\n").map((i) => i.line)).toEqual([
      2, 3, 5,
    ]);
  });
});

describe("lineOfStep", () => {
  it.each([
    ["Docker counts every instruction", { number: 5, style: "docker" as const }, 9],
    ["buildah counts from the first FROM", { number: 2, style: "buildah" as const }, 4],
    ["buildah counts per stage", { number: 2, style: "buildah" as const, stage: 2 }, 9],
    ["the added LABEL step has no line", { number: 4, style: "buildah" as const, stage: 2 }, undefined],
  ])("%s", (_name, step, line) => {
    expect(lineOfStep(multiStage, step)).toBe(line);
  });
});

describe("dockerfileEscape", () => {
  it.each([
    ["FROM x\n", "\\"],
    ["# escape=`\nFROM x\n", "`"],
    ["# syntax=docker/dockerfile:1\n#ESCAPE = `\nFROM x\n", "`"],
    // A directive after a comment, a blank line or an instruction is a comment.
    ["# a comment\n# escape=`\nFROM x\n", "\\"],
    ["\n# escape=`\nFROM x\n", "\\"],
  ])("%j", (text, expected) => {
    expect(dockerfileEscape(text)).toBe(expected);
  });
});

describe("withLabelInstruction", () => {
  const labels = {
    draw_version: `2.0 "$HOME" \${X:-y} \\ 'q' \`b\` ünï=€`,
    "org.opencontainers.image.revision": "3f2a",
  };

  it("adds one LABEL instruction at the end, quoting what the parser would expand or unescape", () => {
    expect(withLabelInstruction("FROM x\nCOPY a b\n", labels)).toBe(
      `FROM x\nCOPY a b\nLABEL "draw_version"="2.0 \\"\\$HOME\\" \\\${X:-y} \\\\ 'q' \`b\` ünï=€" "org.opencontainers.image.revision"="3f2a"\n`,
    );
  });

  it("starts a line of its own after a file without a final line break, and keeps CRLF files' lines", () => {
    expect(withLabelInstruction("FROM x\nCOPY a b", { a: "1" })).toBe('FROM x\nCOPY a b\nLABEL "a"="1"\n');
    expect(withLabelInstruction("FROM x\r\nCOPY a b\r\n", { a: "1" })).toBe('FROM x\r\nCOPY a b\r\nLABEL "a"="1"\n');
  });

  it("leaves the file as it is without labels", () => {
    expect(withLabelInstruction("FROM x\n", {})).toBe("FROM x\n");
  });

  it.each([
    ["a value with a line break", "FROM x\n", { a: "1\n2" }],
    ["a file ending inside a continued instruction", "FROM x\nCOPY a \\\n", { a: "1" }],
    ["a file with the backtick escape", "# escape=`\nFROM x\n", { a: "1" }],
  ])("gives up on %s (the caller passes the labels parameter)", (_name, text, given) => {
    expect(withLabelInstruction(text, given)).toBeUndefined();
  });
});
