// DaemonSet controller (#14 item 9 "no DaemonSet controller"): one pod per node, rolling replacement on a template
// change, and the status `kubectl rollout status daemonset` reads, with the real kubectl.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

const daemonset = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: "agent:1"}]}
`;

describe("DaemonSet controller", () => {
  it("runs one pod on the node, rolls it on kubectl set image, and kubectl rollout status reports success", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 1_000 });
    expect((await kubectl(sim, ["apply", "-f", "-"], daemonset)).code).toBe(0);
    await sim.settle();
    const pending = JSON.parse((await kubectl(sim, ["get", "daemonset", "agent", "-o", "json"])).stdout);
    expect(pending.status).toMatchObject({
      desiredNumberScheduled: 1,
      currentNumberScheduled: 1,
      numberReady: 0,
      numberUnavailable: 1,
      updatedNumberScheduled: 1,
      observedGeneration: 1,
    });
    await sim.advance(1_000);
    const status = await kubectl(sim, ["rollout", "status", "daemonset/agent", "--timeout=5s"]);
    expect(status).toMatchObject({ code: 0, stdout: 'daemon set "agent" successfully rolled out\n' });
    const pods = await kubectl(sim, ["get", "pods", "-l", "app=agent", "-o", "wide", "--no-headers"]);
    expect(pods.stdout).toMatch(/^agent-\w+\s+1\/1\s+Running\s+0\s+\S+\s+[\d.]+\s+kube-sim-node\s/);

    expect((await kubectl(sim, ["set", "image", "daemonset/agent", "agent=agent:2"])).code).toBe(0);
    await sim.settle();
    await sim.advance(1_000);
    const after = JSON.parse((await kubectl(sim, ["get", "pods", "-l", "app=agent", "-o", "json"])).stdout);
    expect(after.items.map((p: { spec: { containers: { image: string }[] } }) => p.spec.containers[0]?.image)).toEqual([
      "agent:2",
    ]);
    expect(after.items[0].metadata.labels["pod-template-generation"]).toBe("2");
    const rolled = await kubectl(sim, ["rollout", "status", "daemonset/agent", "--timeout=5s"]);
    expect(rolled.stdout).toBe('daemon set "agent" successfully rolled out\n');
    const events = await kubectl(sim, ["get", "events", "--field-selector", "involvedObject.kind=DaemonSet"]);
    expect(events.stdout).toMatch(/SuccessfulCreate\s+daemonset\/agent\s+Created pod: agent-\w+/);
    expect(events.stdout).toMatch(/SuccessfulDelete\s+daemonset\/agent\s+Deleted pod: agent-\w+/);
  });

  it("runs no pod when the nodeSelector matches no node", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0 });
    const pinned = daemonset.replace("spec: {containers:", "spec: {nodeSelector: {disk: ssd}, containers:");
    expect((await kubectl(sim, ["apply", "-f", "-"], pinned)).code).toBe(0);
    await sim.settle();
    const ds = JSON.parse((await kubectl(sim, ["get", "daemonset", "agent", "-o", "json"])).stdout);
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 0, currentNumberScheduled: 0 });
    expect((await kubectl(sim, ["get", "pods", "-o", "name"])).stdout).toBe("");
  });
});
