/**
 * The simulated cluster of `rollway demo` and `rollway sim`: kube-sim (real clock, short readiness delays) holding
 * the workloads an environment names, laid out by release's demo world (`@rollway/release/demo`).
 */
import { defaultCrdSources, type KubeSim, startKubeSim } from "@rollway/kube-sim";
import type { Environment } from "@rollway/release";
import { seedDemoWorld, waitUntilServed } from "@rollway/release/demo";
import { openCluster } from "../cluster-connection.js";

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
    await seedDemoWorld(sim.url, environment, { progressDeadlineSeconds: options.progressDeadlineSeconds });
    // Handed over once served: before, `rollway deploy` is refused (the environment is not stable).
    const { client, close } = await openCluster({}, sim.kubeconfig);
    await waitUntilServed(client, environment).finally(close);
    return sim;
  } catch (error) {
    await sim.close();
    throw error;
  }
}
