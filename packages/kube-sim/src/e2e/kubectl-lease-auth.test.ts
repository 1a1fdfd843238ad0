// The real kubectl against Leases, RBAC refusals and `kubectl auth can-i`.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

const leaseYaml = `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: rollway-release-demo, namespace: demo}
spec: {holderIdentity: engine-a, leaseDurationSeconds: 30}
`;

const deploymentYaml = `apiVersion: apps/v1
kind: Deployment
metadata: {name: x, namespace: demo}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: x, image: "x:1"}]}
`;

describe("kubectl", () => {
  it("creates and lists Leases with their holder", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect((await kubectl(sim, ["create", "namespace", "demo"])).code).toBe(0);
    const created = await kubectl(sim, ["create", "-f", "-"], leaseYaml);
    expect(created).toMatchObject({ code: 0, stdout: "lease.coordination.k8s.io/rollway-release-demo created\n" });
    const got = await kubectl(sim, ["get", "leases", "-n", "demo"]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^NAME\s+HOLDER\s+AGE\nrollway-release-demo\s+engine-a\s+\d+s\n$/);
    const json = await kubectl(sim, ["get", "lease", "rollway-release-demo", "-n", "demo", "-o", "json"]);
    expect(JSON.parse(json.stdout).spec).toEqual({ holderIdentity: "engine-a", leaseDurationSeconds: 30 });
  });

  it("auth can-i answers no for a denied verb, and a denied patch fails with the Forbidden message", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect((await kubectl(sim, ["create", "namespace", "demo"])).code).toBe(0);
    expect((await kubectl(sim, ["apply", "-f", "-"], deploymentYaml)).code).toBe(0);
    expect(await kubectl(sim, ["auth", "can-i", "patch", "deployments", "-n", "demo"])).toMatchObject({
      code: 0,
      stdout: "yes\n",
    });
    sim.faults.deny({ verb: "patch", group: "apps", resource: "deployments", namespace: "demo" });
    const canI = await kubectl(sim, ["auth", "can-i", "patch", "deployments", "-n", "demo"]);
    expect(canI.code).toBe(1);
    expect(canI.stdout).toBe("no\n");
    expect((await kubectl(sim, ["auth", "can-i", "get", "deployments", "-n", "demo"])).stdout).toBe("yes\n");
    const patch = await kubectl(sim, ["-n", "demo", "scale", "deployment", "x", "--replicas=3"]);
    expect(patch.code).toBe(1);
    expect(patch.stderr).toContain(
      'Error from server (Forbidden): deployments.apps "x" is forbidden: User "kube-sim-admin" cannot patch resource "deployments/scale" in API group "apps" in the namespace "demo"',
    );
    const label = await kubectl(sim, ["-n", "demo", "label", "deployment", "x", "tier=web"]);
    expect(label.stderr).toContain(
      'Error from server (Forbidden): deployments.apps "x" is forbidden: User "kube-sim-admin" cannot patch resource "deployments" in API group "apps" in the namespace "demo"',
    );
  });
});
