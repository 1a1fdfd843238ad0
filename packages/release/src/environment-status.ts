/**
 * An environment's status: every component's workload status and the newest release. Its own module, apart from the
 * engine, so a caller that only reads it (`rollway status`) does not load the release engine.
 */
import {
  type Connection,
  findTargets,
  type RolloutClient,
  readStatuses,
  type WorkloadStatus,
} from "@rollway/rollout-client";
import type { Environment } from "./environment.js";
import { listComponents } from "./environment-components.js";
import { listRecords, type ReleaseRecord } from "./records.js";

/** What `status` reads: the same for the CLI, the server and the Action. */
export interface EnvironmentStatus {
  environment: string;
  namespace: string;
  /** The newest release of the environment, if any. */
  release: ReleaseRecord | undefined;
  components: ComponentStatus[];
}

export type ComponentStatus = WorkloadStatus & { component: string };

/** Reads every component's status (frontend first, then the backends) and the environment's newest release. */
export async function readEnvironmentStatus(
  client: RolloutClient,
  api: Connection,
  environment: Environment,
): Promise<EnvironmentStatus> {
  const namespace = environment.namespace;
  const listed = listComponents(environment);
  // The ReplicaSets every Rollout's and Deployment's status needs, listed while the targets are looked up (one round
  // trip less before the answer). A failure is the caller's when the list is used, never an unhandled rejection.
  const kinds = new Set(listed.map(({ component }) => component.workload.kind));
  const lists = new Map<"ReplicaSet", Promise<{ metadata: { name: string } }[]>>();
  if (kinds.has("Rollout") || kinds.has("Deployment")) {
    const replicaSets = client.connection.objects
      .list<{ metadata: { name: string } }>({ apiVersion: "apps/v1", kind: "ReplicaSet", namespace })
      .then((list) => list.items);
    replicaSets.catch(() => {});
    lists.set("ReplicaSet", replicaSets);
  }
  // One list of Rollouts (and of Canaries) for the whole environment; a component not found there is looked up
  // alone, so its error says why (findTarget's words).
  const found = findTargets(
    client.connection,
    listed.map(({ component }) => component.workload.name),
    namespace,
  );
  const [components, records] = await Promise.all([
    found.then(async ({ targets, rollouts }) => {
      const each = await Promise.all(
        listed.map(
          async ({ component }) =>
            targets.get(component.workload.name) ?? (await client.target(component.workload.name, namespace)),
        ),
      );
      // One LIST per kind for all of them, the Rollouts not read a second time.
      const statuses = await readStatuses(client.connection, each, { namespace, rollouts, lists });
      return listed.map(({ name }, i) => ({ component: name, ...(statuses[i] as WorkloadStatus) }));
    }),
    listRecords(api, namespace, environment.name),
  ]);
  return { environment: environment.name, namespace, release: records[0], components };
}
