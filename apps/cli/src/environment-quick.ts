/**
 * The quick read of an environment file (plain YAML, checked by the schema's generated shape: neither `yaml` nor zod
 * is loaded), in a chunk of its own: imported by `environment-file.ts` when its cache has no entry.
 */
import { quickEnvironmentYaml } from "@rollway/release";

export { quickEnvironmentYaml };
