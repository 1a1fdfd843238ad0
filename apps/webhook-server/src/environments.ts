/**
 * Which environment a `/projects/{project}/environments/{environment}` URL releases to: an environment file read
 * once at start (a bad file stops the server with its problems), or discovery from the labels of the objects in a
 * namespace, read at each deploy (so a new labelled backend is picked up without a restart).
 */
import { readFileSync } from "node:fs";
import {
  discoverEnvironment,
  type Environment,
  type KubeObject,
  LABEL_COMPONENT,
  parseEnvironmentYaml,
} from "@rollway/release";
import type { Connection } from "@rollway/rollout-client";
import { ConfigError, type EnvironmentSource } from "./config.js";

/** What discovery lists: every kind an environment can be made of (`rollway.dev/component` labelled). */
export const DISCOVERY_PATHS = [
  (ns: string) => `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts`,
  (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  (ns: string) => `/apis/flagger.app/v1beta1/namespaces/${ns}/canaries`,
  (ns: string) => `/apis/batch/v1/namespaces/${ns}/jobs`,
  (ns: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
] as const;

export interface Environments {
  /** The environment, or undefined when none is configured for this project and name. */
  resolve(project: string, environment: string): Promise<Environment | undefined>;
  /** The configured places: the URL's project and environment, the environment's name and namespace. */
  list(): { project: string; environment: string; name: string; namespace: string }[];
}

export function loadEnvironments(sources: readonly EnvironmentSource[], api?: Connection): Environments {
  const fixed = new Map<string, Environment>();
  const discovered = new Map<string, Extract<EnvironmentSource, { discover: unknown }>>();
  const key = (project: string, environment: string) => `${project}/${environment}`;
  for (const source of sources) {
    if ("file" in source) {
      let text: string;
      try {
        text = readFileSync(source.file, "utf8");
      } catch (error) {
        throw new ConfigError(
          `environment ${source.project}/${source.environment}: cannot read ${source.file}: ${(error as NodeJS.ErrnoException).code}`,
          { cause: error },
        );
      }
      try {
        fixed.set(key(source.project, source.environment), parseEnvironmentYaml(text, { source: source.file }));
      } catch (error) {
        throw new ConfigError(`environment ${source.project}/${source.environment}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    } else {
      discovered.set(key(source.project, source.environment), source);
    }
  }
  return {
    async resolve(project, environment) {
      const found = fixed.get(key(project, environment));
      if (found) return found;
      const source = discovered.get(key(project, environment));
      if (!source || !api) return undefined;
      const ns = source.discover.namespace;
      const lists = await Promise.all(
        DISCOVERY_PATHS.map((path) =>
          api.request<{ items: KubeObject[]; kind: string; apiVersion: string }>({
            method: "GET",
            path: path(ns),
            query: { labelSelector: LABEL_COMPONENT },
            resource: { kind: `objects labelled ${LABEL_COMPONENT}`, namespace: ns },
          }),
        ),
      );
      // Lists do not repeat kind and apiVersion on their items; discovery needs them.
      const objects = lists.flatMap((list) =>
        list.items.map((item) => ({
          ...item,
          kind: item.kind ?? list.kind.replace(/List$/, ""),
          apiVersion: item.apiVersion ?? list.apiVersion,
          metadata: { ...item.metadata, namespace: item.metadata.namespace ?? ns },
        })),
      );
      return discoverEnvironment(objects, {
        name: environment,
        namespace: ns,
        ...(source.discover.host ? { host: source.discover.host } : {}),
      });
    },
    list() {
      return [
        ...[...fixed].map(([k, env]) => {
          const [project = "", environment = ""] = k.split("/");
          return { project, environment, name: env.name, namespace: env.namespace };
        }),
        ...[...discovered.values()].map((s) => ({
          project: s.project,
          environment: s.environment,
          name: s.environment,
          namespace: s.discover.namespace,
        })),
      ];
    },
  };
}
