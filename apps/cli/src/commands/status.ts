/** `rollway status`: every component's phase, replicas and images, and the latest release; `--watch` follows them. */
import type { WorkloadStatus } from "@rollway/rollout-client";
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { CliError, ExitCode, type Output, printJson } from "../output.js";
import { describeStatus, watchComponents } from "../progress.js";
import { componentsOf, recordSummary } from "../run-release.js";

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
    const statuses: (WorkloadStatus & { component: string })[] = await Promise.all(
      components.map(async (c) => ({
        component: c.name,
        ...(await direct.client.status(await direct.client.target(c.target, namespace))),
      })),
    );
    const latest = (await direct.engine.history(environment.name, namespace))[0];
    if (output.json) {
      printJson(output, {
        ok: true,
        environment: environment.name,
        namespace,
        release: latest ? recordSummary(latest) : null,
        components: statuses,
      });
      return;
    }
    const width = Math.max(...statuses.map((s) => s.component.length));
    const kindWidth = Math.max(...statuses.map((s) => s.kind.length + s.name.length + 1));
    const lines = statuses.map(
      (s) => `${s.component.padEnd(width)}  ${`${s.kind}/${s.name}`.padEnd(kindWidth)}  ${describeStatus(s)}`,
    );
    const head = latest
      ? `Environment ${environment.name} (namespace ${namespace}), latest release ${latest.id}: ${latest.state}`
      : `Environment ${environment.name} (namespace ${namespace}), no release yet`;
    output.out(`${head}\n${lines.join("\n")}\n`);
  } finally {
    direct.close();
  }
}
