// Pod events as the scheduler and kubelet write them, seen through the real kubectl: `describe pod` lists
// Scheduled, Pulled, Created, Started; a crash-looping pod adds a Warning BackOff per restart (one Event, count
// bumped); `get events` lists them. A reconcile that changes nothing records nothing.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

const pod = (name: string, image: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec: { containers: [{ name: app, image: "${image}" }] }
`;

type Ev = { reason: string; type: string; count: number; message: string; source: { component: string } };

async function eventsOf(sim: Parameters<typeof kubectl>[0], name: string): Promise<Ev[]> {
  const out = await kubectl(sim, ["get", "events", "--field-selector", `involvedObject.name=${name}`, "-o", "json"]);
  expect(out.code).toBe(0);
  return (JSON.parse(out.stdout) as { items: Ev[] }).items;
}

describe("pod events", () => {
  it("kubectl describe pod shows Scheduled, Pulled, Created, Started once each", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 1000 });
    expect((await kubectl(sim, ["apply", "-f", "-"], pod("web", "nginx:1.25"))).code).toBe(0);
    await sim.settle();
    await sim.advance(5_000);
    const described = await kubectl(sim, ["describe", "pod", "web"]);
    // The four share one second, and kubectl orders same-second events as its sort leaves them: compare as a set.
    const section = described.stdout.slice(described.stdout.indexOf("Events:"));
    const rows = section.split("\n").slice(3, -1).sort();
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^\s+Normal\s+Created\s+\S+\s+kubelet\s+Created container: app$/);
    expect(rows[1]).toMatch(
      /^\s+Normal\s+Pulled\s+\S+\s+kubelet\s+Container image "nginx:1.25" already present on machine$/,
    );
    expect(rows[2]).toMatch(
      /^\s+Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web to kube-sim-node$/,
    );
    expect(rows[3]).toMatch(/^\s+Normal\s+Started\s+\S+\s+kubelet\s+Started container app$/);
    const events = await eventsOf(sim, "web");
    expect(events.map((e) => [e.reason, e.count, e.source.component]).sort()).toEqual([
      ["Created", 1, "kubelet"],
      ["Pulled", 1, "kubelet"],
      ["Scheduled", 1, "default-scheduler"],
      ["Started", 1, "kubelet"],
    ]);
    const table = await kubectl(sim, ["get", "events"]);
    expect(table.stdout).toMatch(/Normal\s+Started\s+pod\/web\s+Started container app/);
  });

  it("a crash-looping pod gets a Warning BackOff whose count follows its restarts", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), crashBackoffMs: 10_000 });
    sim.faults.crashPods({ image: "app:bad" });
    await kubectl(sim, ["apply", "-f", "-"], pod("bad", "app:bad"));
    await sim.settle();
    await sim.advance(35_000);
    const pods = JSON.parse((await kubectl(sim, ["get", "pod", "bad", "-o", "json"])).stdout);
    const restarts = pods.status.containerStatuses[0].restartCount as number;
    expect(restarts).toBe(4);
    const backoff = (await eventsOf(sim, "bad")).filter((e) => e.reason === "BackOff");
    expect(backoff).toHaveLength(1);
    expect(backoff[0]).toMatchObject({
      type: "Warning",
      count: restarts,
      message: expect.stringMatching(/^Back-off restarting failed container app in pod bad_default\(/),
    });
    const described = await kubectl(sim, ["describe", "pod", "bad"]);
    expect(described.stdout).toMatch(/Warning\s+BackOff\s+.*kubelet\s+Back-off restarting failed container app/);
  });

  it("a pod whose image cannot be pulled gets Pulling, Failed, then BackOff once it backs off", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock() });
    sim.faults.failImagePull({ image: "app:missing" });
    await kubectl(sim, ["apply", "-f", "-"], pod("nopull", "app:missing"));
    await sim.settle();
    await sim.advance(10_000);
    const reasons = (await eventsOf(sim, "nopull")).map((e) => `${e.type}/${e.reason}: ${e.message}`);
    expect(reasons.sort()).toEqual([
      'Normal/BackOff: Back-off pulling image "app:missing"',
      'Normal/Pulling: Pulling image "app:missing"',
      "Normal/Scheduled: Successfully assigned default/nopull to kube-sim-node",
      "Warning/Failed: Error: ErrImagePull",
      "Warning/Failed: Error: ImagePullBackOff",
      'Warning/Failed: Failed to pull image "app:missing": app:missing not found (kube-sim fault)',
    ]);
  });
});
