/**
 * The demo world, one definition for every place that shows or tests rollway on a simulated cluster: the CLI's
 * `rollway demo` and `rollway sim`, the webhook server's `rollway serve --sim` and release's own tests.
 * The environment is examples/demo-environment.yaml itself (embedded as text at build time: tsup's
 * `--loader .yaml=text`, vitest's yaml-as-text plugin in vitest.shared.ts), so the file users read is the world they run.
 */
/// <reference path="./yaml-text.d.ts" />
import { parseOConfig, referenceConfigMap, renderConfigMap } from "@rollway/oconfig-versioning";
import type { RolloutClient } from "@rollway/rollout-client";
import DEMO_ENVIRONMENT_TEXT from "../examples/demo-environment.yaml";
import { type Environment, parseEnvironmentYaml } from "./environment.js";
import { listComponents } from "./environment-components.js";

/** examples/demo-environment.yaml, as text. */
export const DEMO_ENVIRONMENT_YAML: string = DEMO_ENVIRONMENT_TEXT;

/** The demo environment, parsed: a frontend and five blue-green backends in namespace `demo`, with oConfig. */
export function demoEnvironment(): Environment {
  return parseEnvironmentYaml(DEMO_ENVIRONMENT_YAML, { source: "demo-environment.yaml" });
}

/** The image a component runs before the first release: its repository at 1.0, as the seed's example names them. */
export function demoStartImage(component: string, container: string): string {
  if (component === "frontend") return "my-registry/image-for-frontend:1.0";
  if (component === "backend-1") return "my-registry/image-for-backend-1:1.0";
  return container === "backend" ? "my-registry/image-for-other-backends:1.0" : `my-registry/${component}:1.0`;
}

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects as sent over the wire
type Obj = any;

const podTemplate = (app: string, container: string, image: string): Obj => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: container, image, ports: [{ containerPort: 8080 }] }] },
});

/**
 * Lays out an environment's workloads in a simulated cluster at `url`, over HTTP as `kubectl apply` would: the
 * namespace, the Ingress of a blue-green frontend, each blue-green Rollout with its active and preview Services,
 * each Deployment, and the ConfigMap of each component's current oConfig, all on their start images.
 */
export async function seedDemoWorld(
  url: string,
  environment: Environment = demoEnvironment(),
  options: { progressDeadlineSeconds?: number } = {},
): Promise<void> {
  // The workloads' progressDeadlineSeconds (the controllers' default is 600): when a stuck rollout turns Degraded.
  const deadline =
    options.progressDeadlineSeconds === undefined ? {} : { progressDeadlineSeconds: options.progressDeadlineSeconds };
  const ns = environment.namespace;
  const http = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`kube-sim refused ${method} ${path}: HTTP ${res.status}: ${text}`);
    return JSON.parse(text) as Obj;
  };
  if (ns !== "default") {
    await http("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  }
  // The Ingress users and testers reach: the host to the frontend's active Service, the preview host to its preview.
  const front = environment.frontend?.strategy;
  if (front?.type === "blueGreen") {
    const rule = (host: string, service: string) => ({
      host,
      http: {
        paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service, port: { number: 80 } } } }],
      },
    });
    await http("POST", `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: environment.name },
      spec: {
        rules: [rule(environment.host, front.activeService), rule(environment.previewHost, front.previewService)],
      },
    });
  }
  for (const { name, component } of listComponents(environment)) {
    let template = podTemplate(component.workload.name, component.container, demoStartImage(name, component.container));
    if (component.oConfig !== undefined) {
      const current = parseOConfig(component.oConfig, { service: name }).current;
      const configMap = renderConfigMap(name, current, { namespace: ns });
      await http("POST", `/api/v1/namespaces/${ns}/configmaps`, configMap);
      template = referenceConfigMap(template, {
        configMapName: configMap.metadata.name,
        container: component.container,
      });
    }
    const strategy = component.strategy;
    const selector = { matchLabels: { app: component.workload.name } };
    if (component.workload.kind === "Rollout" && strategy.type === "blueGreen") {
      for (const svc of [strategy.activeService, strategy.previewService]) {
        await http("POST", `/api/v1/namespaces/${ns}/services`, {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: svc },
          spec: { selector: { app: component.workload.name }, ports: [{ port: 80, targetPort: 8080 }] },
        });
      }
      await http("POST", `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts`, {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Rollout",
        metadata: { name: component.workload.name },
        spec: {
          replicas: 2,
          revisionHistoryLimit: 3,
          ...deadline,
          selector,
          template,
          strategy: {
            blueGreen: {
              activeService: strategy.activeService,
              previewService: strategy.previewService,
              autoPromotionEnabled: false,
              scaleDownDelaySeconds: 0,
            },
          },
        },
      });
    } else if (component.workload.kind === "Deployment") {
      await http("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: component.workload.name },
        spec: { replicas: 2, selector, template, ...deadline },
      });
    } else {
      throw new Error(
        `the simulated cluster cannot create ${component.workload.kind} "${component.workload.name}" with a ${strategy.type} strategy; use blue-green Rollouts or Deployments`,
      );
    }
  }
}

/**
 * Waits until every workload of the environment is Healthy (its first version served, nothing under way), as a demo
 * world laid out by seedDemoWorld becomes once the simulated controllers have made its pods ready. Until then a
 * release is rightly refused (the environment is not stable), so a simulated cluster is handed over only after this:
 * on a busy machine `rollway sim --detach` returned first, and the quick start's first deploy was refused.
 */
export async function waitUntilServed(
  client: RolloutClient,
  environment: Environment,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  await Promise.all(
    listComponents(environment).map(async ({ component }) =>
      client.waitFor(
        await client.target(component.workload.name, environment.namespace),
        (status) => status.phase === "Healthy",
        { timeout: options.timeoutMs ?? 120_000 },
      ),
    ),
  );
}
