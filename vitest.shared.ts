/**
 * What every package's vitest config shares: the `@rollway/source` export condition first, so an import of another
 * rollway package (or of the package itself) runs its `src`, never a `dist` that may be stale; and the vitest
 * `test` task no longer waits for builds. Packages are published with `dist` as before: the condition is only set
 * here, in tsconfig.base.json (`customConditions`, for typecheck) and by nothing a user runs.
 */
import { readFileSync } from "node:fs";
import { defaultServerConditions, type Plugin, type UserConfig } from "vite";

const conditions = ["@rollway/source", ...defaultServerConditions];

/** `.yaml` files imported as text, as tsup's `--loader .yaml=text` builds them (e.g. release's demo world). */
const yamlAsText: Plugin = {
  name: "rollway-yaml-as-text",
  load(id) {
    if (!id.endsWith(".yaml")) return null;
    return `export default ${JSON.stringify(readFileSync(id, "utf8"))};`;
  },
};

export const sourceConditions = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  plugins: [yamlAsText],
} satisfies UserConfig;
