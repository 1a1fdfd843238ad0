import { readFile } from "node:fs/promises";
import { CliError, ExitCode } from "./output.js";

/** Reads a file, or standard input for "-", with an error that names the file and the fix. */
export async function readInput(path: string, what: string): Promise<string> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (code ?? String(error));
    throw new CliError(
      `cannot read the ${what} ${JSON.stringify(path)}: ${reason}; pass a readable file, or - for standard input`,
      ExitCode.badInput,
      {
        cause: error,
      },
    );
  }
}
