import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

export default defineConfig({
  ...sourceConditions,
  test: {
    // Tests drive real git processes (and ssh-keygen); on a busy shared 2-core machine one test has taken 30 s.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    // Test files mostly wait on git child processes, so more workers than cores still shortens the run.
    maxWorkers: 3,
    minWorkers: 1,
  },
});
