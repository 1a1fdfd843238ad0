/** The direct (kubeconfig) mode: a rollout client, the release engine's API connection and the release runner over them. */

import { createReleaseEngine, createReleaseRunner, type ReleaseEngine } from "@rollway/release";
import type { Connection, RolloutClient } from "@rollway/rollout-client";
import { type ClusterOptions, openCluster } from "./cluster-connection.js";

export type { ClusterOptions };

export interface Direct {
  client: RolloutClient;
  /** The client's connection: any object (records, Leases, ReplicaSets, pods). */
  api: Connection;
  engine: ReleaseEngine;
  close(): void;
}

export async function openDirect(options: ClusterOptions, kubeconfigYaml?: string): Promise<Direct> {
  const { client, api, leaseDurationSeconds, close } = await openCluster(options, kubeconfigYaml);
  return {
    client,
    api,
    // The package's lifecycle: the same event log and delivery claims in the cluster as a release run by the server.
    engine: createReleaseRunner({
      engine: createReleaseEngine({ client, ...(leaseDurationSeconds ? { leaseDurationSeconds } : {}) }),
      api,
    }),
    close,
  };
}
