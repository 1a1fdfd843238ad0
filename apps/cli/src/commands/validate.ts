/** `rollway validate`: a deploy payload, an environment file or a snapshooter configuration, with exact positions. */
import { CliError, ExitCode, type Output, printJson } from "../output.js";
import { parsePayloadText, readPayloadText } from "../payload-file.js";
import { readInput } from "../read-input.js";

export type ValidateKind = "payload" | "environment" | "snapshooter";
const KINDS: readonly ValidateKind[] = ["payload", "environment", "snapshooter"];

/** An environment is YAML with `kind: Environment`; a snapshooter configuration is a JSON array; else a payload. */
function detect(file: string, text: string): ValidateKind {
  if (/^kind:\s*Environment\s*$/m.test(text)) return "environment";
  if (text.trimStart().startsWith("[")) return "snapshooter";
  if (/\.ya?ml$/i.test(file)) return "environment";
  return "payload";
}

export async function validateCommand(file: string, options: { kind?: string }, output: Output): Promise<void> {
  if (options.kind !== undefined && !KINDS.includes(options.kind as ValidateKind)) {
    throw new CliError(
      `--kind ${JSON.stringify(options.kind)} is unknown; use one of ${KINDS.join(", ")}`,
      ExitCode.badInput,
    );
  }
  const guess = options.kind ?? (/\.ya?ml$/i.test(file) ? "environment" : "payload");
  // A payload is read with its size limit (a 10 MB file is "too large", not "not valid JSON").
  const text = guess === "payload" ? await readPayloadText(file) : await readInput(file, `${guess} file`);
  const kind = (options.kind as ValidateKind | undefined) ?? detect(file, text);
  const name = file === "-" ? "standard input" : file;
  let value: unknown;
  if (kind === "payload") {
    value = parsePayloadText(text, file);
  } else if (kind === "environment") {
    // The parser's own module: a dynamic import of the package would load its whole index (the release engine).
    const { parseEnvironmentYaml } = await import("../environment-parse.js");
    value = parseEnvironmentYaml(text, { source: name });
  } else {
    const { parseSnapshooterConfigText } = await import("@rollway/snapshooter");
    value = parseSnapshooterConfigText(text, name);
  }
  const what = { payload: "deploy payload", environment: "environment", snapshooter: "snapshooter configuration" }[
    kind
  ];
  if (output.json) printJson(output, { ok: true, kind, [kind]: value });
  else output.out(`${name}: a valid ${what}\n`);
}
