/**
 * `rollway sim`: a simulated cluster (kube-sim) with the demo environment's workloads that keeps running until
 * Ctrl-C, plus the files to try every command against it: the kubeconfig, the environment and the seed's payload.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import type { Output } from "../output.js";
import { startSimWithWorld } from "../sim/demo-world.js";
import { DEMO_ENVIRONMENT_TEXT, demoEnvironment } from "./demo.js";

export async function simCommand(options: { port?: number; readyDelay: number }, output: Output): Promise<void> {
  const environment = demoEnvironment();
  const sim = await startSimWithWorld(environment, {
    readyDelayMs: options.readyDelay,
    jobRunMs: options.readyDelay,
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  const dir = mkdtempSync(join(tmpdir(), "rollway-sim-"));
  const files = {
    kubeconfig: join(dir, "kubeconfig"),
    environment: join(dir, "demo-environment.yaml"),
    payload: join(dir, "payload.json"),
  };
  writeFileSync(files.kubeconfig, sim.kubeconfig, { mode: 0o600 });
  writeFileSync(files.environment, DEMO_ENVIRONMENT_TEXT);
  writeFileSync(files.payload, EXAMPLE_PAYLOAD_TEXT);
  if (output.json) {
    output.out(`${JSON.stringify({ ok: true, url: sim.url, namespace: environment.namespace, ...files })}\n`);
  } else {
    output.out(
      [
        `kube-sim is running at ${sim.url} with the demo environment (namespace ${environment.namespace}).`,
        "",
        `  export KUBECONFIG=${files.kubeconfig}`,
        `  export ROLLWAY_ENV=${files.environment}`,
        `  rollway status`,
        `  rollway deploy ${files.payload}`,
        "  kubectl get rollouts -n demo",
        "",
        "Ctrl-C stops it and deletes these files.",
        "",
      ].join("\n"),
    );
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
  if (!output.json) output.out("kube-sim stopped.\n");
}
