import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

// recheck proves each new pattern safe in a few milliseconds on an idle machine, but much longer on a loaded CI
// machine; the test budget follows the checker's own 10 s backstop rather than vitest's 5 s default.
export default defineConfig({
  ...sourceConditions,
  test: { testTimeout: 30_000 },
});
