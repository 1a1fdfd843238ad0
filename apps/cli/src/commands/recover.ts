/**
 * `rollway recover`: takes over the releases of an environment whose engine stopped (the process running
 * `rollway deploy` was killed, its Lease expired) and runs them here to their end: resumed (default), or with
 * `--rollback` every component put back to what users had. A live engine's release is never touched.
 */
import type { ReleaseRecord } from "@rollway/release";
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { formatRelease } from "../format.js";
import { CliError, ExitCode, type Output, printDone } from "../output.js";
import { recordSummary, runWithProgress, settle } from "../run-release.js";

export interface RecoverCommandOptions extends ClusterOptions {
  /** The environment's name as a NOT_RUNNING message gives it (`rollway recover demo`): checked against the file's. */
  environment?: string;
  env?: string;
  server?: string;
  rollback?: boolean;
  wait?: boolean;
  timeout?: number;
}

export async function recoverCommand(options: RecoverCommandOptions, output: Output): Promise<void> {
  if (options.server) {
    throw new CliError(
      "recover is not available with --server: a rollway server takes over the releases whose engine stopped on its own (each Lease duration); run it in direct mode with --kubeconfig for a release a `rollway deploy` ran",
      ExitCode.badInput,
      { code: "USAGE" },
    );
  }
  const environment = await loadEnvironment(options.env);
  if (options.environment !== undefined && options.environment !== environment.name) {
    throw new CliError(
      `environment "${options.environment}" given, but the environment file${options.env ? ` ${options.env}` : " ($ROLLWAY_ENV)"} is "${environment.name}"; pass --env with the file of environment "${options.environment}"`,
      ExitCode.badInput,
      { code: "USAGE" },
    );
  }
  const namespace = options.namespace ?? environment.namespace;
  const direct = await openDirect({ ...options, namespace });
  try {
    let records: ReleaseRecord[] = [];
    await settle(
      direct,
      namespace,
      output,
      runWithProgress(
        direct,
        environment,
        { timeoutSeconds: options.timeout, rowsFromFirstEvent: true },
        output,
        async (run) => {
          records = await direct.engine.recover(environment.name, {
            ...run,
            namespace,
            policy: options.rollback ? "rollback" : "resume",
            wait: Boolean(options.wait),
          });
          return records[0] as ReleaseRecord;
        },
      ),
    );
    // A recovery asked to roll back ends `aborted`: that is its success.
    const wanted = options.rollback ? ["aborted", "promoted"] : ["promoted"];
    const failed = records.filter((r) => !wanted.includes(r.state));
    if (output.json) {
      if (failed.length === 0) printDone(output, { ok: true, releases: records.map(recordSummary) });
    } else if (records.length === 0)
      output.out(
        `Nothing to recover: every release of "${environment.name}" has ended or has a live engine${options.wait ? "" : " (--wait waits for a Lease still held to expire)"}.\n`,
      );
    else output.out(records.map((r) => `\nRecovered ${r.id}:\n${formatRelease(r)}`).join(""));
    if (failed.length > 0)
      throw new CliError(
        failed.map((r) => `release ${r.id} ended ${r.state}${r.message ? `: ${r.message}` : ""}`).join("; "),
        ExitCode.failed,
        { code: "FAILED", details: { releases: records.map(recordSummary) } },
      );
  } finally {
    direct.close();
  }
}
