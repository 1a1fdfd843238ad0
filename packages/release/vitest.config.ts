import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The end-to-end tests run against kube-sim's source, so they never depend on whether its dist was rebuilt.
    alias: { "@rollway/kube-sim": fileURLToPath(new URL("../kube-sim/src/index.ts", import.meta.url)) },
  },
  test: { testTimeout: 30_000, hookTimeout: 30_000 },
});
