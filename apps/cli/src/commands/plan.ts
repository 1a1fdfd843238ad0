/** `rollway plan`: what a payload would change in an environment (reads the cluster, changes nothing). */
import { formatPlan } from "@rollway/release";
import { type ClusterOptions, openDirect } from "../direct.js";
import { loadEnvironment } from "../environment-file.js";
import { type Output, printJson } from "../output.js";
import { readPayloadFile } from "../payload-file.js";

export async function planCommand(
  payloadFile: string,
  options: ClusterOptions & { env?: string },
  output: Output,
): Promise<void> {
  const { payload } = await readPayloadFile(payloadFile);
  const environment = await loadEnvironment(options.env);
  const direct = await openDirect({ ...options, namespace: options.namespace ?? environment.namespace });
  try {
    const plan = await direct.engine.plan(payload, environment);
    if (output.json) printJson(output, { ok: true, plan });
    else output.out(`${formatPlan(plan)}\n`);
  } finally {
    direct.close();
  }
}
