/**
 * `rollway promote`, `approve` and `abort`: each records a decision on a release in the cluster (its record
 * ConfigMap) and returns once the engine running the release acknowledged it (the decision handshake of
 * @rollway/release); an engine that stopped before it did is NOT_RUNNING, and the decision is taken back.
 */
import { userInfo } from "node:os";
import type { ApprovalGate, ReleaseRecord } from "@rollway/release";
import { type ClusterOptions, openDirect } from "../direct.js";
import { ENGINE_EXIT, explainEngineError } from "../engine-errors.js";
import { loadEnvironment } from "../environment-file.js";
import { CliError, type Output, printJson } from "../output.js";
import { recordSummary } from "../run-release.js";

export interface DecisionOptions extends ClusterOptions {
  env?: string;
  by?: string;
  gate?: ApprovalGate;
}

export type Decision = "promote" | "approve" | "abort";

const gateOf = (decision: Decision, options: DecisionOptions): ApprovalGate =>
  decision === "approve" ? (options.gate ?? "promotion") : "promotion";

/** Who acknowledged the decision, as the record says. */
const ackedBy = (decision: Decision, gate: ApprovalGate, r: ReleaseRecord): string =>
  (decision === "abort" ? r.abortRequested?.ackedBy : r.approvals.find((a) => a.gate === gate)?.ackedBy) ??
  "the engine running it";

const DONE: Record<Decision, (id: string, r: ReleaseRecord, gate: ApprovalGate) => string> = {
  promote: (id, r, gate) =>
    `Promotion of ${id} approved and acknowledged by engine ${ackedBy("promote", gate, r)}; it promotes every component together.`,
  approve: (id, r, gate) => `Approval of ${gate} on ${id} acknowledged by engine ${ackedBy("approve", gate, r)}.`,
  abort: (id, r, gate) =>
    `Abort of ${id} acknowledged by engine ${ackedBy("abort", gate, r)}; it brings every component back to stable.`,
};

const WHAT: Record<Decision, (gate: ApprovalGate) => string> = {
  promote: () => "promotion",
  approve: (gate) => `approval of ${gate}`,
  abort: () => "abort",
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
    const gate = gateOf(decision, options);
    // Said only when the engine takes more than a second (it was stalled, or it stopped and its Lease runs out).
    const onWaiting = (w: { release: string; holder: string }) =>
      output.err(
        output.json
          ? `${JSON.stringify({ type: "waiting-for-acknowledgement", release: w.release, engine: w.holder })}\n`
          : `Waiting for the engine of release ${w.release} (${w.holder}) to acknowledge the ${WHAT[decision](gate)}…\n`,
      );
    const record = await (decision === "promote"
      ? direct.engine.promote(release, { by, onWaiting })
      : decision === "abort"
        ? direct.engine.abort(release, { by, onWaiting })
        : direct.engine.approve(release, { by, gate, onWaiting })
    ).catch((error: unknown) => {
      // The engine renews its Lease but never acknowledged (an engine of an older rollway): its own words, exit 3.
      if (error instanceof Error && (error as { code?: string }).code === "TIMEOUT")
        throw new CliError(`nothing was decided: ${error.message}`, ENGINE_EXIT.TIMEOUT, {
          cause: error,
          code: "TIMEOUT",
        });
      throw explainEngineError(error, {
        namespace: namespace ?? direct.client.namespace,
        ...envFlagOf(options.env),
      });
    });
    if (output.json) printJson(output, { ok: true, release: recordSummary(record) });
    else output.out(`${DONE[decision](release, record, gate)}\n`);
  } finally {
    direct.close();
  }
}
