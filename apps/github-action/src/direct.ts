/** `mode: direct`: the release engine runs in the job, against the cluster of the kubeconfig, until the release ends. */
import { readFileSync } from "node:fs";
import type { DeployPayload } from "@rollway/payload-schema";
import { createReleaseEngine, createReleaseRunner, parseEnvironmentYaml } from "@rollway/release";
import { connect } from "@rollway/rollout-client";
import type { Inputs } from "./inputs.js";
import type { Log, ReleaseResult } from "./result.js";

export async function runDirect(inputs: Inputs, payload: DeployPayload, log: Log): Promise<ReleaseResult> {
  const environment = parseEnvironmentYaml(readFileSync(inputs.environment, "utf8"), { source: inputs.environment });
  const kubeconfig = inputs.kubeconfig ? { kubeconfig: { yaml: inputs.kubeconfig } } : {};
  const scope = { ...kubeconfig, namespace: environment.namespace };
  const client = await connect(scope);
  const api = client.connection; // one connection for the whole job
  try {
    // The package's lifecycle: the same event log and delivery claims in the cluster as a release run by the server.
    const engine = createReleaseRunner({ engine: createReleaseEngine({ client }), api });
    const plan = await engine.plan(payload, environment);
    const components = plan.components
      .filter((c) => c.changed)
      .map((c) => ({ name: c.name, from: c.image.from, to: c.image.to }));
    const previewUrl = `https://${plan.previewHost}/`;
    let releaseId = "";
    try {
      const record = await engine.apply(plan, {
        signal: AbortSignal.timeout(inputs.timeoutSeconds * 1000),
        onEvent: (event) => {
          releaseId = event.release;
          log.info(`${event.at.slice(11, 19)} ${event.type}: ${event.message}`);
        },
      });
      return {
        releaseId: record.id,
        environment: environment.name,
        previewUrl,
        status: record.state,
        message: record.message,
        components,
      };
    } catch (error) {
      if (!releaseId) throw error;
      const record = await engine.get(releaseId, environment.namespace).catch(() => undefined);
      return {
        releaseId,
        environment: environment.name,
        previewUrl,
        status: record?.state ?? "failed",
        message: error instanceof Error ? error.message : String(error),
        components,
      };
    }
  } finally {
    client.close();
  }
}
