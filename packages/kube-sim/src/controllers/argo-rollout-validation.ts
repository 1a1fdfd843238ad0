// Spec validation of the Argo Rollouts controller (pkg/apis/rollouts/validation), with its field paths and
// messages as apimachinery's field.Error renders them. The controller reports the first error as the InvalidSpec
// condition: `The Rollout "<name>" is invalid: <error>`. Pure, so every rule has a table test.
import { POD_TEMPLATE_HASH_LABEL, type Rollout, type RolloutSpec, type Service } from "./argo-rollout-types.js";

export const MAX_TRAFFIC_WEIGHT = 100;

function quote(value: string): string {
  return JSON.stringify(value);
}

/** Go's %#v of a map[string]string: keys sorted. */
function goStringMap(map: Record<string, string>): string {
  const entries = Object.keys(map)
    .sort()
    .map((k) => `${quote(k)}:${quote(map[k] ?? "")}`);
  return `map[string]string{${entries.join(", ")}}`;
}

function invalid(path: string, value: string, message: string): string {
  return `${path}: Invalid value: ${value}: ${message}`;
}

function required(path: string, message: string): string {
  return `${path}: Required value${message ? `: ${message}` : ""}`;
}

const ROUTERS_NEEDING_SERVICES = ["alb", "smi", "apisix", "ambassador", "nginx", "appMesh", "traefik"];

/** ValidateRollout: the first spec error, or undefined. `resolvedFromRef` is true once workloadRef is resolved. */
export function validateRolloutSpec(rollout: Rollout, spec: RolloutSpec, resolvedFromRef: boolean): string | undefined {
  const replicas = spec.replicas ?? 1;
  if (replicas < 0) return invalid("spec.replicas", String(replicas), "must be greater than or equal to 0");
  const selector = spec.selector?.matchLabels ?? {};
  if (!rollout.spec.workloadRef) {
    if (!spec.selector) return required("spec.selector", "Rollout has missing field '.spec.selector'");
    if (Object.keys(selector).length + (spec.selector.matchExpressions?.length ?? 0) === 0) {
      return invalid(
        "spec.selector",
        "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}",
        "empty selector is invalid for deployment",
      );
    }
  }
  const template = rollout.spec.template;
  const templateSet =
    !!template && Object.keys(template.spec ?? {}).length + Object.keys(template.metadata ?? {}).length > 0;
  if (!resolvedFromRef && rollout.spec.workloadRef && templateSet) {
    return "spec.template: Internal error: template must be empty for workload reference rollout";
  }
  const labels = spec.template?.metadata?.labels ?? {};
  const containers = (spec.template?.spec?.containers as unknown[] | undefined) ?? [];
  if (resolvedFromRef || !rollout.spec.workloadRef) {
    if (Object.keys(selector).length > 0 && !Object.entries(selector).every(([k, v]) => labels[k] === v)) {
      return invalid(
        "spec.template.metadata.labels",
        goStringMap(labels),
        "`selector` does not match template `labels`",
      );
    }
    if (containers.length === 0) return required("spec.template.spec.containers", "");
  }
  const minReady = spec.minReadySeconds ?? 0;
  if (minReady < 0) return invalid("spec.minReadySeconds", String(minReady), "must be greater than or equal to 0");
  const deadline = spec.progressDeadlineSeconds ?? 600;
  if (deadline <= minReady) {
    return invalid("spec.progressDeadlineSeconds", String(deadline), "must be greater than minReadySeconds");
  }
  return validateStrategy(spec);
}

function validateStrategy(spec: RolloutSpec): string | undefined {
  // Upstream passes spec.strategy down and adds "strategy" again for these two, hence the doubled path.
  const { blueGreen, canary } = spec.strategy ?? {};
  if (!blueGreen && !canary) {
    return required(
      "spec.strategy.strategy",
      "Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'",
    );
  }
  if (blueGreen && canary) {
    return invalid(
      "spec.strategy.strategy",
      quote("blueGreen: true canary: true"),
      "Multiple Strategies can not be listed",
    );
  }
  if (blueGreen) {
    if (!blueGreen.activeService) {
      return required(
        "spec.strategy.blueGreen.activeService",
        "Rollout has missing field '.spec.strategy.blueGreen.activeService'",
      );
    }
    if (blueGreen.activeService === (blueGreen.previewService ?? "")) {
      return invalid(
        "spec.strategy.activeService",
        quote(blueGreen.activeService),
        "This rollout uses the same service for the active and preview services, but two different services are required.",
      );
    }
    const limit = spec.revisionHistoryLimit ?? 10;
    if (blueGreen.scaleDownDelayRevisionLimit !== undefined && limit < blueGreen.scaleDownDelayRevisionLimit) {
      return invalid(
        "spec.strategy.scaleDownDelayRevisionLimit",
        String(blueGreen.scaleDownDelayRevisionLimit),
        "This rollout's revision history limit can not be smaller than the rollout's scale down limit",
      );
    }
    return undefined;
  }
  if (!canary) return undefined;
  if (canary.canaryService && canary.stableService && canary.canaryService === canary.stableService) {
    return invalid(
      "spec.strategy.stableService",
      quote(canary.stableService),
      "This rollout uses the same service for the stable and canary services, but two different services are required.",
    );
  }
  const routing = canary.trafficRouting ?? {};
  const istio = routing.istio as { destinationRule?: unknown } | undefined;
  const pingPong = canary.pingPong as { pingService?: string; pongService?: string } | undefined;
  if (pingPong) {
    const alb = routing.alb as { rootService?: string } | undefined;
    if (
      canary.trafficRouting &&
      !alb &&
      !istio &&
      Object.keys((routing.plugins as object | undefined) ?? {}).length === 0
    )
      return invalid(
        "spec.strategy.trafficRouting.alb",
        quote("null"),
        "Ping-pong feature works with the ALB, Istio, and plugin-based traffic routers only",
      );
    const both = "Ping service and Pong service must to be set to use Ping-Pong feature";
    if (!pingPong.pingService) return invalid("spec.strategy.pingPong.pingService", quote(""), both);
    if (!pingPong.pongService) return invalid("spec.strategy.pingPong.pongService", quote(""), both);
    if (pingPong.pingService === pingPong.pongService)
      return invalid(
        "spec.strategy.pingPong.pingService",
        quote(pingPong.pingService),
        "This rollout uses the same service for the ping and pong services, but two different services are required.",
      );
    if (alb && !alb.rootService)
      return invalid(
        "spec.strategy.trafficRouting.alb.rootService",
        quote(""),
        "Root service field is required for the configuration with ALB and ping-pong feature enabled",
      );
  }
  // requireCanaryStableServices: ALB and Istio without a DestinationRule need them only without pingPong.
  const needsServices =
    ROUTERS_NEEDING_SERVICES.some((r) => routing[r] !== undefined && !(r === "alb" && pingPong)) ||
    (istio && !istio.destinationRule && !pingPong);
  if (needsServices) {
    const message = "Canary service and Stable service must to be set to use Traffic Routing";
    if (!canary.stableService) return invalid("spec.strategy.stableService", quote(""), message);
    if (!canary.canaryService) return invalid("spec.strategy.canaryService", quote(""), message);
  }
  const steps = canary.steps ?? [];
  for (const [i, step] of steps.entries()) {
    const path = `spec.strategy.steps[${i}]`;
    const kinds = [
      "experiment",
      "pause",
      "setWeight",
      "analysis",
      "setCanaryScale",
      "setHeaderRoute",
      "setMirrorRoute",
      "plugin",
    ];
    if (!kinds.some((k) => step[k] !== undefined && step[k] !== null)) {
      return invalid(
        path,
        quote(kinds.map((k) => `step.${k[0]?.toUpperCase()}${k.slice(1)}: true`).join(" ")),
        "Step must have one of the following set: experiment, setWeight, setCanaryScale, plugin or pause",
      );
    }
    if (typeof step.setWeight === "number" && (step.setWeight < 0 || step.setWeight > MAX_TRAFFIC_WEIGHT)) {
      return invalid(
        `${path}.setWeight`,
        String(step.setWeight),
        `SetWeight needs to be between 0 and ${MAX_TRAFFIC_WEIGHT}`,
      );
    }
    if (step.setCanaryScale !== undefined && !canary.trafficRouting) {
      return required("spec.strategy.trafficRouting", "SetCanaryScale requires TrafficRouting to be set");
    }
  }
  return undefined;
}

export type ServiceRole = "activeService" | "previewService" | "stableService" | "canaryService";

const SERVICE_PATHS: Record<ServiceRole, string> = {
  activeService: "spec.strategy.blueGreen.activeService",
  previewService: "spec.strategy.blueGreen.previewService",
  stableService: "spec.strategy.canary.stableService",
  canaryService: "spec.strategy.canary.canaryService",
};

/** The Services a Rollout names, with their role. */
export function referencedServices(spec: RolloutSpec): Array<{ role: ServiceRole; name: string }> {
  const out: Array<{ role: ServiceRole; name: string }> = [];
  const { blueGreen, canary } = spec.strategy ?? {};
  if (blueGreen) {
    if (blueGreen.activeService) out.push({ role: "activeService", name: blueGreen.activeService });
    if (blueGreen.previewService) out.push({ role: "previewService", name: blueGreen.previewService });
  } else if (canary) {
    if (canary.stableService) out.push({ role: "stableService", name: canary.stableService });
    if (canary.canaryService) out.push({ role: "canaryService", name: canary.canaryService });
  }
  return out;
}

/** getReferencedService + ValidateService: missing Services, selectors that do not match, another owner. */
export function validateService(
  rollout: Rollout,
  spec: RolloutSpec,
  role: ServiceRole,
  name: string,
  service: Service | undefined,
): string | undefined {
  const path = SERVICE_PATHS[role];
  if (!service) return invalid(path, quote(name), `service ${quote(name)} not found`);
  const labels = spec.template?.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(service.spec?.selector ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key === POD_TEMPLATE_HASH_LABEL) continue;
    if (labels[key] !== value) {
      return invalid(path, quote(name), `Service ${quote(name)} has unmatch label ${quote(key)} in rollout`);
    }
  }
  const manager = service.metadata.annotations?.["argo-rollouts.argoproj.io/managed-by-rollouts"];
  if (manager !== undefined && manager !== rollout.metadata.name) {
    return invalid(path, quote(name), `Service ${quote(name)} is managed by another Rollout`);
  }
  return undefined;
}

/** The InvalidSpec condition message. */
export function invalidRolloutMessage(name: string, error: string): string {
  return `The Rollout ${quote(name)} is invalid: ${error}`;
}
