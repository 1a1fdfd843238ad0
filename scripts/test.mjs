#!/usr/bin/env node
// `npm test`, the README's test command, on a machine with only Node, npm and git:
// 1. the system packages the tests need (scripts/ci/setup-*.sh): installed when this runs as root with apt-get;
//    otherwise the missing ones are named here, at the start, with how to get them, and the run fails;
// 2. pnpm and the workspace's packages (scripts/pnpm.mjs bootstrap);
// 3. every task through turbo: lint, typecheck, tests (also on Node 24), package checks, the container image.
// .ci/run calls exactly this (`npm test`). Arguments go to turbo: `npm test -- --filter=@rollway/release`.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { missingReport, setupSystem } from "./system-setup.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pnpm = (...args) =>
  spawnSync(process.execPath, [join(root, "scripts", "pnpm.mjs"), ...args], { cwd: root, stdio: "inherit" });

const TASKS = ["lint", "typecheck", "test", "test:node24", "test:image"];

const setup = setupSystem(root);
const problems = missingReport(setup);
if (problems) {
  console.error(`\nnpm test: the system is not set up; the run goes on but will fail.\n${problems}\n`);
}

let status = pnpm("bootstrap").status ?? 1;
if (status === 0) {
  status =
    pnpm("exec", "turbo", "run", ...TASKS, "--continue", "--concurrency=4", ...process.argv.slice(2)).status ?? 1;
}
if (problems) {
  console.error(`\nnpm test failed: the system is not set up.\n${problems}`);
  process.exit(1);
}
process.exit(status);
