/** The direct (kubeconfig) mode: a rollout client, the release engine's API connection and the release runner over them. */

import { createReleaseEngine, createReleaseRunner, type ReleaseEngine } from "@rollway/release";
import { type Connection, connect, type RolloutClient } from "@rollway/rollout-client";
import { CliError, ExitCode } from "./output.js";

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Direct {
  client: RolloutClient;
  /** The client's connection: any object (records, Leases, ReplicaSets, pods). */
  api: Connection;
  engine: ReleaseEngine;
  close(): void;
}

/**
 * `ROLLWAY_LEASE_DURATION_SECONDS` (the server's variable too): how long the environment's Lease outlives an engine
 * that stopped renewing it, i.e. how soon `rollway recover` or the next deploy may take its release over. Default 30.
 */
function leaseDurationFromEnv(value = process.env.ROLLWAY_LEASE_DURATION_SECONDS): number | undefined {
  if (value === undefined || value === "") return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new CliError(
      `ROLLWAY_LEASE_DURATION_SECONDS must be a whole number of seconds, at least 1; it is "${value}"`,
      ExitCode.badInput,
      { code: "USAGE" },
    );
  return seconds;
}

export async function openDirect(options: ClusterOptions, kubeconfigYaml?: string): Promise<Direct> {
  const source = kubeconfigYaml
    ? { kubeconfig: { yaml: kubeconfigYaml } }
    : options.kubeconfig
      ? { kubeconfig: { file: options.kubeconfig } }
      : {};
  const scope = {
    ...source,
    ...(options.context ? { context: options.context } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
  };
  const leaseDurationSeconds = leaseDurationFromEnv();
  const client = await connect(scope);
  // One process, one connection: the engine's own requests share the client's (its sockets, retries, errors).
  const api = client.connection;
  return {
    client,
    api,
    // The package's lifecycle: the same event log and delivery claims in the cluster as a release run by the server.
    engine: createReleaseRunner({
      engine: createReleaseEngine({ client, ...(leaseDurationSeconds ? { leaseDurationSeconds } : {}) }),
      api,
    }),
    close() {
      client.close();
    },
  };
}
