import { defineConfig } from "vitest/config";

// Tests start loopback receivers, an SMTP server and kube-sim; CI runs several suites at once on two cores.
export default defineConfig({ test: { testTimeout: 30_000, hookTimeout: 30_000 } });
