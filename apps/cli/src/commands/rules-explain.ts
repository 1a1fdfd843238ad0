import { explain, type Resolution, resolveDeployRules } from "@rollway/deploy-rules";
import type { DeployPayload } from "@rollway/payload-schema";
import { CliError, ExitCode, type Output, printJson } from "../output.js";
import { readPayloadFile } from "../payload-file.js";

/** Which backend gets which image, and why. */
export function routeBackends(payload: DeployPayload, backends: readonly string[]): Resolution {
  return resolveDeployRules({
    images: payload.backends?.images ?? [],
    rules: payload.backends?.deployRules ?? [],
    backends,
  });
}

export async function rulesExplainCommand(
  options: { payload?: string; backends?: string; env?: string },
  output: Output,
): Promise<void> {
  if (!options.payload) {
    throw new CliError("rules explain needs --payload <file> (or - for standard input)", ExitCode.badInput);
  }
  let backends: string[];
  if (options.backends !== undefined) {
    backends = options.backends
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean);
  } else if (options.env !== undefined) {
    const { loadEnvironment } = await import("../environment-file.js");
    backends = Object.keys((await loadEnvironment(options.env)).backends);
  } else {
    throw new CliError(
      "rules explain needs the backends: pass --backends backend-1,backend-2 or --env environment.yaml",
      ExitCode.badInput,
    );
  }
  if (backends.length === 0) {
    throw new CliError(
      "--backends names no backend; pass a comma-separated list such as backend-1,backend-2",
      ExitCode.badInput,
    );
  }
  const { payload } = await readPayloadFile(options.payload);
  const resolution = routeBackends(payload, backends);
  if (output.json) printJson(output, { ok: true, ...resolution });
  else output.out(explain(resolution));
}
