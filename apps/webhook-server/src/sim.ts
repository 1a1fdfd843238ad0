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
import { listComponents } from "@rollway/release";
import {
  demoEnvironment,
  demoStartImage,
  DEMO_ENVIRONMENT_YAML as RELEASE_DEMO_YAML,
  seedDemoWorld,
  waitUntilServed,
} from "@rollway/release/demo";
import { connect } from "@rollway/rollout-client";
import { type ServerConfig, ServerConfigSchema } from "./config.js";
import { type RunningServer, type StartOptions, startServer } from "./server.js";

export const DEMO_NAMESPACE: string = demoEnvironment().namespace;

/** The demo environment: release's examples/demo-environment.yaml, the one demo world (`@rollway/release/demo`). */
export const DEMO_ENVIRONMENT_YAML: string = RELEASE_DEMO_YAML;

/** The images running before any release, per component. */
export const DEMO_IMAGES: Record<string, string> = Object.fromEntries(
  listComponents(demoEnvironment()).map(({ name, component }) => [name, demoStartImage(name, component.container)]),
);

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
    const environment = demoEnvironment();
    await seedDemoWorld(sim.url, environment);
    // Handed over once served: before, a deploy is refused (the environment is not stable).
    const client = await connect({ kubeconfig: { yaml: sim.kubeconfig } });
    await waitUntilServed(client, environment).finally(() => client.close());
  } catch (error) {
    await close();
    throw error;
  }
  return { sim, environmentFile, close, [Symbol.asyncDispose]: close };
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
