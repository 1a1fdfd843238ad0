import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

// The tests run the bundle as the runner does, against kube-sim and the webhook server, on a busy 2-core machine.
export default defineConfig({
  ...sourceConditions,
  test: { testTimeout: 60_000, hookTimeout: 60_000 },
});
