import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

// End-to-end tests start a kube-sim per test; on a loaded 2-core CI machine a few seconds can pass before the
// first byte, so the per-test limit is generous. Nothing here sleeps: time is driven on kube-sim's clock.
// isolate: false lets the test files of a worker share one load of client-node and kube-sim (module loading was
// half of the suite's time); every test builds its own servers and cleans them up, so no state is shared.
export default defineConfig({
  ...sourceConditions,
  test: { testTimeout: 20_000, hookTimeout: 20_000, isolate: false },
});
