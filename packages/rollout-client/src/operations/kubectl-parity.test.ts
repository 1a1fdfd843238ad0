/**
 * Parity with the real kubectl (v1.32 at /usr/bin/kubectl): the same operation done by kubectl on one Deployment
 * and by rollout-client on an identical twin must leave the two objects the same.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { DeploymentObject } from "../resources.js";
import {
  deploymentManifest,
  type KubeSimEnv,
  kubeSimResource,
  NAMESPACE,
  replicaSetManifest,
} from "../test-helpers/kube-sim.js";

const run = promisify(execFile);

async function kubectl(env: KubeSimEnv, ...args: string[]) {
  await run("kubectl", ["--kubeconfig", env.sim.kubeconfigPath, "-n", NAMESPACE, ...args]);
}

async function twins(env: KubeSimEnv) {
  for (const name of ["by-kubectl", "by-rollway"]) {
    const manifest = deploymentManifest(name, "app:2");
    manifest.spec.template.spec.containers = [
      { name, image: "app:2" },
      { name: "proxy", image: "envoy:1.30" },
    ];
    const created = await env.create<DeploymentObject>("Deployment", {
      ...manifest,
      metadata: { ...manifest.metadata, annotations: { "deployment.kubernetes.io/revision": "2", team: "payments" } },
    });
    const owner = { kind: "Deployment" as const, name, uid: created.metadata.uid ?? "" };
    await env.create("ReplicaSet", replicaSetManifest(owner, 1, "app:1", { "kubernetes.io/change-cause": "first" }));
    await env.create("ReplicaSet", replicaSetManifest(owner, 2, "app:2"));
  }
}

/** The parts an operation may change, with the twin's name made neutral. */
async function comparable(env: KubeSimEnv, name: string) {
  const d = await env.get<DeploymentObject>("Deployment", name);
  return JSON.parse(JSON.stringify({ spec: d.spec, annotations: d.metadata.annotations }).replaceAll(name, "twin"));
}

// kubectl comes from the machine (scripts/ci/setup-base.sh installs it in CI).
describe("kubectl parity", () => {
  it.each([
    [
      "rollout undo --to-revision=1",
      ["rollout", "undo", "deployment/by-kubectl", "--to-revision=1"],
      (env: KubeSimEnv) => env.client.target("by-rollway").then((t) => env.client.undo(t, { toRevision: 1 })),
    ],
    [
      "rollout undo",
      ["rollout", "undo", "deployment/by-kubectl"],
      (env: KubeSimEnv) => env.client.target("by-rollway").then((t) => env.client.undo(t)),
    ],
    [
      "rollout pause",
      ["rollout", "pause", "deployment/by-kubectl"],
      (env: KubeSimEnv) => env.client.target("by-rollway").then((t) => env.client.pause(t)),
    ],
    [
      "set image",
      ["set", "image", "deployment/by-kubectl", "by-kubectl=app:3"],
      (env: KubeSimEnv) =>
        env.client.target("by-rollway").then((t) => env.client.setImages(t, { "by-rollway": "app:3" })),
    ],
  ] as const)("%s leaves the Deployment as kubectl does", async (_, args, ours) => {
    const env = await kubeSimResource({ withoutControllers: true });
    await twins(env);
    const before = await comparable(env, "by-kubectl");
    await kubectl(env, ...args);
    await ours(env);
    const after = await comparable(env, "by-kubectl");
    expect(after).not.toEqual(before);
    expect(await comparable(env, "by-rollway")).toEqual(after);
  });

  it("rollout resume after a pause leaves the Deployment as kubectl does", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await twins(env);
    const target = await env.client.target("by-rollway");
    await kubectl(env, "rollout", "pause", "deployment/by-kubectl");
    await env.client.pause(target);
    await kubectl(env, "rollout", "resume", "deployment/by-kubectl");
    await env.client.resume(target);
    expect(await comparable(env, "by-rollway")).toEqual(await comparable(env, "by-kubectl"));
    expect((await env.get<DeploymentObject>("Deployment", "by-rollway")).spec.paused).toBeUndefined();
  });
});
