import { describe, expect, it } from "vitest";
import { dockerfileInstructions, lineOfStep } from "./dockerfile-lines.js";

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
    ["buildah's own LABEL steps have no line", { number: 7, style: "buildah" as const, stage: 2 }, undefined],
  ])("%s", (_name, step, line) => {
    expect(lineOfStep(multiStage, step)).toBe(line);
  });
});
