/**
 * The cluster connection of the direct (kubeconfig) mode: a rollout client and the engine's API over one connection.
 * Apart from `direct.ts` (which adds the release engine) so a command that only reads, such as `rollway status`,
 * does not load the engine.
 */
import { type Connection, connect, type RolloutClient } from "@rollway/rollout-client";
import { CliError, ExitCode } from "./output.js";

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Cluster {
  client: RolloutClient;
  api: Connection;
  /** `ROLLWAY_LEASE_DURATION_SECONDS`, checked before any cluster is touched. */
  leaseDurationSeconds: number | undefined;
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

export async function openCluster(options: ClusterOptions, kubeconfigYaml?: string): Promise<Cluster> {
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
    leaseDurationSeconds,
    close() {
      client.close();
    },
  };
}
