/**
 * The environment file's parser and schema, in a chunk of their own: imported by `environment-file.ts` when its cache
 * has no entry, and by `rollway validate`.
 */
import { parseEnvironmentYaml } from "@rollway/release";

export { parseEnvironmentYaml };
