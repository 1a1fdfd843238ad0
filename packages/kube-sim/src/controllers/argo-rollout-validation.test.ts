import { describe, expect, it } from "vitest";
import type { Rollout, RolloutSpec, Service } from "./argo-rollout-types.js";
import { invalidRolloutMessage, validateRolloutSpec, validateService } from "./argo-rollout-validation.js";

const template = { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "web:1" }] } };

function rollout(spec: Partial<RolloutSpec>): Rollout {
  return {
    metadata: { name: "web" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      template,
      strategy: { blueGreen: { activeService: "web", previewService: "web-preview" } },
      ...spec,
    },
  };
}

describe("validateRolloutSpec (pkg/apis/rollouts/validation, first error)", () => {
  const table: Array<[string, Partial<RolloutSpec>, string | undefined]> = [
    ["a valid blue-green Rollout", {}, undefined],
    ["negative replicas", { replicas: -1 }, "spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
    [
      "no selector",
      { selector: undefined },
      "spec.selector: Required value: Rollout has missing field '.spec.selector'",
    ],
    [
      "a selector that does not match the template",
      { selector: { matchLabels: { app: "api" } } },
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    ],
    [
      "no containers",
      { template: { metadata: { labels: { app: "web" } }, spec: {} } },
      "spec.template.spec.containers: Required value",
    ],
    [
      "a progress deadline not above minReadySeconds",
      { minReadySeconds: 30, progressDeadlineSeconds: 30 },
      "spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds",
    ],
    [
      "no strategy",
      { strategy: {} },
      "spec.strategy.strategy: Required value: Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'",
    ],
    [
      "two strategies",
      { strategy: { blueGreen: { activeService: "a" }, canary: {} } },
      'spec.strategy.strategy: Invalid value: "blueGreen: true canary: true": Multiple Strategies can not be listed',
    ],
    [
      "the same active and preview Service",
      { strategy: { blueGreen: { activeService: "web", previewService: "web" } } },
      'spec.strategy.activeService: Invalid value: "web": This rollout uses the same service for the active and preview services, but two different services are required.',
    ],
    [
      "traffic routing without services",
      { strategy: { canary: { trafficRouting: { nginx: {} }, canaryService: "c" } } },
      'spec.strategy.stableService: Invalid value: "": Canary service and Stable service must to be set to use Traffic Routing',
    ],
    [
      "a ping-pong ALB canary (no stable/canary Services needed: canary.pingPong is recognised)",
      {
        strategy: {
          canary: {
            pingPong: { pingService: "ping", pongService: "pong" },
            trafficRouting: { alb: { ingress: "web", servicePort: 80, rootService: "web-root" } },
          },
        },
      },
      undefined,
    ],
    [
      "ping-pong with the same ping and pong Service",
      {
        strategy: {
          canary: {
            pingPong: { pingService: "ping", pongService: "ping" },
            trafficRouting: { alb: { ingress: "web", servicePort: 80, rootService: "web-root" } },
          },
        },
      },
      'spec.strategy.pingPong.pingService: Invalid value: "ping": This rollout uses the same service for the ping and pong services, but two different services are required.',
    ],
    [
      "ping-pong with a router other than ALB, Istio or a plugin",
      {
        strategy: { canary: { pingPong: { pingService: "ping", pongService: "pong" }, trafficRouting: { nginx: {} } } },
      },
      'spec.strategy.trafficRouting.alb: Invalid value: "null": Ping-pong feature works with the ALB, Istio, and plugin-based traffic routers only',
    ],
    [
      "ping-pong on ALB without rootService",
      {
        strategy: {
          canary: {
            pingPong: { pingService: "ping", pongService: "pong" },
            trafficRouting: { alb: { ingress: "web", servicePort: 80 } },
          },
        },
      },
      'spec.strategy.trafficRouting.alb.rootService: Invalid value: "": Root service field is required for the configuration with ALB and ping-pong feature enabled',
    ],
    [
      "a weight above 100",
      { strategy: { canary: { steps: [{ setWeight: 20 }, { setWeight: 120 }] } } },
      "spec.strategy.steps[1].setWeight: Invalid value: 120: SetWeight needs to be between 0 and 100",
    ],
    [
      "an empty step",
      { strategy: { canary: { steps: [{}] } } },
      'spec.strategy.steps[0]: Invalid value: "step.Experiment: true step.Pause: true step.SetWeight: true step.Analysis: true step.SetCanaryScale: true step.SetHeaderRoute: true step.SetMirrorRoute: true step.Plugin: true": Step must have one of the following set: experiment, setWeight, setCanaryScale, plugin or pause',
    ],
  ];
  for (const [name, spec, error] of table) {
    it(name, () => {
      const ro = rollout(spec);
      expect(validateRolloutSpec(ro, ro.spec, true)).toBe(error);
    });
  }
});

describe("validateService", () => {
  const ro = rollout({});
  const svc = (selector: Record<string, string>, annotations?: Record<string, string>): Service => ({
    metadata: { name: "web", annotations },
    spec: { selector },
  });
  it("names the missing Service and where it is referenced", () => {
    expect(invalidRolloutMessage("web", validateService(ro, ro.spec, "activeService", "web", undefined) ?? "")).toBe(
      'The Rollout "web" is invalid: spec.strategy.blueGreen.activeService: Invalid value: "web": service "web" not found',
    );
  });
  it("refuses a selector the pods do not carry, and a Service another Rollout manages", () => {
    expect(validateService(ro, ro.spec, "previewService", "web", svc({ app: "api" }))).toBe(
      'spec.strategy.blueGreen.previewService: Invalid value: "web": Service "web" has unmatch label "app" in rollout',
    );
    expect(
      validateService(
        ro,
        ro.spec,
        "activeService",
        "web",
        svc({ app: "web" }, { "argo-rollouts.argoproj.io/managed-by-rollouts": "other" }),
      ),
    ).toBe('spec.strategy.blueGreen.activeService: Invalid value: "web": Service "web" is managed by another Rollout');
    expect(
      validateService(ro, ro.spec, "activeService", "web", svc({ app: "web", "rollouts-pod-template-hash": "x" })),
    ).toBeUndefined();
  });
});
