// `kubectl delete --cascade=foreground` (propagationPolicy=Foreground), as the garbage collector does it: the owner
// stays with deletionTimestamp and the foregroundDeletion finalizer until its dependents are gone, then goes.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { ResourceType } from "../resources.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
`;

describe("foreground deletion", () => {
  it("keeps the Deployment with the foregroundDeletion finalizer until its ReplicaSet and pods are gone", async () => {
    // Pods take 10 s of the manual clock to stop, so the waiting state can be looked at.
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0, terminationDelayMs: 10_000 });
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment)).code).toBe(0);
    await sim.settle();
    const deleted = await kubectl(sim, ["delete", "deployment", "web", "--cascade=foreground", "--wait=false"]);
    expect(deleted).toMatchObject({ code: 0, stdout: 'deployment.apps "web" deleted\n' });
    const deployments = sim.store.types.get("apps", "deployments") as ResourceType;
    const replicasets = sim.store.types.get("apps", "replicasets") as ResourceType;
    const pods = sim.store.types.get("", "pods") as ResourceType;
    // The pods are terminating (their kubelet has not stopped them yet): everything above them waits.
    const waiting = sim.store.peek(deployments, "default", "web");
    expect(waiting?.metadata.finalizers).toEqual(["foregroundDeletion"]);
    expect(waiting?.metadata.deletionTimestamp).toBeDefined();
    const rs = sim.store.listRaw(replicasets, "default").items;
    expect(rs.map((r) => r.metadata.finalizers)).toEqual([["foregroundDeletion"]]);
    expect(sim.store.listRaw(pods, "default").items.every((p) => p.metadata.deletionTimestamp)).toBe(true);
    await sim.advance(10_000);
    expect(sim.store.listRaw(pods, "default").items).toEqual([]);
    expect(sim.store.listRaw(replicasets, "default").items).toEqual([]);
    expect(sim.store.peek(deployments, "default", "web")).toBeUndefined();
  });

  it("kubectl delete --cascade=foreground waits until the owner is gone", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0 });
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment)).code).toBe(0);
    await sim.settle();
    const run = kubectl(sim, ["delete", "deployment", "web", "--cascade=foreground", "--timeout=20s"]);
    // kubectl polls/watches the Deployment while the pods' kubelet (the controllers) finish them.
    const timer = setInterval(() => void sim.settle(), 100);
    const result = await run;
    clearInterval(timer);
    expect(result).toMatchObject({ code: 0, stdout: 'deployment.apps "web" deleted\n' });
    expect((await kubectl(sim, ["get", "all", "-o", "name"])).stdout).not.toMatch(/web/);
  });
});
