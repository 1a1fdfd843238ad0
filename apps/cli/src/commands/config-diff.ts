/** `rollway config diff`: each component's oConfig, current vs next, from the environment file (secrets redacted). */
import { diffOConfig, formatOConfigDiff, parseOConfig } from "@rollway/oconfig-versioning";
import { listComponents } from "@rollway/release";
import { loadEnvironment } from "../environment-file.js";
import { CliError, ExitCode, type Output, printJson } from "../output.js";

export async function configDiffCommand(
  component: string | undefined,
  options: { env?: string },
  output: Output,
): Promise<void> {
  const environment = await loadEnvironment(options.env);
  const all = listComponents(environment).filter((c) => c.component.oConfig !== undefined);
  const chosen = component ? all.filter((c) => c.name === component) : all;
  if (component && chosen.length === 0) {
    throw new CliError(
      `no component "${component}" with an oConfig in environment "${environment.name}"; pick one of: ${all.map((c) => c.name).join(", ") || "(none)"}`,
      ExitCode.badInput,
    );
  }
  const diffs = chosen.map((c) => diffOConfig(parseOConfig(c.component.oConfig, { service: c.name })));
  if (output.json) {
    printJson(output, { ok: true, diffs });
    return;
  }
  if (diffs.length === 0) output.out(`No component of "${environment.name}" has an oConfig.\n`);
  for (const diff of diffs) output.out(`${formatOConfigDiff(diff)}\n`);
}
