// `kubectl apply --server-side` (and --force-conflicts) with the real kubectl.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

const deployment = (image: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "${image}"}]}
`;

describe("kubectl apply --server-side", () => {
  it("creates, updates, refuses a conflicting manager and lets --force-conflicts take the field over", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const created = await kubectl(sim, ["apply", "--server-side", "-f", "-"], deployment("web:1", 2));
    expect(created).toMatchObject({ code: 0, stdout: "deployment.apps/web serverside-applied\n" });
    const updated = await kubectl(sim, ["apply", "--server-side", "-f", "-"], deployment("web:2", 2));
    expect(updated).toMatchObject({ code: 0, stdout: "deployment.apps/web serverside-applied\n" });

    const other = ["apply", "--server-side", "--field-manager=ops", "-f", "-"];
    const refused = await kubectl(sim, other, deployment("web:2", 4));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    expect(refused.stderr).toContain("--force-conflicts");

    const forced = await kubectl(sim, [...other.slice(0, -2), "--force-conflicts", "-f", "-"], deployment("web:2", 4));
    expect(forced).toMatchObject({ code: 0, stdout: "deployment.apps/web serverside-applied\n" });
    const got = await kubectl(sim, ["get", "deployment", "web", "-o", "json", "--show-managed-fields"]);
    const obj = JSON.parse(got.stdout);
    expect(obj.spec.replicas).toBe(4);
    expect(obj.spec.template.spec.containers[0].image).toBe("web:2");
    expect(
      obj.metadata.managedFields.map((e: { manager: string; operation: string }) => [e.manager, e.operation]),
    ).toEqual([
      ["kubectl", "Apply"],
      ["ops", "Apply"],
    ]);
  });
});
