import { defineConfig } from "vitest/config";

// The tests run the bundle as the runner does, against kube-sim and the webhook server, on a busy 2-core machine.
export default defineConfig({ test: { testTimeout: 60_000, hookTimeout: 60_000 } });
