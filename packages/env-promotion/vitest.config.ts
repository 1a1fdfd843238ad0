import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

export default defineConfig({
  ...sourceConditions,
  test: {
    // Tests drive real git processes; on a busy 2-core machine one test can take several seconds.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Test files mostly wait on git child processes, so more workers than cores still shortens the run.
    maxWorkers: 3,
    minWorkers: 1,
  },
});
