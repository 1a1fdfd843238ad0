/**
 * From an engine's step number back to the Dockerfile's own line. Engines number steps differently: Docker's classic
 * builder counts every instruction (`Step 4/4`, global ARGs included); podman (buildah) counts per stage from its
 * FROM (`[2/2] STEP 3/5`), leaves out the ARGs before the first FROM, and adds LABEL steps of its own at the end
 * (`STEP 3/7` for a 4-line Dockerfile). A person wants the line of the file they wrote.
 */

export interface DockerfileInstruction {
  keyword: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

/** The instructions of a Dockerfile with their first lines: comments, blank lines and continuations skipped. */
export function dockerfileInstructions(text: string): DockerfileInstruction[] {
  const lines = text.split(/\r?\n/);
  const escapeChar = /^#\s*escape\s*=\s*`/im.test(lines.slice(0, 5).join("\n")) ? "`" : "\\";
  const instructions: DockerfileInstruction[] = [];
  let continued = false;
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (!continued) {
      if (line === "" || line.startsWith("#")) continue;
      const keyword = /^([A-Za-z]+)/.exec(line)?.[1];
      if (keyword) instructions.push({ keyword: keyword.toUpperCase(), line: index + 1 });
    } else if (line.startsWith("#")) {
      continue; // A comment inside a continued instruction does not end it.
    }
    continued = line.endsWith(escapeChar);
  }
  return instructions;
}

/** Which engine's numbering a step line follows, and the stage it names (buildah's `[2/3]`). */
export interface StepPosition {
  number: number;
  style: "docker" | "buildah";
  stage?: number | undefined;
}

/** The Dockerfile line of a step, or undefined when the step is one the engine added (buildah's LABELs). */
export function lineOfStep(text: string, step: StepPosition): number | undefined {
  const instructions = dockerfileInstructions(text);
  if (step.style === "docker") return instructions[step.number - 1]?.line;
  const stages: DockerfileInstruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") stages.push([instruction]);
    else stages.at(-1)?.push(instruction); // ARGs before the first FROM belong to no stage.
  }
  return stages[(step.stage ?? 1) - 1]?.[step.number - 1]?.line;
}
