/** Reads the environment file every cluster command needs (`--env`, else $ROLLWAY_ENV). */
import { type Environment, parseEnvironmentYaml } from "@rollway/release";
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
  return parseEnvironmentYaml(await readInput(file, "environment file"), { source: file });
}
