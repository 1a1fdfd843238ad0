#!/usr/bin/env node
// Runs the pnpm version pinned in package.json's packageManager on a machine that may only have
// Node and npm: a matching pnpm on PATH first, then corepack, then npx. `bootstrap` installs the
// workspace from the lockfile. Used by the README's two commands and by .ci/run.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wanted = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.split("@")[1];
const env = { ...process.env, COREPACK_ENABLE_DOWNLOAD_PROMPT: "0", COREPACK_ENABLE_STRICT: "0" };

function works(cmd, args) {
  const r = spawnSync(cmd, [...args, "--version"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return r.status === 0 && r.stdout.trim() === wanted;
}

function resolvePnpm() {
  if (works("pnpm", [])) return ["pnpm", []];
  if (works("corepack", [`pnpm@${wanted}`])) return ["corepack", [`pnpm@${wanted}`]];
  return ["npx", ["--yes", `pnpm@${wanted}`]];
}

const [cmd, prefix] = resolvePnpm();
const argv = process.argv.slice(2);
const args = argv[0] === "bootstrap" ? ["install", "--frozen-lockfile", "--reporter=append-only"] : argv;
const r = spawnSync(cmd, [...prefix, ...args], { cwd: root, env, stdio: "inherit" });
process.exit(r.status ?? 1);
