import { describe, expect, it } from "vitest";
import type { ReplicaSetObject } from "../resources.js";
import { replicaSetForRevision } from "./undo.js";

const rs = (name: string, revision?: string): ReplicaSetObject => ({
  metadata: { name, annotations: revision === undefined ? {} : { "deployment.kubernetes.io/revision": revision } },
  spec: {},
});

// The same search as kubectl's deploymentRevision and the plugin's rolloutRevision.
describe("replicaSetForRevision picks the revision `rollout undo --to-revision` would", () => {
  const history = [rs("a", "1"), rs("c", "3"), rs("b", "2"), rs("x")];
  it.each([
    { toRevision: 0, expected: "b", why: "0 means the second newest" },
    { toRevision: 1, expected: "a", why: "an explicit revision" },
    { toRevision: 3, expected: "c", why: "the current revision itself (undo then skips)" },
    { toRevision: 7, expected: undefined, why: "an unknown revision" },
  ])("toRevision $toRevision: $why", ({ toRevision, expected }) => {
    expect(replicaSetForRevision(history, "Deployment", toRevision)?.metadata.name).toBe(expected);
  });
  it("finds no previous revision when there is only one", () => {
    expect(replicaSetForRevision([rs("a", "1")], "Deployment", 0)).toBeUndefined();
  });
  it("reads the Argo annotation for Rollouts", () => {
    const argo = (name: string, revision: string): ReplicaSetObject => ({
      metadata: { name, annotations: { "rollout.argoproj.io/revision": revision } },
      spec: {},
    });
    expect(replicaSetForRevision([argo("a", "4"), argo("b", "5")], "Rollout", 0)?.metadata.name).toBe("a");
  });
});
