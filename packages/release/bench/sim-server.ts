/**
 * kube-sim in its own process for the benchmark, so that the benchmark process's CPU time is rollway's alone.
 * Prints `{ url, kubeconfigPath }` as one JSON line and runs until its stdin closes.
 */
import { startKubeSim } from "@rollway/kube-sim";
import { NS } from "../src/test-helpers/demo-world.js";

const sim = await startKubeSim({
  namespace: NS,
  readyDelayMs: Number(process.env.READY_DELAY_MS ?? 0),
  jobRunMs: 0,
});
process.stdout.write(`${JSON.stringify({ url: sim.url, kubeconfigPath: sim.kubeconfigPath })}\n`);
process.stdin.resume();
process.stdin.on("end", () => void sim.close().then(() => process.exit(0)));
