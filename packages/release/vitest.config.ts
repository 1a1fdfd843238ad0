import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

export default defineConfig({
  ...sourceConditions,
  test: {
    // Generous: the machine running the tests is often shared, and crash tests start a second Node process.
    testTimeout: 120_000,
    hookTimeout: 30_000,
    // The kube-sim tests mostly wait on the simulated cluster (I/O, timers), so three files run side by side even on
    // two cores; vitest's default on two cores is one at a time.
    maxWorkers: 3,
    minWorkers: 1,
  },
});
