import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CanaryObject, DeploymentObject, ReplicaSetObject, RolloutObject } from "./resources.js";
import { canaryStatus, deploymentPhase, deploymentStatus, rolloutPhase, rolloutStatus } from "./status.js";
import { argoObject } from "./testdata/load.js";

const blueGreen = () => argoObject<RolloutObject>("blue-green-bluegreen-rollout");
const canary = () => argoObject<RolloutObject>("canary-canary-rollout");

/** Sets fields on a copy of a real object, so each row says only what differs. */
function withStatus(
  ro: RolloutObject,
  status: Partial<NonNullable<RolloutObject["status"]>>,
  spec: Partial<RolloutObject["spec"]> = {},
): RolloutObject {
  return { ...ro, spec: { ...ro.spec, ...spec }, status: { ...ro.status, ...status } };
}

describe("rolloutPhase follows the kubectl-argo-rollouts plugin (GetRolloutPhase)", () => {
  const rows: {
    name: string;
    rollout: () => RolloutObject;
    workload?: DeploymentObject;
    phase: string;
    message: string;
  }[] = [
    {
      name: "a blue-green rollout waiting at BlueGreenPause is Paused (plugin testdata, pre-1.0 controller without status.phase)",
      rollout: blueGreen,
      phase: "Paused",
      message: "BlueGreenPause",
    },
    {
      name: "a canary past its progress deadline is Degraded (plugin testdata)",
      rollout: canary,
      phase: "Degraded",
      message: 'ProgressDeadlineExceeded: ReplicaSet "canary-demo-65fb5ffc84" has timed out progressing.',
    },
    {
      name: "an aborted rollout is Aborted with the plugin's RolloutAborted message (plugin testdata)",
      rollout: () => argoObject<RolloutObject>("rollout-aborted-rollout"),
      phase: "Aborted",
      message: 'RolloutAborted: metric "web" assessed Failed due to failed (1) > failureLimit (0)',
    },
    {
      name: "an invalid spec is Degraded with the InvalidSpec message (plugin testdata)",
      rollout: () => argoObject<RolloutObject>("rollout-invalid-rollout-invalid"),
      phase: "Degraded",
      message:
        'InvalidSpec: The Rollout "rollout-invalid" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"doesnt-match"}: `selector` does not match template `labels`',
    },
    {
      name: "an unobserved generation is Progressing whatever the status says",
      rollout: () => withStatus(blueGreen(), { observedGeneration: "409" }),
      phase: "Progressing",
      message: "waiting for rollout spec update to be observed",
    },
    {
      name: "cleared pause conditions with controllerPause still set is 'waiting for rollout to unpause'",
      rollout: () => withStatus(blueGreen(), { pauseConditions: null }),
      phase: "Progressing",
      message: "waiting for rollout to unpause",
    },
    {
      name: "status.phase written by a 1.0+ controller wins",
      rollout: () => withStatus(blueGreen(), { phase: "Healthy", message: "", controllerPause: false }),
      phase: "Healthy",
      message: "",
    },
    {
      name: "spec.paused is 'manually paused'",
      rollout: () => withStatus(blueGreen(), { controllerPause: false, pauseConditions: null }, { paused: true }),
      phase: "Paused",
      message: "manually paused",
    },
    {
      name: "a promoted blue-green whose active selector is not the new hash yet waits for the cutover",
      rollout: () => withStatus(blueGreen(), { controllerPause: false, pauseConditions: null, availableReplicas: 3 }),
      phase: "Progressing",
      message: "active service cutover pending",
    },
    {
      name: "a blue-green with the active selector switched but stableRS not moved waits for verification",
      rollout: () =>
        withStatus(blueGreen(), {
          controllerPause: false,
          pauseConditions: null,
          blueGreen: { activeSelector: "74b948fccb", previewSelector: "74b948fccb" },
        }),
      phase: "Progressing",
      message: "waiting for post-promotion verification to complete",
    },
    {
      name: "a blue-green whose stableRS is the current hash is Healthy",
      rollout: () =>
        withStatus(blueGreen(), {
          controllerPause: false,
          pauseConditions: null,
          stableRS: "74b948fccb",
          blueGreen: { activeSelector: "74b948fccb", previewSelector: "74b948fccb" },
        }),
      phase: "Healthy",
      message: "",
    },
    {
      name: "fewer updated than desired replicas is 'more replicas need to be updated'",
      rollout: () => withStatus(blueGreen(), { controllerPause: false, pauseConditions: null, updatedReplicas: 1 }),
      phase: "Progressing",
      message: "more replicas need to be updated",
    },
    {
      name: "a workloadRef Rollout whose Deployment changed after the controller last resolved it is Progressing",
      rollout: () => {
        const ro = withStatus(blueGreen(), {
          phase: "Healthy",
          message: "",
          controllerPause: false,
          workloadObservedGeneration: "3",
        });
        ro.spec.workloadRef = { kind: "Deployment", name: "bluegreen-demo" };
        ro.metadata.annotations = { ...ro.metadata.annotations, "rollout.argoproj.io/workload-generation": "3" };
        return ro;
      },
      workload: { metadata: { name: "bluegreen-demo", generation: 4 }, spec: {} },
      phase: "Progressing",
      message: "waiting for rollout spec update to be observed for the reference workload",
    },
    {
      name: "a restart not yet done is 'rollout is restarting'",
      rollout: () =>
        withStatus(
          blueGreen(),
          { controllerPause: false, pauseConditions: null },
          { restartAt: "2026-11-27T10:00:00Z" },
        ),
      phase: "Progressing",
      message: "rollout is restarting",
    },
  ];
  it.each(rows)("$name", ({ rollout, workload, phase, message }) => {
    expect(rolloutPhase(rollout(), workload)).toEqual({ phase, message });
  });
});

describe("rolloutStatus", () => {
  it("reports revisions, images, replicas and both Services of a paused blue-green (plugin testdata)", () => {
    const replicaSets = ["blue-green-active-rs", "blue-green-preview-rs"].map((f) => argoObject<ReplicaSetObject>(f));
    const status = rolloutStatus({ rollout: blueGreen(), replicaSets });
    expect(status).toMatchObject({
      kind: "Rollout",
      name: "bluegreen-demo",
      namespace: "jesse-test",
      phase: "Paused",
      desiredRevision: 11,
      images: [{ container: "bluegreen-demo", image: "argoproj/rollouts-demo:green" }],
      readyReplicas: 6,
      desiredReplicas: 3,
      endpoints: {
        active: { service: "bluegreen-demo", podTemplateHash: "6cbccd9f99" },
        preview: { service: "bluegreen-demo-preview", podTemplateHash: "74b948fccb" },
      },
    });
    const activeRs = replicaSets[0];
    // readyReplicas (6) counts both versions; the preview's own ReplicaSet has the new version's ready pods.
    const previewRs = replicaSets[1];
    expect(status.updatedReadyReplicas).toBe(previewRs?.status?.readyReplicas);
    expect(rolloutStatus({ rollout: blueGreen() }).updatedReadyReplicas).toBeUndefined();
    expect(status.stableRevision).toBe(Number(activeRs?.metadata.annotations?.["rollout.argoproj.io/revision"]));
    expect(status.stableImages).toEqual([{ container: "bluegreen-demo", image: "argoproj/rollouts-demo:blue" }]);
  });

  it("reports the canary step and the weight of the last setWeight step reached", () => {
    const ro = withStatus(canary(), { currentStepIndex: 3 });
    const steps = ro.spec.strategy?.canary?.steps ?? [];
    const status = rolloutStatus({ rollout: ro });
    const expected = steps.slice(0, 3).reduce<number>((w, s) => (typeof s.setWeight === "number" ? s.setWeight : w), 0);
    expect(status.canary).toEqual({ steps: steps.length, stepIndex: 3, weight: expected });
  });
});

const deployment = (generation: number, replicas: number, status: DeploymentObject["status"]): DeploymentObject => ({
  metadata: { name: "foo", namespace: "bar", generation },
  spec: { replicas },
  status,
});

describe("deploymentPhase follows kubectl rollout status (rollout_status_test.go cases)", () => {
  const rows = [
    {
      name: "test1: nothing updated yet",
      d: deployment(0, 1, { observedGeneration: 1, replicas: 1, updatedReplicas: 0, availableReplicas: 1 }),
      phase: "Progressing",
      message: 'Waiting for deployment "foo" rollout to finish: 0 out of 1 new replicas have been updated...',
    },
    {
      name: "test2: old replicas pending termination",
      d: deployment(1, 1, { observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 2 }),
      phase: "Progressing",
      message: 'Waiting for deployment "foo" rollout to finish: 1 old replicas are pending termination...',
    },
    {
      name: "test3: updated replicas not all available",
      d: deployment(1, 2, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }),
      phase: "Progressing",
      message: 'Waiting for deployment "foo" rollout to finish: 1 of 2 updated replicas are available...',
    },
    {
      name: "test4: successfully rolled out",
      d: deployment(1, 2, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
      phase: "Healthy",
      message: "",
    },
    {
      name: "test5: spec update not observed",
      d: deployment(2, 2, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
      phase: "Progressing",
      message: "Waiting for deployment spec update to be observed...",
    },
    {
      name: "ProgressDeadlineExceeded is Degraded (kubectl's error)",
      d: deployment(1, 2, {
        observedGeneration: 1,
        replicas: 3,
        updatedReplicas: 1,
        availableReplicas: 2,
        conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
      }),
      phase: "Degraded",
      message: 'deployment "foo" exceeded its progress deadline',
    },
    {
      name: "an unfinished paused Deployment is Paused",
      d: {
        ...deployment(1, 2, { observedGeneration: 1, replicas: 2, updatedReplicas: 0, availableReplicas: 2 }),
        spec: { replicas: 2, paused: true },
      },
      phase: "Paused",
      message:
        'manually paused; Waiting for deployment "foo" rollout to finish: 0 out of 2 new replicas have been updated...',
    },
  ];
  it.each(rows)("$name", ({ d, phase, message }) => {
    expect(deploymentPhase(d)).toEqual({ phase, message });
  });

  it("takes the stable revision from the newest older ReplicaSet that still serves", () => {
    const rs = (revision: number, available: number): ReplicaSetObject => ({
      metadata: {
        name: `foo-${revision}`,
        labels: { "pod-template-hash": `h${revision}` },
        annotations: { "deployment.kubernetes.io/revision": String(revision) },
      },
      spec: { template: { spec: { containers: [{ name: "app", image: `app:${revision}` }] } } },
      status: { availableReplicas: available, readyReplicas: available },
    });
    const d = deployment(3, 2, { observedGeneration: 3, replicas: 3, updatedReplicas: 1, availableReplicas: 2 });
    d.metadata.annotations = { "deployment.kubernetes.io/revision": "3" };
    const status = deploymentStatus({ deployment: d, replicaSets: [rs(1, 0), rs(2, 2), rs(3, 0)] });
    expect(status).toMatchObject({ phase: "Progressing", desiredRevision: 3, stableRevision: 2 });
    expect(status.stableImages).toEqual([{ container: "app", image: "app:2" }]);
    expect(status.updatedReadyReplicas).toBe(0);
  });
});

describe("canaryStatus maps Flagger's phases", () => {
  const canaryObject = (phase: string | undefined): CanaryObject => ({
    metadata: { name: "podinfo", namespace: "test" },
    spec: { targetRef: { kind: "Deployment", name: "podinfo" }, service: { port: 9898 } },
    status:
      phase === undefined
        ? {}
        : {
            phase,
            canaryWeight: 0,
            conditions: [
              { type: "Promoted", status: "Unknown", reason: phase, message: "Canary is waiting for approval" },
            ],
          },
  });
  it.each([
    ["Initialized", "Healthy"],
    ["Waiting", "Paused"],
    ["Progressing", "Progressing"],
    ["WaitingPromotion", "Paused"],
    ["Promoting", "Progressing"],
    ["Finalising", "Progressing"],
    ["Succeeded", "Healthy"],
    ["Failed", "Aborted"],
    [undefined, "Progressing"],
  ])("Flagger phase %s is %s", (flaggerPhase, phase) => {
    const status = canaryStatus({ canary: canaryObject(flaggerPhase) });
    expect(status.phase).toBe(phase);
    expect(status.endpoints).toEqual({ active: { service: "podinfo" }, preview: { service: "podinfo-canary" } });
  });
  it("is Progressing, not Healthy, while Flagger has not yet seen a new image on the target", () => {
    const deployment = (name: string, image: string): DeploymentObject => ({
      metadata: { name },
      spec: { template: { spec: { containers: [{ name: "podinfo", image }] } } },
    });
    const status = canaryStatus({
      canary: canaryObject("Succeeded"),
      target: deployment("podinfo", "podinfo:6.1"),
      primary: deployment("podinfo-primary", "podinfo:6.0"),
    });
    expect(status).toMatchObject({
      phase: "Progressing",
      message: "waiting for Flagger to detect the new revision of the target",
      images: [{ container: "podinfo", image: "podinfo:6.1" }],
      stableImages: [{ container: "podinfo", image: "podinfo:6.0" }],
    });
  });
  it("names the gate a waiting Canary needs and quotes Flagger's condition", () => {
    expect(canaryStatus({ canary: canaryObject("WaitingPromotion") }).message).toBe(
      "waiting for the confirm-promotion gate (Canary is waiting for approval)",
    );
  });
});

describe("status functions fed by the network", () => {
  const phases = ["Healthy", "Progressing", "Paused", "Degraded", "Aborted"];
  const anyStatus = fc.dictionary(
    fc.constantFrom(
      "phase",
      "message",
      "observedGeneration",
      "stableRS",
      "currentPodHash",
      "pauseConditions",
      "conditions",
      "abort",
      "replicas",
      "updatedReplicas",
      "availableReplicas",
      "readyReplicas",
      "canaryWeight",
      "controllerPause",
      "blueGreen",
      "canary",
      "currentStepIndex",
    ),
    fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(
        fc.oneof(
          fc.constant(null),
          fc.record({
            type: fc.constantFrom("InvalidSpec", "Progressing", "Promoted"),
            reason: fc.oneof(fc.string(), fc.integer()),
            message: fc.anything(),
          }),
        ),
      ),
      fc.object(),
    ),
  );
  const meta = fc.record({
    name: fc.string({ minLength: 1 }),
    generation: fc.option(fc.integer(), { nil: undefined }),
  });
  it("always answer one of the five phases and never throw, whatever status a controller wrote", () => {
    fc.assert(
      fc.property(meta, anyStatus, fc.boolean(), (metadata, status, paused) => {
        const ro = {
          metadata,
          spec: { paused, strategy: { blueGreen: { activeService: "a" } } },
          status,
        } as unknown as RolloutObject;
        const d = { metadata, spec: { paused }, status } as unknown as DeploymentObject;
        const c = {
          metadata,
          spec: { targetRef: { kind: "Deployment", name: "x" } },
          status,
        } as unknown as CanaryObject;
        for (const s of [
          rolloutStatus({ rollout: ro }),
          deploymentStatus({ deployment: d }),
          canaryStatus({ canary: c }),
        ]) {
          expect(phases).toContain(s.phase);
          expect(typeof s.message).toBe("string");
        }
      }),
    );
  });
});
