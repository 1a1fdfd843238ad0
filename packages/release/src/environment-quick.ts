/**
 * The quick read of an environment file, for a command that reads one file once (the CLI): the common file (plain
 * YAML, valid) is read and validated without loading `yaml` and zod, which cost a first `rollway status` on a file
 * about 30 ms of CPU on Node 24. The checks are the schema's own, generated from it (`environment-shape.generated.ts`),
 * and the same cross-checks; anything this path cannot vouch for (YAML it does not read, a value the shape refuses or
 * cannot judge, an oConfig that needs the located JSON parser, a cross-check problem) gives `undefined`, and the caller
 * runs `parseEnvironmentYaml`, which says what is wrong, and where.
 */
import { isSingleVersionEntry, oConfigIsClean } from "@rollway/oconfig-versioning";
import { readPlainYaml } from "@rollway/rollout-client";
import type { Environment, ValidEnvironment } from "./environment.js";
import { crossCheck, isUntaggedImage } from "./environment-checks.js";
import { ENVIRONMENT_SHAPE } from "./environment-shape.generated.js";
import { checkShape } from "./shape-check.js";

/** The `.refine()` predicates of the environment schema, by the names its shape uses. */
export const ENVIRONMENT_REFINEMENTS = { isUntaggedImage, isSingleVersionEntry };

/**
 * The environment `text` validates to, the same as `parseEnvironmentYaml(text)` returns, when this path is sure of it;
 * `undefined` otherwise (the file may still be valid: `parseEnvironmentYaml` decides).
 */
export function quickEnvironmentYaml(text: string): Environment | undefined {
  const value = readPlainYaml(text);
  if (value === undefined) return undefined;
  const env = checkShape<ValidEnvironment>(ENVIRONMENT_SHAPE, value, ENVIRONMENT_REFINEMENTS);
  if (!env) return undefined;
  for (const component of [env.frontend, ...Object.values(env.backends)]) {
    if (component?.oConfig !== undefined && !oConfigIsClean(component.oConfig, { noDowntime: env.noDowntime }))
      return undefined;
  }
  // Every oConfig is clean (checked just above): the cross-checks need not look into them again.
  if (crossCheck(env, () => []).length > 0) return undefined;
  return { ...env, previewHost: env.previewHost ?? `preview.${env.host}` };
}
