import type { WorkloadStatus } from "@rollway/rollout-client";
import { describe, expect, it } from "vitest";
import { describeStatus, progressBar } from "./progress.js";

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
