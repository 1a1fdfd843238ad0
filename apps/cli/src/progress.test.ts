import type { WorkloadStatus } from "@rollway/rollout-client";
import { startDemoCluster } from "@rollway/webhook-server";
import { describe, expect, it } from "vitest";
import { openCluster } from "./cluster-connection.js";
import { describeStatus, progressBar, watchComponents } from "./progress.js";

const status = (over: Partial<WorkloadStatus>): WorkloadStatus => ({
  kind: "Rollout",
  name: "backend-1",
  namespace: "demo",
  phase: "Progressing",
  message: "",
  images: [],
  readyReplicas: 0,
  desiredReplicas: 4,
  updatedReplicas: 0,
  endpoints: {},
  ...over,
});

describe("progressBar", () => {
  it("counts the new version's replicas that are ready out of those wanted", () => {
    expect(progressBar(status({ updatedReplicas: 2, readyReplicas: 4 }))).toBe("[██████░░░░░░] 2/4");
    // Ready replicas of the old version are not progress of the new one.
    expect(progressBar(status({ updatedReplicas: 1, readyReplicas: 4 }))).toBe("[███░░░░░░░░░] 1/4");
    expect(progressBar(status({ updatedReplicas: 0, readyReplicas: 0 }))).toBe("[░░░░░░░░░░░░] 0/4");
  });

  it("uses the new version's own ready pods when known (a blue-green update still counts the old active ones)", () => {
    expect(progressBar(status({ updatedReplicas: 4, readyReplicas: 4, updatedReadyReplicas: 1 }))).toBe(
      "[███░░░░░░░░░] 1/4",
    );
  });

  it("follows a canary's steps and shows the traffic weight", () => {
    expect(progressBar(status({ canary: { stepIndex: 1, steps: 4, weight: 25 } }))).toBe(
      "[███░░░░░░░░░] step 1/4, 25% traffic",
    );
  });

  it("is full once Healthy, and for a workload scaled to zero", () => {
    expect(progressBar(status({ phase: "Healthy", updatedReplicas: 4, readyReplicas: 4 }))).toBe("[████████████] 4/4");
    expect(progressBar(status({ desiredReplicas: 0 }))).toBe("[████████████] 0/0");
  });
});

describe("describeStatus", () => {
  const image = (tag: string) => [{ container: "app", image: `r/app:${tag}` }];

  it("says stable → new and counts only the new version's ready pods while it rolls out", () => {
    expect(
      describeStatus(
        status({
          images: image("2"),
          stableImages: image("1"),
          readyReplicas: 4,
          updatedReplicas: 4,
          updatedReadyReplicas: 0,
          message: "active service cutover pending",
        }),
      ),
    ).toBe("Progressing r/app:1 → r/app:2, new 0/4 ready (active service cutover pending)");
  });

  it("shows the image served and every ready pod once nothing rolls out", () => {
    expect(
      describeStatus(status({ phase: "Healthy", images: image("2"), stableImages: image("2"), readyReplicas: 4 })),
    ).toBe("Healthy 4/4 ready, r/app:2");
  });
});

describe("watchComponents", () => {
  // `status --watch --json | head -1` read a `done` line first once in CI: every component was already settled, so
  // the waiters returned before any watch had shown a status. stop() is given what the waiters read and shows it.
  it("shows each component's final status before it stops, when the waiters settle before the watch's first event", async () => {
    await using cluster = await startDemoCluster({ readyDelayMs: 50 });
    const direct = await openCluster({ namespace: "demo" }, cluster.sim.kubeconfig);
    try {
      const components = [
        { name: "frontend", target: "frontend" },
        { name: "backend-1", target: "backend-1" },
      ];
      const final = new Map<string, WorkloadStatus>();
      for (const c of components) {
        final.set(c.name, await direct.client.status(await direct.client.target(c.target, "demo")));
      }
      const lines: string[] = [];
      const output = { json: true, out: (t: string) => lines.push(t), err: () => {} };
      // Stopped at once: no watch event can have arrived, as when the waiters win the race.
      await watchComponents(direct.client, "demo", components, output).stop(final);
      const shown = lines
        .join("")
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(shown).toEqual([
        expect.objectContaining({ type: "status", component: "frontend", phase: "Healthy" }),
        expect.objectContaining({ type: "status", component: "backend-1", phase: "Healthy" }),
      ]);

      // A watch that has shown the final status already does not show it twice.
      lines.length = 0;
      const progress = watchComponents(direct.client, "demo", components, output);
      await new Promise<void>((resolve) => {
        const check = () => (lines.join("").split("\n").length > 2 ? resolve() : setTimeout(check, 10));
        check();
      });
      await progress.stop(final);
      expect(lines.join("").trimEnd().split("\n")).toHaveLength(2);
    } finally {
      direct.close();
    }
  });
});
