// kube-sim in its own process, so that the benchmark process's CPU time is rollway's alone. Driven over IPC:
// { advance: ms } moves the manual clock; the first message out is { kubeconfig }.
import { ManualClock, startKubeSim } from "@rollway/kube-sim";

const sim = await startKubeSim({ clock: new ManualClock(), namespace: "bench", readyDelayMs: 1000 });
process.on("message", async (message) => {
  if (message.advance !== undefined) {
    await sim.advance(message.advance);
    process.send({ advanced: message.advance, id: message.id });
  } else if (message.close) {
    await sim.close();
    process.exit(0);
  }
});
process.send({ kubeconfig: sim.kubeconfig });
