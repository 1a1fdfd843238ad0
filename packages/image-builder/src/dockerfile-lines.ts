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
  const escapeChar = dockerfileEscape(text);
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

/** The escape character a Dockerfile declares in its parser directives (`# escape=\``), else the backslash. */
export function dockerfileEscape(text: string): "\\" | "`" {
  for (const raw of text.split(/\r?\n/)) {
    const directive = /^#\s*([a-z]+)\s*=\s*(.*?)\s*$/i.exec(raw.trim());
    // Parser directives come first; the first line that is not one ends them.
    if (!directive) break;
    if ((directive[1] as string).toLowerCase() === "escape") return directive[2] === "`" ? "`" : "\\";
  }
  return "\\";
}

/**
 * The Dockerfile with one `LABEL "k"="v" …` instruction added at its end, in its last stage: what the build API's
 * `labels` parameter asks for, as one step. Both engines turn that parameter into one LABEL step per label (Docker
 * 20.10's classic builder and podman 4's buildah alike), and each step commits the image again, a full copy under
 * the vfs driver. Undefined when the labels cannot be written safely into the file (a value with a line break, a file
 * ending inside a continued instruction, or one with a backtick escape): the caller then passes the parameter.
 */
export function withLabelInstruction(text: string, labels: Record<string, string>): string | undefined {
  const entries = Object.entries(labels);
  if (entries.length === 0) return text;
  if (entries.some(([key, value]) => /[\r\n]/.test(key) || /[\r\n]/.test(value) || key === "")) return undefined;
  // podman 4's parser misreads quotes after a backtick escape (`"q`"z'w"`): such files keep the parameter.
  if (dockerfileEscape(text) !== "\\") return undefined;
  const lastLine =
    text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"))
      .at(-1) ?? "";
  if (lastLine.endsWith("\\")) return undefined;
  // Inside double quotes the engines' word parser takes a backslash before `"`, `$` and itself literally; everything
  // else (spaces, `=`, `'`, backticks) is literal already. An unescaped `$` would expand build arguments.
  const quote = (word: string) => `"${word.replace(/["$\\]/g, "\\$&")}"`;
  const instruction = `LABEL ${entries.map(([key, value]) => `${quote(key)}=${quote(value)}`).join(" ")}`;
  return `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${instruction}\n`;
}
