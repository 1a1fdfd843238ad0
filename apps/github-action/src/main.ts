/**
 * The rollway GitHub Action: reads the inputs, releases the payload (through a rollway server or straight to the
 * cluster), and reports the outputs, a job summary, and errors as workflow annotations.
 */
import { useSafetyChecker } from "@rollway/deploy-rules";
import { parseDeployPayload } from "@rollway/payload-schema";
import { checkSync } from "recheck";
import { runDirect } from "./direct.js";
import { InputError, readInputs } from "./inputs.js";
import { type ReleaseResult, SUCCESS_STATES, summaryMarkdown } from "./result.js";
import { type Runner, runner } from "./runner.js";
import { runWebhook } from "./webhook.js";

export async function main(env: NodeJS.ProcessEnv = process.env, run: Runner = runner(env)): Promise<number> {
  // deploy-rules checks patterns with recheck; its default worker backend needs files a one-file bundle lacks.
  env.RECHECK_SYNC_BACKEND ??= "pure";
  process.env.RECHECK_SYNC_BACKEND ??= "pure";
  // deploy-rules requires recheck when it first checks a pattern; in this one-file bundle it is already here.
  useSafetyChecker(checkSync);
  for (const secret of ["token", "kubeconfig"]) {
    const value = env[`INPUT_${secret.toUpperCase()}`]?.trim();
    if (value) run.mask(value);
  }
  try {
    const inputs = readInputs(env);
    const payload = parseDeployPayload(inputs.payloadText);
    if (inputs.promotionMode) payload.noDowntime = { ...payload.noDowntime, promotionMode: inputs.promotionMode };
    const body = inputs.promotionMode ? JSON.stringify(payload) : inputs.payloadText;
    run.info(`rollway: ${inputs.mode} release to ${inputs.environment}`);
    const result: ReleaseResult =
      inputs.mode === "direct" ? await runDirect(inputs, payload, run) : await runWebhook(inputs, body, run);
    run.setOutput("release-id", result.releaseId);
    run.setOutput("preview-url", result.previewUrl);
    run.setOutput("status", result.status);
    run.summary(summaryMarkdown(result));
    if (!SUCCESS_STATES.has(result.status)) {
      run.error(
        `release ${result.releaseId} ended ${result.status}${result.message ? `: ${result.message}` : ""}`,
        "rollway release",
      );
      return 1;
    }
    run.info(`rollway: release ${result.releaseId} ${result.status}`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const title = error instanceof InputError ? "rollway: bad input" : "rollway";
    run.error(message, title);
    return 1;
  }
}

process.exitCode = await main();
