import { defineConfig } from "vitest/config";

// End-to-end tests start a kube-sim per test; on a loaded 2-core CI machine a few seconds can pass before the
// first byte, so the per-test limit is generous. Nothing here sleeps: time is driven on kube-sim's clock.
export default defineConfig({
  test: { testTimeout: 20_000, hookTimeout: 20_000 },
});
