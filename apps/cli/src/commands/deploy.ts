/** `rollway deploy`: one payload released to an environment, in this process, to the end (or the plan with --dry-run). */
import { formatPlan } from "@rollway/release";
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { formatRelease } from "../format.js";
import { CliError, ExitCode, type Output, printJson } from "../output.js";
import { readPayloadFile } from "../payload-file.js";
import { recordSummary, runWithProgress, settle } from "../run-release.js";

export interface DeployOptions extends ClusterOptions {
  env?: string;
  dryRun?: boolean;
  timeout?: number;
}

export async function deployCommand(payloadFile: string, options: DeployOptions, output: Output): Promise<void> {
  const { payload } = await readPayloadFile(payloadFile);
  const environment = await loadEnvironment(options.env);
  const namespace = options.namespace ?? environment.namespace;
  const direct = await openDirect({ ...options, namespace });
  try {
    const plan = await direct.engine.plan(payload, environment);
    if (options.dryRun) {
      if (output.json) printJson(output, { ok: true, dryRun: true, plan });
      else output.out(`Dry run: nothing changed.\n${formatPlan(plan)}\n`);
      return;
    }
    if (!output.json) output.out(`${formatPlan(plan)}\n`);
    const record = await settle(
      direct,
      namespace,
      output,
      runWithProgress(direct, environment, { timeoutSeconds: options.timeout }, output, (run) =>
        direct.engine.apply(plan, run),
      ),
    );
    if (output.json) output.out(`${JSON.stringify({ type: "done", ok: true, release: recordSummary(record) })}\n`);
    else output.out(`\n${formatRelease(record)}`);
    if (record.state !== "promoted") {
      throw new CliError(`release ${record.id} ended ${record.state}: ${record.message ?? ""}`, ExitCode.failed);
    }
  } finally {
    direct.close();
  }
}
