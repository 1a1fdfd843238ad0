// `kubectl rollout history deployment/x` prints each ReplicaSet's `kubernetes.io/change-cause`: the Deployment
// controller copies the Deployment's annotations onto its new ReplicaSet (upstream SetNewReplicaSetAnnotations /
// copyDeploymentAnnotationsToReplicaSet), skipping last-applied-configuration and its own revision bookkeeping.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

const deployment = (image: string, cause: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    kubernetes.io/change-cause: ${JSON.stringify(cause)}
    team: payments
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "${image}" }] }
`;

describe("kubectl rollout history CHANGE-CAUSE", () => {
  it("rollout history shows each revision's change-cause, and annotate after set image names the new revision", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0 });
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment("web:1", "first release"))).code).toBe(0);
    await sim.settle();
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment("web:2", "bump to web:2"))).code).toBe(0);
    await sim.settle();
    expect((await kubectl(sim, ["set", "image", "deployment/web", "web=web:3"])).code).toBe(0);
    expect(
      (await kubectl(sim, ["annotate", "--overwrite", "deployment/web", "kubernetes.io/change-cause=hotfix web:3"]))
        .code,
    ).toBe(0);
    await sim.settle();
    const history = await kubectl(sim, ["rollout", "history", "deployment/web"]);
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+first release\n2\s+bump to web:2\n3\s+hotfix web:3\n/);
    const rs = JSON.parse((await kubectl(sim, ["get", "rs", "-o", "json"])).stdout) as {
      items: { metadata: { annotations: Record<string, string> } }[];
    };
    for (const item of rs.items) {
      expect(item.metadata.annotations.team).toBe("payments");
      expect(item.metadata.annotations).not.toHaveProperty(["kubectl.kubernetes.io/last-applied-configuration"]);
    }
    const one = await kubectl(sim, ["rollout", "history", "deployment/web", "--revision=2"]);
    expect(one.stdout).toMatch(/Annotations:\s+kubernetes.io\/change-cause: bump to web:2\n/);
  });

  it("rollout undo brings the old revision's change-cause back and records its former revision", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0 });
    await kubectl(sim, ["apply", "-f", "-"], deployment("web:1", "first release"));
    await sim.settle();
    await kubectl(sim, ["apply", "-f", "-"], deployment("web:2", "second release"));
    await sim.settle();
    expect((await kubectl(sim, ["rollout", "undo", "deployment/web"])).code).toBe(0);
    await sim.settle();
    const history = await kubectl(sim, ["rollout", "history", "deployment/web"]);
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+second release\n3\s+first release\n/);
    const d = JSON.parse((await kubectl(sim, ["get", "deployment/web", "-o", "json"])).stdout);
    expect(d.metadata.annotations["kubernetes.io/change-cause"]).toBe("first release");
    const rs = JSON.parse((await kubectl(sim, ["get", "rs", "-o", "json"])).stdout) as {
      items: {
        spec: { template: { spec: { containers: { image: string }[] } } };
        metadata: { annotations: Record<string, string> };
      }[];
    };
    const first = rs.items.find((r) => r.spec.template.spec.containers[0]?.image === "web:1");
    expect(first?.metadata.annotations["deployment.kubernetes.io/revision-history"]).toBe("1");
  });
});
