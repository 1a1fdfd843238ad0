/** Reads the environment file every cluster command needs (`--env`, else $ROLLWAY_ENV). */
import type { Environment } from "@rollway/release";
import { cachedEnvironment, keepEnvironment } from "./environment-cache.js";
import { CliError, ExitCode } from "./output.js";
import { readInput } from "./read-input.js";

export async function loadEnvironment(path: string | undefined): Promise<Environment> {
  const file = path ?? process.env.ROLLWAY_ENV;
  if (!file) {
    throw new CliError(
      "no environment given; pass --env environment.yaml (or set ROLLWAY_ENV); `rollway sim` prints one to try",
      ExitCode.badInput,
    );
  }
  const text = await readInput(file, "environment file");
  const kept = await cachedEnvironment(text);
  if (kept) return kept;
  // Not validated before: the quick read takes a plain, valid file without loading the YAML parser and zod; anything
  // else (a file it does not read, or one with a problem) goes to the parser and the schema, which say what is wrong,
  // and where.
  const { quickEnvironmentYaml } = await import("./environment-quick.js");
  const environment =
    quickEnvironmentYaml(text) ?? (await import("./environment-parse.js")).parseEnvironmentYaml(text, { source: file });
  // The entry is checked and its JSON taken now, before the command can touch the environment; it is written while the
  // command goes on (to the cluster), not before. The process ends only after the write (pending file operations keep
  // it alive); a write cut short (the process killed) leaves no entry, never half of one. keepEnvironment never rejects.
  void keepEnvironment(text, environment);
  return environment;
}
