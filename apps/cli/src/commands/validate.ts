import { type DeployPayload, parseDeployPayload } from "@rollway/payload-schema";
import { type Output, printJson } from "../output.js";
import { readInput } from "../read-input.js";

export async function validateCommand(file: string, output: Output): Promise<DeployPayload> {
  const payload = parseDeployPayload(await readInput(file, "payload file"));
  if (output.json) printJson(output, { ok: true, payload });
  else output.out(`${file === "-" ? "standard input" : file}: a valid deploy payload\n`);
  return payload;
}
