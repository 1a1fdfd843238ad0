import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundledCrdDir } from "@rollway/kube-sim";
import { describe, expect, it, onTestFinished } from "vitest";
import { parse, stringify } from "yaml";
import { connect } from "../client.js";
import type { RolloutObject } from "../resources.js";
import { deploymentManifest, kubeSimResource, rolloutManifest } from "../test-helpers/kube-sim.js";
import { resettingProxy } from "../test-helpers/resetting-proxy.js";
import { argoObject } from "../testdata/load.js";
import { promotePatches } from "./promote.js";

const blueGreen = () => argoObject<RolloutObject>("blue-green-bluegreen-rollout");

/** The upstream Rollout CRD as it was before v0.10: no status subresource. */
function rolloutCrdWithoutStatusSubresource(): string {
  const crd = parse(readFileSync(join(bundledCrdDir(), "rollout-crd.yaml"), "utf8")) as {
    spec: { versions: { subresources?: Record<string, unknown> }[] };
  };
  for (const version of crd.spec.versions) delete version.subresources;
  const dir = mkdtempSync(join(tmpdir(), "rollout-crd-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "rollout-crd.yaml"), stringify(crd));
  return dir;
}
const canary = () => argoObject<RolloutObject>("canary-canary-rollout");
const patch = (
  ro: RolloutObject,
  status: Partial<NonNullable<RolloutObject["status"]>>,
  spec: Partial<RolloutObject["spec"]> = {},
) => ({ ...ro, spec: { ...ro.spec, ...spec }, status: { ...ro.status, ...status } }) as RolloutObject;

// Expected bodies are the plugin's constants (cmd/promote/promote.go), as JSON.
describe("promotePatches sends what `kubectl argo rollouts promote` sends", () => {
  it.each([
    {
      name: "a blue-green paused at BlueGreenPause: clear the pause conditions on status",
      rollout: blueGreen,
      full: false,
      expected: {
        status: { status: { pauseConditions: null } },
        unified: { spec: { paused: false }, status: { pauseConditions: null } },
      },
    },
    {
      name: "a blue-green also paused by spec.paused: unpause the spec too",
      rollout: () => patch(blueGreen(), {}, { paused: true }),
      full: false,
      expected: {
        spec: { spec: { paused: false } },
        status: { status: { pauseConditions: null } },
        unified: { spec: { paused: false }, status: { pauseConditions: null } },
      },
    },
    {
      name: "a canary without pause conditions: move currentStepIndex to the next step",
      rollout: () => patch(canary(), { pauseConditions: null, currentStepIndex: 1 }),
      full: false,
      expected: {
        status: { status: { pauseConditions: null, currentStepIndex: 2 } },
        unified: { spec: { paused: false }, status: { pauseConditions: null, currentStepIndex: 2 } },
      },
    },
    {
      name: "a canary at an inconclusive analysis paused by the controller: also clear controllerPause",
      rollout: () =>
        patch(canary(), {
          pauseConditions: [{ reason: "InconclusiveAnalysisRun" }],
          controllerPause: true,
          currentStepIndex: 1,
          canary: { currentStepAnalysisRunStatus: { status: "Inconclusive" } },
        }),
      full: false,
      expected: {
        status: { status: { pauseConditions: null, controllerPause: false, currentStepIndex: 2 } },
        unified: { spec: { paused: false }, status: { pauseConditions: null } },
      },
    },
    {
      name: "--full on an update in progress: promoteFull on status",
      rollout: blueGreen,
      full: true,
      expected: {
        status: { status: { promoteFull: true } },
        unified: { spec: { paused: false }, status: { promoteFull: true } },
      },
    },
    {
      name: "--full on a fully promoted rollout: nothing to send to status",
      rollout: () => patch(blueGreen(), { stableRS: "74b948fccb" }),
      full: true,
      expected: { unified: { spec: { paused: false }, status: { promoteFull: true } } },
    },
  ])("$name", ({ rollout, full, expected }) => {
    expect(JSON.parse(JSON.stringify(promotePatches(rollout(), full)))).toEqual(expected);
  });

  it("never moves currentStepIndex past the last step", () => {
    const ro = canary();
    const steps = ro.spec.strategy?.canary?.steps?.length ?? 0;
    expect(promotePatches(patch(ro, { pauseConditions: null, currentStepIndex: steps }), false).status).toEqual({
      status: { pauseConditions: null, currentStepIndex: steps },
    });
  });
});

describe("promote against kube-sim", () => {
  const paused = {
    phase: "Paused",
    message: "BlueGreenPause",
    currentPodHash: "new123",
    stableRS: "old123",
    controllerPause: true,
    pauseConditions: [{ reason: "BlueGreenPause", startTime: "2026-01-01T00:00:00Z" }],
  };

  it("clears the pause conditions with one merge patch on the status subresource", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:2", "blueGreen"));
    await env.patchStatus("Rollout", "web", paused);
    const target = await env.client.target("web");
    const before = env.requests.length;
    await expect(env.client.promote(target)).resolves.toEqual({ writes: 1 });
    expect(env.requests.slice(before)).toEqual([
      { method: "GET", path: "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web" },
      { method: "PATCH", path: "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/status" },
    ]);
    const rollout = await env.get<RolloutObject>("Rollout", "web");
    expect(rollout.status?.pauseConditions ?? []).toEqual([]);
    expect(rollout.status?.controllerPause).toBe(true);
  });

  it("also unpauses spec.paused, on the resource", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", {
      ...rolloutManifest("web", "web:2", "blueGreen"),
      spec: { ...rolloutManifest("web", "web:2", "blueGreen").spec, paused: true },
    });
    await env.patchStatus("Rollout", "web", paused);
    const target = await env.client.target("web");
    await expect(env.client.promote(target)).resolves.toEqual({ writes: 2 });
    const rollout = await env.get<RolloutObject>("Rollout", "web");
    expect(rollout.spec.paused).toBe(false);
    expect(rollout.status?.pauseConditions ?? []).toEqual([]);
  });

  it("--full sets status.promoteFull", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:2", "canary"));
    await env.patchStatus("Rollout", "web", {
      ...paused,
      pauseConditions: [{ reason: "CanaryPauseStep", startTime: "2026-01-01T00:00:00Z" }],
      currentStepIndex: 1,
    });
    const target = await env.client.target("web");
    await env.client.promote(target, { full: true });
    expect((await env.get<RolloutObject>("Rollout", "web")).status?.promoteFull).toBe(true);
  });

  it("retries from a fresh read when the status write answers 409 Conflict", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:2", "blueGreen"));
    await env.patchStatus("Rollout", "web", paused);
    const target = await env.client.target("web");
    env.sim.faults.failRequests({ verb: "patch", resource: "rollouts", subresource: "status", code: 409, times: 3 });
    const before = env.requests.length;
    await env.client.promote(target);
    const sent = env.requests.slice(before);
    expect(sent.filter((r) => r.method === "GET")).toHaveLength(4);
    expect(sent.filter((r) => r.method === "PATCH")).toHaveLength(4);
    expect((await env.get<RolloutObject>("Rollout", "web")).status?.pauseConditions ?? []).toEqual([]);
  });

  it("gives up with a CONFLICT error after conflictRetries fresh reads", async () => {
    const env = await kubeSimResource({ conflictRetries: 2, withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:2", "blueGreen"));
    await env.patchStatus("Rollout", "web", paused);
    const target = await env.client.target("web");
    env.sim.faults.failRequests({ verb: "patch", resource: "rollouts", code: 409 });
    await expect(env.client.promote(target)).rejects.toMatchObject({
      code: "CONFLICT",
      httpStatus: 409,
      message: expect.stringContaining('Rollout status "web" in namespace "shop"'),
    });
  });

  it("sends the unified patch to the resource when the status subresource answers 404 (Rollouts before v0.10)", async () => {
    const env = await kubeSimResource({ withoutControllers: true, crds: [rolloutCrdWithoutStatusSubresource()] });
    const manifest = rolloutManifest("web", "web:2", "blueGreen");
    await env.create("Rollout", { ...manifest, spec: { ...manifest.spec, paused: true }, status: paused });
    const target = await env.client.target("web");
    const before = env.requests.length;
    await expect(env.client.promote(target)).resolves.toEqual({ writes: 2 });
    expect(env.requests.slice(before)).toEqual([
      { method: "GET", path: "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web" },
      { method: "PATCH", path: "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/status" },
      { method: "PATCH", path: "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web" },
    ]);
    const rollout = await env.get<RolloutObject>("Rollout", "web");
    expect(rollout.spec.paused).toBe(false);
    expect(rollout.status?.pauseConditions ?? []).toEqual([]);
    await expect(env.client.abort(target)).resolves.toEqual({ writes: 2 });
    expect((await env.get<RolloutObject>("Rollout", "web")).status?.abort).toBe(true);
  });

  it("refuses to promote a Deployment and writes nothing", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const target = await env.client.target("api");
    const before = env.requests.length;
    await expect(env.client.promote(target)).rejects.toMatchObject({
      code: "INVALID",
      message:
        'Deployment "api" in namespace "shop": promote does not apply to a Deployment; a Deployment rolls out by itself; use resume if it is paused',
    });
    expect(env.requests.slice(before)).toEqual([]);
  });
});

describe("a write refused transiently is decided again from a fresh read, where that is safe", () => {
  const paused = { pauseConditions: [{ reason: "BlueGreenPause", startTime: "2026-01-01T00:00:00Z" }] };

  it("a 500 on a blue-green promote patch: read again, promote once (one backend is not left behind)", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("backend-4", "b:1", "blueGreen"));
    await env.patchStatus("Rollout", "backend-4", paused);
    const target = await env.client.target("backend-4");
    env.sim.faults.failRequests({ verb: "patch", resource: "rollouts", subresource: "status", code: 500, times: 1 });
    env.requests.length = 0;
    await expect(env.client.promote(target)).resolves.toEqual({ writes: 1 });
    expect(env.requests.map((r) => r.method)).toEqual(["GET", "PATCH", "GET", "PATCH"]);
    expect((await env.get<RolloutObject>("Rollout", "backend-4")).status?.pauseConditions ?? null).toBeNull();
  });

  it("a promote whose answer was lost after it applied: the fresh read finds nothing left to do", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "blueGreen"));
    await env.patchStatus("Rollout", "web", paused);
    const proxy = await resettingProxy(env.sim.url);
    const client = await connect({ kubeconfig: { yaml: env.sim.kubeconfig.replace(env.sim.url, proxy.url) } });
    onTestFinished(() => client.close());
    proxy.reset({ method: "PATCH", path: "/rollouts/web/status", times: 1, when: "after" });
    await expect(client.promote(await client.target("web"))).resolves.toEqual({ writes: 0 });
    expect(proxy.seen.filter((r) => r.startsWith("PATCH"))).toHaveLength(1);
  });

  it("never decides a canary promote again: a second decision could skip a step", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Rollout", rolloutManifest("web", "web:1", "canary"));
    await env.patchStatus("Rollout", "web", { ...paused, currentStepIndex: 1 });
    const target = await env.client.target("web");
    env.sim.faults.failRequests({ verb: "patch", resource: "rollouts", code: 500, times: 1 });
    await expect(env.client.promote(target)).rejects.toMatchObject({ code: "UNAVAILABLE", httpStatus: 500 });
    expect((await env.get<RolloutObject>("Rollout", "web")).status?.pauseConditions).toHaveLength(1);
  });

  it("a 500 on setImages' strategic patch of a Deployment: read again and set the image", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const target = await env.client.target("api");
    env.sim.faults.failRequests({ verb: "patch", resource: "deployments", code: 503, times: 2 });
    await expect(env.client.setImages(target, { api: "api:2" })).resolves.toEqual({ writes: 1 });
    const deployment = await env.get<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(
      "Deployment",
      "api",
    );
    expect(deployment.spec.template.spec.containers[0]?.image).toBe("api:2");
  });
});
