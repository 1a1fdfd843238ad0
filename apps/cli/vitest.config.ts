import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

// The tests spawn the built binary and kube-sim; on a busy 2-core machine one spawn can take a second.
export default defineConfig({
  ...sourceConditions,
  test: { testTimeout: 30_000, hookTimeout: 30_000 },
});
