/** `rollway status`: every component's phase, replicas and images, and the latest release; `--watch` follows them. */
import type { WorkloadStatus } from "@rollway/rollout-client";
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { CliError, ExitCode, type Output } from "../output.js";
import { watchComponents } from "../progress.js";
import { componentsOf, recordSummary } from "../run-release.js";
import { printStatus, type StatusView } from "../status-view.js";

/** Nothing moves any more: Healthy, Paused in preview or at a canary step, or Degraded/Aborted. */
const settled = (s: WorkloadStatus) => s.phase !== "Progressing";

export interface StatusOptions extends ClusterOptions {
  env?: string;
  watch?: boolean;
  timeout?: number;
}

export async function statusCommand(options: StatusOptions, output: Output): Promise<void> {
  const environment = await loadEnvironment(options.env);
  const namespace = options.namespace ?? environment.namespace;
  const direct = await openDirect({ ...options, namespace });
  try {
    const components = componentsOf(environment);
    if (options.watch) {
      const progress = watchComponents(direct.client, namespace, components, output);
      const timeoutMs = (options.timeout ?? 600) * 1000;
      try {
        await Promise.all(
          components.map(async (c) =>
            direct.client.waitFor(await direct.client.target(c.target, namespace), settled, { timeout: timeoutMs }),
          ),
        );
      } catch (error) {
        if ((error as { code?: string }).code === "TIMEOUT") {
          throw new CliError(
            `not every component settled within ${timeoutMs / 1000} s; raise --timeout or look at the one still Progressing`,
            ExitCode.timedOut,
            { cause: error },
          );
        }
        throw error;
      } finally {
        await progress.stop();
      }
    }
    const status = await direct.engine.status({ ...environment, namespace });
    const view: StatusView = {
      environment: status.environment,
      namespace: status.namespace,
      release: status.release ? recordSummary(status.release) : null,
      components: status.components,
    };
    printStatus(view, output);
  } finally {
    direct.close();
  }
}
