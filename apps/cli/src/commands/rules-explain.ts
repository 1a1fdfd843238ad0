import { explain, type Resolution, resolveDeployRules } from "@rollway/deploy-rules";
import type { DeployPayload } from "@rollway/payload-schema";
import { parseDeployPayload } from "@rollway/payload-schema";
import { CliError, ExitCode, type Output, printJson } from "../output.js";
import { readInput } from "../read-input.js";

/** Which backend gets which image, and why. */
export function routeBackends(payload: DeployPayload, backends: readonly string[]): Resolution {
  return resolveDeployRules({
    images: payload.backends?.images ?? [],
    rules: payload.backends?.deployRules ?? [],
    backends,
  });
}

export async function rulesExplainCommand(
  options: { payload: string; backends: string },
  output: Output,
): Promise<void> {
  const backends = options.backends
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean);
  if (backends.length === 0) {
    throw new CliError(
      "--backends names no backend; pass a comma-separated list such as backend-1,backend-2",
      ExitCode.badInput,
    );
  }
  const payload = parseDeployPayload(await readInput(options.payload, "payload file"));
  const resolution = routeBackends(payload, backends);
  if (output.json) printJson(output, { ok: true, ...resolution });
  else output.out(explain(resolution));
}
