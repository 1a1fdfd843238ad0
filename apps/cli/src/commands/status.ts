/** `rollway status`: every component's phase, replicas and images, and the latest release; `--watch` follows them. */
import { readEnvironmentStatus, whyNotReady } from "@rollway/release";
import type { WorkloadStatus } from "@rollway/rollout-client";
import { type ClusterOptions, openCluster } from "../cluster-connection.js";
import { loadEnvironment } from "../environment-file.js";
import { CliError, ExitCode, type Output, printDone } from "../output.js";
import { watchComponents } from "../progress.js";
import { componentsOf, recordSummary } from "../run-release.js";
import { printStatus, type StatusView } from "../status-view.js";

/** What `status --watch --until` waits for, per component. */
export const UNTIL = {
  /** Every component serves its new version: watches across a promotion, as `kubectl argo rollouts get -w`. */
  healthy: (s: WorkloadStatus) => s.phase === "Healthy",
  /** Every component waits for a decision (in preview or at a canary step) or has nothing to do. */
  paused: (s: WorkloadStatus) => s.phase === "Paused" || s.phase === "Healthy",
  /** Nothing moves without a decision: Healthy, Paused, Degraded or Aborted (the default). */
  done: (s: WorkloadStatus) => s.phase !== "Progressing",
} as const;
export type Until = keyof typeof UNTIL;
const SAYS: Record<Until, string> = {
  healthy: "until every component is Healthy",
  paused: "until every component is Paused or Healthy",
  done: "until nothing moves without a decision (Healthy, Paused, Degraded or Aborted; --until to choose)",
};
/** A component that cannot get there by itself any more: the watch ends, and the command fails. */
const stuck = (s: WorkloadStatus) => s.phase === "Degraded";

/**
 * What a component serves against what its latest finished release left it on (`to` once promoted, `from` once aborted
 * or failed): set by hand since (`rollout set-image`, `undo`, kubectl...), it has drifted from the release.
 */
function driftOf(
  release:
    | { id: string; state: string; plan: { components: { name: string; image: { from?: string; to: string } }[] } }
    | undefined,
  c: WorkloadStatus & { component: string },
): string | undefined {
  if (!release) return undefined;
  const planned = release.plan.components.find((p) => p.name === c.component);
  const expected =
    release.state === "promoted"
      ? planned?.image.to
      : release.state === "aborted" || release.state === "failed" || release.state === "rolled-back"
        ? planned?.image.from
        : undefined;
  const serves = (c.stableImages ?? c.images)[0]?.image;
  const wants = c.images[0]?.image;
  if (!expected || !serves) return undefined;
  if (serves === expected && wants === expected) return undefined;
  return `drifted from release ${release.id} (${release.state}): it left ${expected}; ${serves === expected ? `the spec now asks for ${wants}` : `users are served ${serves}`}`;
}

export interface StatusOptions extends ClusterOptions {
  env?: string;
  watch?: boolean;
  until?: Until;
  timeout?: number;
}

export async function statusCommand(options: StatusOptions, output: Output): Promise<void> {
  const environment = await loadEnvironment(options.env);
  const namespace = options.namespace ?? environment.namespace;
  // Only the connection: status reads, and never loads the release engine.
  const direct = await openCluster({ ...options, namespace });
  // A timeout only means something while waiting: `status --timeout 300` waits, as `kubectl argo rollouts status`.
  const watch = options.watch || options.until !== undefined || options.timeout !== undefined;
  const until = options.until ?? "done";
  try {
    const components = componentsOf(environment);
    const last = new Map<string, WorkloadStatus>();
    if (watch) {
      if (!output.json) output.out(`Watching ${SAYS[until]}.\n`);
      const progress = watchComponents(direct.client, namespace, components, output);
      const timeoutMs = (options.timeout ?? 600) * 1000;
      const stop = new AbortController();
      try {
        await Promise.all(
          components.map(async (c) => {
            const s = await direct.client.waitFor(
              await direct.client.target(c.target, namespace),
              (x) => UNTIL[until](x) || stuck(x),
              { timeout: timeoutMs, signal: stop.signal },
            );
            last.set(c.name, s);
            // One Degraded component decides the outcome: stop waiting for the others.
            if (stuck(s)) stop.abort();
          }),
        );
      } catch (error) {
        if ((error as { code?: string }).code === "TIMEOUT") {
          const last = (error as { lastStatus?: WorkloadStatus }).lastStatus;
          throw new CliError(
            `not every component got there (${SAYS[until]}) within ${timeoutMs / 1000} s${last ? `; ${last.kind}/${last.name} is ${last.phase}${last.message ? `: ${last.message}` : ""}` : ""}; raise --timeout or look at the one still moving`,
            ExitCode.timedOut,
            { cause: error, code: "TIMEOUT" },
          );
        }
        if (!stop.signal.aborted) throw error;
      } finally {
        // A component already settled can be read by its waiter before its watch shows it: stop() shows it then.
        await progress.stop(last);
      }
    }
    const status = await readEnvironmentStatus(direct.client, direct.api, { ...environment, namespace });
    const view: StatusView = {
      environment: status.environment,
      namespace: status.namespace,
      release: status.release ? recordSummary(status.release) : null,
      components: await Promise.all(
        status.components.map(async (c) => {
          const stuck = await whyNotReady(direct.client.connection, c).catch(() => []);
          const drift = driftOf(status.release, c);
          return { ...c, ...(stuck.length > 0 ? { stuck } : {}), ...(drift ? { drift } : {}) };
        }),
      ),
    };
    const degraded = watch ? view.components.filter(stuck) : [];
    // With --watch and --json the status lines above are NDJSON: the view is their `done` line (after an error's).
    if (!(watch && output.json)) printStatus(view, output);
    if (degraded.length > 0) {
      throw new CliError(
        degraded
          .map(
            (s) =>
              `${s.component} (${s.kind}/${s.name}) is Degraded${s.message ? `: ${s.message}` : ""}${s.stuck?.length ? `; ${s.stuck.join("; ")}` : ""}`,
          )
          .join("; "),
        ExitCode.failed,
        { code: "DEGRADED" },
      );
    }
    if (watch && output.json) printDone(output, { ok: true, ...view });
  } finally {
    direct.close();
  }
}
