/**
 * The rollway GitHub Action's logic: reads the inputs, releases the payload (through a rollway server or straight
 * to the cluster) or decides a release an earlier job started, and reports outputs, a job summary, and errors as
 * workflow annotations, all through the Actions toolkit. `index.ts` runs it; tests and local-action import it.
 */
import * as core from "@actions/core";
import { useSafetyChecker } from "@rollway/deploy-rules";
import { PayloadError, parseDeployPayload } from "@rollway/payload-schema";
import { checkSync } from "recheck";
import { runDirect } from "./direct.js";
import { InputError, readInputs } from "./inputs.js";
import { type ReleaseResult, SUCCESS_STATES, summaryMarkdown } from "./result.js";
import { kubeconfigSecrets, redactUrl } from "./secrets.js";
import { runServer, ServerError } from "./webhook.js";

const get = (name: string) => core.getInput(name);

/** Masks every secret the inputs carry before anything else is printed. */
function maskSecrets(): void {
  const token = get("token");
  if (token) core.setSecret(token);
  const kubeconfig = get("kubeconfig");
  if (kubeconfig) for (const secret of kubeconfigSecrets(kubeconfig)) core.setSecret(secret);
  try {
    const url = new URL(get("server-url"));
    for (const part of [url.username, url.password])
      if (part) {
        core.setSecret(part);
        const decoded = decodeURIComponent(part);
        if (decoded !== part) core.setSecret(decoded);
      }
  } catch {
    // Not a URL: readInputs says so, without echoing it.
  }
}

/** Annotations for one error: one per problem, at its file, line and column when it has them. */
function annotate(error: unknown, payloadFile: string | undefined): void {
  if (error instanceof InputError) {
    core.error(error.message, { title: "rollway: bad input" });
    return;
  }
  const problems =
    error instanceof PayloadError || error instanceof ServerError
      ? (error.problems as readonly { path: string; message: string; line?: number; column?: number }[])
      : [];
  const title = error instanceof PayloadError ? "rollway: invalid payload" : "rollway";
  const message = redactUrl(error instanceof Error ? error.message : String(error));
  if (problems.length > 0 && payloadFile && problems.some((p) => p.line !== undefined)) {
    for (const p of problems) {
      core.error(`${p.path}: ${p.message}`, {
        title,
        file: payloadFile,
        ...(p.line !== undefined ? { startLine: p.line } : {}),
        ...(p.column !== undefined ? { startColumn: p.column } : {}),
      });
    }
    return;
  }
  const environmentProblems = (error as { problems?: unknown; source?: unknown }).source
    ? ((error as { problems: { line?: number; column?: number; message: string }[] }).problems ?? [])
    : [];
  const source = (error as { source?: string }).source;
  if (source && environmentProblems.some((p) => p.line !== undefined)) {
    for (const p of environmentProblems)
      core.error(p.message, {
        title: "rollway: invalid environment",
        file: source,
        ...(p.line !== undefined ? { startLine: p.line } : {}),
        ...(p.column !== undefined ? { startColumn: p.column } : {}),
      });
    return;
  }
  core.error(message, { title });
}

async function writeSummary(result: ReleaseResult): Promise<void> {
  // Outside a runner (no summary file) the toolkit throws; the outputs and the log still say everything.
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(summaryMarkdown(result)).write();
}

export async function run(): Promise<void> {
  // deploy-rules checks patterns with recheck; its default worker backend needs files a one-file bundle lacks.
  process.env.RECHECK_SYNC_BACKEND ??= "pure";
  useSafetyChecker(checkSync);
  maskSecrets();
  let payloadFile: string | undefined;
  try {
    const inputs = readInputs(get);
    payloadFile = inputs.payloadFile;
    let result: ReleaseResult;
    if (inputs.mode === "promote" || inputs.mode === "abort") {
      core.info(`rollway: ${inputs.mode} release ${inputs.releaseId} in ${inputs.project}/${inputs.environment}`);
      result = await runServer(inputs, "", core);
    } else {
      const payload = parseDeployPayload(inputs.payloadText);
      if (inputs.promotionMode) payload.noDowntime = { ...payload.noDowntime, promotionMode: inputs.promotionMode };
      const body = inputs.promotionMode ? JSON.stringify(payload) : inputs.payloadText;
      core.info(`rollway: ${inputs.mode} release to ${inputs.environment}`);
      result = inputs.mode === "direct" ? await runDirect(inputs, payload, core) : await runServer(inputs, body, core);
    }
    core.setOutput("release-id", result.releaseId);
    core.setOutput("preview-url", result.previewUrl);
    core.setOutput("status", result.status);
    await writeSummary(result);
    const ok =
      inputs.mode === "abort"
        ? result.status === "aborted" || result.status === "aborting"
        : SUCCESS_STATES.has(result.status);
    if (result.timedOut || !ok) {
      core.error(
        `release ${result.releaseId} ${result.timedOut ? "timed out" : `ended ${result.status}`}${result.message ? `: ${result.message}` : ""}`,
        {
          title: "rollway release",
        },
      );
      process.exitCode = 1;
      return;
    }
    core.info(
      `rollway: release ${result.releaseId} ${result.status}${result.status === "waiting-for-approval" ? " (waits for a decision: mode: promote or abort with this release-id)" : ""}`,
    );
  } catch (error) {
    annotate(error, payloadFile);
    process.exitCode = 1;
  }
}
