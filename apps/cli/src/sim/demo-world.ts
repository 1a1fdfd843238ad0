/**
 * The simulated cluster of `rollway demo` and `rollway sim`: kube-sim (real clock, short readiness delays) holding
 * the workloads an environment names — each blue-green Rollout with its active and preview Services, each
 * Deployment, and the ConfigMap of each component's current oConfig — on their version 1.0 images, created over
 * HTTP as `kubectl apply` would.
 */
import { defaultCrdSources, type KubeSim, startKubeSim } from "@rollway/kube-sim";
import { parseOConfig, referenceConfigMap, renderConfigMap } from "@rollway/oconfig-versioning";
import { type Environment, listComponents } from "@rollway/release";

/** The image a component runs before the first release: its repository at 1.0, as the seed's example names them. */
export function startImage(component: string, container: string): string {
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

export interface SimOptions {
  readyDelayMs?: number;
  jobRunMs?: number;
  port?: number;
  /** Pods whose image contains this crash on start (CrashLoopBackOff), to see how a stuck release looks. */
  crashImage?: string;
  /** The workloads' `progressDeadlineSeconds` (the controllers' default is 600): when a stuck rollout turns Degraded. */
  progressDeadlineSeconds?: number;
}

/** Starts kube-sim and creates the environment's workloads; every workload is Ready when this resolves. */
export async function startSimWithWorld(environment: Environment, options: SimOptions = {}): Promise<KubeSim> {
  const sim = await startKubeSim({
    namespace: environment.namespace,
    readyDelayMs: options.readyDelayMs ?? 300,
    jobRunMs: options.jobRunMs ?? 300,
    ...(options.port === undefined ? {} : { port: options.port }),
    crds: defaultCrdSources(),
    crashBackoffMs: Math.max(1000, (options.readyDelayMs ?? 300) * 4),
  });
  if (options.crashImage) sim.faults.crashPods({ image: options.crashImage });
  try {
    await seedWorld(sim.url, environment, options.progressDeadlineSeconds);
    return sim;
  } catch (error) {
    await sim.close();
    throw error;
  }
}

async function seedWorld(url: string, environment: Environment, progressDeadlineSeconds?: number): Promise<void> {
  const deadline = progressDeadlineSeconds === undefined ? {} : { progressDeadlineSeconds };
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
    let template = podTemplate(component.workload.name, component.container, startImage(name, component.container));
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
