import { describe, expect, it } from "vitest";
import type { DeploymentObject, ReplicaSetObject, RolloutObject } from "../resources.js";
import { deploymentManifest, kubeSimResource, replicaSetManifest, rolloutManifest } from "../test-helpers/kube-sim.js";
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

describe("undo and history against kube-sim", () => {
  async function rolloutWithHistory() {
    const env = await kubeSimResource({ withoutControllers: true });
    const rollout = await env.create<RolloutObject>("Rollout", rolloutManifest("web", "web:3", "blueGreen"));
    const owner = { kind: "Rollout" as const, name: "web", uid: rollout.metadata.uid ?? "" };
    await env.create(
      "ReplicaSet",
      replicaSetManifest(owner, 1, "web:1", { "kubernetes.io/change-cause": "first release" }),
    );
    await env.create("ReplicaSet", replicaSetManifest(owner, 2, "web:2"));
    await env.create("ReplicaSet", replicaSetManifest(owner, 3, "web:3"));
    // Another Rollout's ReplicaSet with the same labels must not count (only controlled ones do).
    await env.create("ReplicaSet", replicaSetManifest({ ...owner, uid: "someone-else" }, 9, "web:9"));
    return env;
  }

  it("lists the revisions a Rollout owns with their images and change cause", async () => {
    const env = await rolloutWithHistory();
    const history = await env.client.history(await env.client.target("web"));
    expect(history.every((r) => typeof r.createdAt === "string" && !Number.isNaN(Date.parse(r.createdAt)))).toBe(true);
    expect(history.map((r) => [r.revision, r.images[0]?.image, r.changeCause])).toEqual([
      [1, "web:1", "first release"],
      [2, "web:2", undefined],
      [3, "web:3", undefined],
    ]);
  });

  it("replaces the Rollout's template with revision 1's, minus the hash label, in one JSON patch", async () => {
    const env = await rolloutWithHistory();
    const target = await env.client.target("web");
    await expect(env.client.undo(target, { toRevision: 1 })).resolves.toEqual({
      writes: 1,
      revision: 1,
      skipped: false,
    });
    const rollout = await env.get<RolloutObject>("Rollout", "web");
    expect(rollout.spec.template?.spec?.containers?.[0]?.image).toBe("web:1");
    expect(rollout.spec.template?.metadata?.labels).toEqual({ app: "web" });
  });

  it("goes back to the previous revision without --to-revision", async () => {
    const env = await rolloutWithHistory();
    await expect(env.client.undo(await env.client.target("web"))).resolves.toMatchObject({
      revision: 2,
      skipped: false,
    });
    expect((await env.get<RolloutObject>("Rollout", "web")).spec.template?.spec?.containers?.[0]?.image).toBe("web:2");
  });

  it("skips when the template already matches the revision, and says NOT_FOUND for an unknown one", async () => {
    const env = await rolloutWithHistory();
    const target = await env.client.target("web");
    await expect(env.client.undo(target, { toRevision: 3 })).resolves.toEqual({
      writes: 0,
      revision: 3,
      skipped: true,
    });
    await expect(env.client.undo(target, { toRevision: 7 })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: 'Rollout "web" in namespace "shop": unable to find revision 7 in history (known: 1, 2, 3)',
    });
    await expect(env.client.undo(target, { toRevision: -1 })).rejects.toMatchObject({ code: "INVALID" });
  });

  it("patches the workloadRef Deployment, not the Rollout, as the plugin does", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const deploymentSpec = deploymentManifest("ui-deploy", "ui:2");
    deploymentSpec.spec.selector.matchLabels.app = "ui";
    deploymentSpec.spec.template.metadata.labels.app = "ui";
    deploymentSpec.spec.template.spec.containers[0] = { name: "ui", image: "ui:2" };
    await env.create("Deployment", deploymentSpec);
    const rollout = await env.create<RolloutObject>(
      "Rollout",
      rolloutManifest("ui", "", "blueGreen", { workloadRef: "ui-deploy" }),
    );
    const owner = { kind: "Rollout" as const, name: "ui", uid: rollout.metadata.uid ?? "" };
    await env.create("ReplicaSet", replicaSetManifest(owner, 1, "ui:1"));
    await env.create("ReplicaSet", replicaSetManifest(owner, 2, "ui:2"));
    const target = await env.client.target("ui-deploy");
    await expect(env.client.undo(target)).resolves.toMatchObject({ revision: 1, writes: 1 });
    const deployment = await env.get<DeploymentObject>("Deployment", "ui-deploy");
    expect(deployment.spec.template?.spec?.containers?.[0]?.image).toBe("ui:1");
    const after = await env.get<RolloutObject>("Rollout", "ui");
    expect(after.spec.template).toBeUndefined();
  });

  it("undoes a Deployment as kubectl does: template and annotations from the ReplicaSet, kept ones from the Deployment", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const manifest = deploymentManifest("api", "api:2");
    const created = await env.create<DeploymentObject>("Deployment", {
      ...manifest,
      metadata: { ...manifest.metadata, annotations: { "deployment.kubernetes.io/revision": "2", team: "payments" } },
    });
    const owner = { kind: "Deployment" as const, name: "api", uid: created.metadata.uid ?? "" };
    await env.create("ReplicaSet", replicaSetManifest(owner, 1, "api:1", { "kubernetes.io/change-cause": "v1" }));
    await env.create("ReplicaSet", replicaSetManifest(owner, 2, "api:2"));
    await env.client.undo(await env.client.target("api"), { toRevision: 1 });
    const deployment = await env.get<DeploymentObject>("Deployment", "api");
    expect(deployment.spec.template?.spec?.containers?.[0]?.image).toBe("api:1");
    expect(deployment.spec.template?.metadata?.labels).toEqual({ app: "api" });
    expect(deployment.metadata.annotations).toMatchObject({ "kubernetes.io/change-cause": "v1" });
    expect(deployment.metadata.annotations?.team).toBeUndefined();
  });

  it("refuses to undo a paused Deployment, as kubectl does", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const created = await env.create<DeploymentObject>("Deployment", deploymentManifest("api", "api:2"));
    const owner = { kind: "Deployment" as const, name: "api", uid: created.metadata.uid ?? "" };
    await env.create("ReplicaSet", replicaSetManifest(owner, 1, "api:1"));
    await env.create("ReplicaSet", replicaSetManifest(owner, 2, "api:2"));
    const target = await env.client.target("api");
    await env.client.pause(target);
    await expect(env.client.undo(target)).rejects.toMatchObject({
      code: "INVALID",
      message: expect.stringContaining("you cannot roll back a paused Deployment; resume it first"),
    });
  });
});
