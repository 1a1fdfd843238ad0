/**
 * What every package's vitest config shares: the `@rollway/source` export condition first, so an import of another
 * rollway package (or of the package itself) runs its `src`, never a `dist` that may be stale; and the vitest
 * `test` task no longer waits for builds. Packages are published with `dist` as before: the condition is only set
 * here, in tsconfig.base.json (`customConditions`, for typecheck) and by nothing a user runs.
 */
import { defaultServerConditions, type UserConfig } from "vite";

const conditions = ["@rollway/source", ...defaultServerConditions];

export const sourceConditions = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
} satisfies UserConfig;
