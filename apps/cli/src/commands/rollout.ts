/**
 * `rollway rollout <verb> <workload>`: one workload acted on as `kubectl argo rollouts <verb>` does, through the
 * rollout-client operations whose patches are named constants there (promoteFullPatch, abortPatch, retryRolloutPatch,
 * pausePatch, resumePatch, restartPatch, setImageStrategicPatch, replaceTemplatePatch). The release verbs
 * (`rollway promote <release>`...) act on a whole release; these on one workload, outside any release.
 */
import type { WorkloadStatus } from "@rollway/rollout-client";
import { type ClusterOptions, openDirect } from "../direct.js";
import { CliError, ExitCode, type Output, printDone } from "../output.js";
import { describeStatus } from "../progress.js";

export const ROLLOUT_VERBS = ["promote", "abort", "retry", "pause", "resume", "restart", "set-image", "undo"] as const;
export type RolloutVerb = (typeof ROLLOUT_VERBS)[number];

/** What each verb did, in the plugin's words. */
const DID: Record<RolloutVerb, string> = {
  promote: "promoted",
  abort: "aborted: traffic back on the stable version",
  retry: "retried: the aborted update rolls out again",
  pause: "paused",
  resume: "resumed",
  restart: "restarting every pod",
  "set-image": "image set; it rolls out",
  undo: "rolled back",
};

export interface RolloutVerbOptions extends ClusterOptions {
  full?: boolean;
  toRevision?: number;
}

/** `container=image` pairs (`*=image` for every container), as `kubectl argo rollouts set image`. */
export function parseImages(pairs: readonly string[]): Record<string, string> {
  const images: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0 || at === pair.length - 1)
      throw new CliError(
        `"${pair}" is not container=image; e.g. backend=registry.example.com/app:2 or *=registry.example.com/app:2`,
        ExitCode.badInput,
        { code: "USAGE" },
      );
    images[pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (Object.keys(images).length === 0)
    throw new CliError("set-image needs container=image, e.g. backend=r/app:2", ExitCode.badInput, { code: "USAGE" });
  return images;
}

export async function rolloutVerbCommand(
  verb: RolloutVerb,
  workload: string,
  args: readonly string[],
  options: RolloutVerbOptions,
  output: Output,
): Promise<void> {
  const images = verb === "set-image" ? parseImages(args) : {};
  const direct = await openDirect(options);
  try {
    const target = await direct.client.target(workload, options.namespace);
    const c = direct.client;
    const result =
      verb === "promote"
        ? await c.promote(target, { full: Boolean(options.full) })
        : verb === "abort"
          ? await c.abort(target)
          : verb === "retry"
            ? await c.retry(target)
            : verb === "pause"
              ? await c.pause(target)
              : verb === "resume"
                ? await c.resume(target)
                : verb === "restart"
                  ? await c.restart(target)
                  : verb === "set-image"
                    ? await c.setImages(target, images)
                    : await c.undo(target, { toRevision: options.toRevision ?? 0 });
    const status: WorkloadStatus = await c.status(target);
    if (output.json) {
      printDone(output, { ok: true, verb, workload: `${target.kind}/${target.name}`, ...result, status });
      return;
    }
    const what =
      verb === "promote" && options.full ? "fully promoted (every step, pause and analysis skipped)" : DID[verb];
    const nothing = result.writes === 0 ? " (nothing to do: nothing sent)" : "";
    output.out(`${target.kind}/${target.name} ${what}${nothing}\n  now: ${describeStatus(status)}\n`);
  } finally {
    direct.close();
  }
}
