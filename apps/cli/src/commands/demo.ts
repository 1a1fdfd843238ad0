/**
 * The README's main job, on a fresh clone, with no cluster: start kube-sim with the demo environment's workloads,
 * release the seed's example payload, watch every component reach its preview, promote, show the history, stop.
 */
import { EXAMPLE_PAYLOAD_TEXT, parseDeployPayload } from "@rollway/payload-schema";
import { formatPlan, type ReleaseEvent } from "@rollway/release";
import { demoEnvironment } from "@rollway/release/demo";
import { openDirect } from "../direct.js";
import { formatEvent, formatHistory, historyRowOf } from "../format.js";
import type { Output } from "../output.js";
import { watchComponents } from "../progress.js";
import { startSimWithWorld } from "../sim/demo-world.js";

export { DEMO_ENVIRONMENT_YAML as DEMO_ENVIRONMENT_TEXT, demoEnvironment } from "@rollway/release/demo";

export async function demoCommand(options: { readyDelayMs: number }, output: Output): Promise<void> {
  const say = (line: string) => {
    if (!output.json) output.out(`${line}\n`);
  };
  const emit = (value: unknown) => {
    if (output.json) output.out(`${JSON.stringify(value)}\n`);
  };
  const environment = demoEnvironment();
  say(`Starting a simulated cluster (kube-sim) with the demo environment "${environment.name}"...`);
  const sim = await startSimWithWorld(environment, {
    readyDelayMs: options.readyDelayMs,
    jobRunMs: options.readyDelayMs,
  });
  const direct = await openDirect({}, sim.kubeconfig).catch(async (error: unknown) => {
    await sim.close();
    throw error;
  });
  try {
    const { client, engine } = direct;
    const components = environment.frontend ? [{ name: "frontend", target: environment.frontend.workload.name }] : [];
    for (const [name, b] of Object.entries(environment.backends)) components.push({ name, target: b.workload.name });
    emit({ type: "cluster-ready", url: sim.url, namespace: environment.namespace });
    say(`Cluster ready at ${sim.url}: ${components.length} workloads on version 1.0.\n`);

    const payload = parseDeployPayload(EXAMPLE_PAYLOAD_TEXT);
    const plan = await engine.plan(payload, environment);
    if (output.json) emit({ type: "plan", plan });
    else say(`Deploying the example payload of seed 004:\n${formatPlan(plan)}\n`);

    const progress = watchComponents(client, environment.namespace, components, output);
    const onEvent = (event: ReleaseEvent) => {
      if (output.json) emit({ type: "event", event });
      else progress.log(formatEvent(event));
      if (event.type === "waiting-for-approval" && event.gate !== "code-as-data") {
        progress.log(
          `Every preview is ready at https://${plan.previewHost}/: promoting (as a person would with \`rollway promote ${event.release}\`)`,
        );
        void engine.promote(event.release, { by: "rollway demo" }).catch((error: unknown) => {
          progress.log(`promotion failed: ${error instanceof Error ? error.message : String(error)}`);
        });
      } else if (event.type === "waiting-for-approval") {
        void engine.approve(event.release, { by: "rollway demo", gate: "code-as-data" });
      }
    };
    const record = await engine.apply(plan, { onEvent }).finally(() => progress.stop());
    const history = await engine.history(environment.name, environment.namespace);
    if (output.json) {
      emit({ type: "history", releases: history.map(({ plan: _plan, ...r }) => r) });
      emit({ type: "done", ok: true, release: record.id, state: record.state });
    } else {
      say(`\nRelease ${record.id}: ${record.state}. Users now get the new version at https://${plan.host}/.\n`);
      say(`History of ${environment.name}:\n${formatHistory(history.map(historyRowOf))}`);
      say("Stopped the simulated cluster. Next: `rollway sim` keeps one running for you to try the other commands.");
    }
  } finally {
    direct.close();
    await sim.close();
  }
}
