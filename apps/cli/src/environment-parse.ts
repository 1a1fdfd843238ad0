/** The environment file's parser and schema: imported by `environment-file.ts` only when its cache has no entry. */
import { parseEnvironmentYaml } from "@rollway/release";

export { parseEnvironmentYaml };
