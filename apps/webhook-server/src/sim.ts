/**
 * `rollway serve --sim`: the server against kube-sim holding the demo environment (seed 000's example: a frontend
 * and five blue-green backends in namespace `demo`, manual promotion, code as data), for the README demo and tests.
 * Everything runs in this process on loopback; nothing outside is touched.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultCrdSources, type KubeSim, startKubeSim } from "@rollway/kube-sim";
import { type ServerConfig, ServerConfigSchema } from "./config.js";
import { type RunningServer, type StartOptions, startServer } from "./server.js";

export const DEMO_NAMESPACE = "demo";

/** The demo environment (release's examples/demo-environment.yaml, as the README demo uses it). */
export const DEMO_ENVIRONMENT_YAML = `apiVersion: rollway.dev/v1alpha1
kind: Environment
name: demo
namespace: ${DEMO_NAMESPACE}
host: demo.example.com
previewHost: preview.demo.example.com
noDowntime: true
promotion:
  mode: manual
  readyTimeoutSeconds: 300
frontend:
  workload: { kind: Rollout, name: frontend }
  container: frontend
  strategy: { type: blueGreen, activeService: frontend, previewService: frontend-preview }
backends:
${["backend-1", "backend-2", "backend-3", "backend-4", "backend-5"]
  .map(
    (b) => `  ${b}:
    workload: { kind: Rollout, name: ${b} }
    container: backend
    strategy: { type: blueGreen, activeService: ${b}, previewService: ${b}-preview }`,
  )
  .join("\n")}
codeAsData:
  container: codeasdata
  timeoutSeconds: 600
  job:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: codeasdata
              args: ["sync"]
`;

/** The images running before any release. */
export const DEMO_IMAGES: Record<string, string> = {
  frontend: "my-registry/image-for-frontend:1.0",
  "backend-1": "my-registry/image-for-backend-1:1.0",
  "backend-2": "my-registry/image-for-other-backends:1.0",
  "backend-3": "my-registry/image-for-other-backends:1.0",
  "backend-4": "my-registry/image-for-other-backends:1.0",
  "backend-5": "my-registry/image-for-other-backends:1.0",
};

export interface DemoCluster extends AsyncDisposable {
  sim: KubeSim;
  /** The demo environment as a file, for `environments: [{ project, environment, file }]`. */
  environmentFile: string;
  close(): Promise<void>;
}

/** kube-sim with the demo environment's workloads, all healthy. */
export async function startDemoCluster(options: { readyDelayMs?: number } = {}): Promise<DemoCluster> {
  const dir = mkdtempSync(join(tmpdir(), "rollway-sim-"));
  const environmentFile = join(dir, "demo.demo.yaml");
  writeFileSync(environmentFile, DEMO_ENVIRONMENT_YAML);
  const sim = await startKubeSim({
    namespace: DEMO_NAMESPACE,
    readyDelayMs: options.readyDelayMs ?? 200,
    jobRunMs: options.readyDelayMs ?? 200,
    crds: defaultCrdSources(),
  });
  const close = async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await seedDemoWorld(sim.url);
  } catch (error) {
    await close();
    throw error;
  }
  return { sim, environmentFile, close, [Symbol.asyncDispose]: close };
}

async function seedDemoWorld(url: string): Promise<void> {
  const send = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`kube-sim refused POST ${path}: HTTP ${res.status}: ${await res.text()}`);
  };
  const ns = DEMO_NAMESPACE;
  await send("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  for (const [name, image] of Object.entries(DEMO_IMAGES)) {
    for (const svc of [name, `${name}-preview`])
      await send(`/api/v1/namespaces/${ns}/services`, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: svc },
        spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      });
    await send(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts`, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name },
      spec: {
        replicas: 2,
        revisionHistoryLimit: 3,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              { name: name === "frontend" ? "frontend" : "backend", image, ports: [{ containerPort: 8080 }] },
            ],
          },
        },
        strategy: {
          blueGreen: {
            activeService: name,
            previewService: `${name}-preview`,
            autoPromotionEnabled: false,
            scaleDownDelaySeconds: 0,
          },
        },
      },
    });
  }
}

export interface SimServer extends RunningServer {
  cluster: DemoCluster;
  /** The tokens to use: generated unless given. */
  tokens: { deploy: string; approve: string };
  /** The URL of the demo environment: `<url>/v1/projects/demo/environments/demo`. */
  base: string;
}

/**
 * `rollway serve --sim`: kube-sim with the demo environment, and the server against it. `shutdown()` stops both.
 * The demo is project `demo`, environment `demo`.
 */
export async function startSimServer(
  options: {
    config?: Partial<ServerConfig>;
    tokens?: { deploy?: string; approve?: string };
    readyDelayMs?: number;
  } & Pick<StartOptions, "logDestination"> = {},
): Promise<SimServer> {
  const cluster = await startDemoCluster(
    options.readyDelayMs === undefined ? {} : { readyDelayMs: options.readyDelayMs },
  );
  const tokens = {
    deploy: options.tokens?.deploy ?? `deploy-${randomBytes(16).toString("hex")}`,
    approve: options.tokens?.approve ?? `approve-${randomBytes(16).toString("hex")}`,
  };
  try {
    const config = ServerConfigSchema.parse({
      host: "127.0.0.1",
      port: 8080,
      tokens: [
        { scope: "deploy", project: "demo", environment: "demo", tokens: [tokens.deploy] },
        { scope: "approve", project: "demo", environment: "demo", tokens: [tokens.approve] },
      ],
      environments: [{ project: "demo", environment: "demo", file: cluster.environmentFile }],
      ...options.config,
    });
    const server = await startServer(config, {
      kubeconfig: { yaml: cluster.sim.kubeconfig },
      cancelReleasesOnShutdown: true,
      ...(options.logDestination ? { logDestination: options.logDestination } : {}),
    });
    let stopped: Promise<void> | undefined;
    const shutdown = () => {
      stopped ??= server.shutdown().finally(() => cluster.close());
      return stopped;
    };
    return {
      url: server.url,
      config: server.config,
      get inFlight() {
        return server.inFlight;
      },
      cluster,
      tokens,
      base: `${server.url}/v1/projects/demo/environments/demo`,
      shutdown,
      [Symbol.asyncDispose]: shutdown,
    };
  } catch (error) {
    await cluster.close();
    throw error;
  }
}
