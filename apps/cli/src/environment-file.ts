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
  // The schema (zod) and the YAML parser load only when the file was not validated before.
  const { parseEnvironmentYaml } = await import("./environment-parse.js");
  const environment = parseEnvironmentYaml(text, { source: file });
  await keepEnvironment(text, environment);
  return environment;
}
