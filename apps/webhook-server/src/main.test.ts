/**
 * The container's entrypoint as an operator meets it: the built `dist/main.js` started with a bad setting stops
 * before listening, and its one stderr line names the variable and the error's code; the exit status is the code's
 * (`CONFIG_INVALID` → 2, from the one map in @rollway/release/error-codes). Secrets in a bad variable are not echoed.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { exitCodeOfCode } from "@rollway/release/error-codes";
import { describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** The server binary with only these variables (no cluster, no inherited ROLLWAY_*). */
const start = (env: Record<string, string>) =>
  spawnSync(process.execPath, [main], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", ...env },
    timeout: 30_000,
  });

describe("rollway-webhook-server start-up with a bad setting", () => {
  it("names the variable and CONFIG_INVALID on stderr and exits with the code's exit status (2)", () => {
    const r = start({ ROLLWAY_PORT: "not-a-port" });
    expect(exitCodeOfCode("CONFIG_INVALID")).toBe(2);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^rollway-webhook-server: CONFIG_INVALID: invalid server configuration:\n {2}ROLLWAY_PORT \(port\): .+\n$/,
    );
  });

  it("says the same of a variable holding secrets without echoing its content", () => {
    const r = start({ ROLLWAY_TOKENS: "[{not json secret-token-value-0123456789" });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      "rollway-webhook-server: CONFIG_INVALID: ROLLWAY_TOKENS: expected a JSON array (its content is not shown because it holds secrets)\n",
    );
  });

  it("says so of a config file it cannot read, naming ROLLWAY_CONFIG", () => {
    const r = start({ ROLLWAY_CONFIG: "/nonexistent/rollway-server.yaml" });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      "rollway-webhook-server: CONFIG_INVALID: ROLLWAY_CONFIG: cannot read /nonexistent/rollway-server.yaml: ENOENT\n",
    );
  });
});
