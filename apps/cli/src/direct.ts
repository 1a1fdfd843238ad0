/** The direct (kubeconfig) mode: a rollout client, the release engine's API connection and the release runner over them. */

import {
  createReleaseEngine,
  createReleaseRunner,
  type KubeApi,
  openKubeApi,
  type ReleaseEngine,
} from "@rollway/release";
import { connect, type RolloutClient } from "@rollway/rollout-client";

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Direct {
  client: RolloutClient;
  api: KubeApi;
  engine: ReleaseEngine;
  close(): void;
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
  const client = await connect(scope);
  // One process, one connection: the engine's own requests share the client's (its sockets, retries, errors).
  const api = await openKubeApi({ connection: client.connection });
  return {
    client,
    api,
    // The package's lifecycle: the same event log and delivery claims in the cluster as a release run by the server.
    engine: createReleaseRunner({ engine: createReleaseEngine({ client, api }), api }),
    close() {
      client.close();
      api.close();
    },
  };
}
