/** The direct (kubeconfig) mode: a rollout client, the release engine's API connection and the engine over them. */

import { createReleaseEngine, type KubeApi, openKubeApi, type ReleaseEngine } from "@rollway/release";
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
  const api = await openKubeApi(scope).catch((error: unknown) => {
    client.close();
    throw error;
  });
  return {
    client,
    api,
    engine: createReleaseEngine({ client, api }),
    close() {
      client.close();
      api.close();
    },
  };
}
