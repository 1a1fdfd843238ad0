/**
 * `rollway promote`, `approve` and `abort`: each records a decision on a release in the cluster (its record
 * ConfigMap); the engine running the release sees it through a watch and acts.
 */
import { userInfo } from "node:os";
import type { ApprovalGate, ReleaseRecord } from "@rollway/release";
import { type ClusterOptions, openDirect } from "../direct.js";
import { explainEngineError } from "../engine-errors.js";
import { loadEnvironment } from "../environment-file.js";
import { type Output, printJson } from "../output.js";
import { recordSummary } from "../run-release.js";

export interface DecisionOptions extends ClusterOptions {
  env?: string;
  by?: string;
  gate?: ApprovalGate;
}

export type Decision = "promote" | "approve" | "abort";

const DONE: Record<Decision, (id: string, r: ReleaseRecord) => string> = {
  promote: (id) => `Promotion of ${id} approved; the engine running it promotes every component together.`,
  approve: (id, r) => `Approval of ${r.approvals.at(-1)?.gate ?? "promotion"} recorded on ${id}.`,
  abort: (id) => `Abort of ${id} requested; the engine running it brings every component back to stable.`,
};

export function whoAmI(by: string | undefined): string {
  if (by) return by;
  try {
    return process.env.USER ?? userInfo().username;
  } catch {
    return "unknown";
  }
}

/** How the command got its environment file, for the commands an error suggests. */
export function envFlagOf(env: string | undefined): { envFlag?: string } {
  if (env && env !== process.env.ROLLWAY_ENV) return { envFlag: ` --env ${env}` };
  return process.env.ROLLWAY_ENV ? { envFlag: "" } : {};
}

export async function decideCommand(
  decision: Decision,
  release: string,
  options: DecisionOptions,
  output: Output,
): Promise<void> {
  // The environment file, when given, says the namespace the release records live in.
  const namespace = options.namespace ?? (options.env ? (await loadEnvironment(options.env)).namespace : undefined);
  const direct = await openDirect({ ...options, ...(namespace ? { namespace } : {}) });
  try {
    const by = whoAmI(options.by);
    const record = await (decision === "promote"
      ? direct.engine.promote(release, { by })
      : decision === "abort"
        ? direct.engine.abort(release, { by })
        : direct.engine.approve(release, { by, gate: options.gate ?? "promotion" })
    ).catch((error: unknown) => {
      throw explainEngineError(error, {
        namespace: namespace ?? direct.client.namespace,
        ...envFlagOf(options.env),
      });
    });
    if (output.json) printJson(output, { ok: true, release: recordSummary(record) });
    else output.out(`${DONE[decision](release, record)}\n`);
  } finally {
    direct.close();
  }
}
