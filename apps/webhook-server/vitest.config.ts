import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

// Tests drive real servers, kube-sim and child processes; CI runs several packages' suites at once on two cores,
// where one test can take several times longer than on an idle machine.
export default defineConfig({
  ...sourceConditions,
  test: { testTimeout: 30_000, hookTimeout: 30_000 },
});
