import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.js";

// The tests spawn the built binary and kube-sim; on a busy 2-core machine one spawn can take a second.
// The binaries they run keep validated environment files in a temporary folder, not in the user's ~/.cache.
export default defineConfig({
  ...sourceConditions,
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    env: { ROLLWAY_CACHE_DIR: join(tmpdir(), "rollway-cli-test-cache") },
  },
});
