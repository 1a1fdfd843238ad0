// The system packages the tests need (podman, docker-registry, chromium, kubectl…), set up by every
// scripts/ci/setup-*.sh. Each script checks what is missing and installs it with apt-get.
// - As root on a machine with apt-get, the scripts run as they are: they install what is missing.
// - Otherwise (not root, no apt-get, or ROLLWAY_SETUP=check), each script runs with a stand-in apt-get first on
//   PATH that records what the script would install and installs nothing; the caller prints that list and how to
//   get it, and fails.
// Used by scripts/test.mjs (the README's `npm test`), which .ci/run calls.
import { spawnSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** @param {string} root the repository */
export function setupScripts(root) {
  const dir = join(root, "scripts", "ci");
  return readdirSync(dir)
    .filter((name) => /^setup-.+\.sh$/.test(name))
    .sort()
    .map((name) => join("scripts", "ci", name));
}

function onPath(command, env = process.env) {
  return (env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * @param {string} root the repository
 * @returns {{ mode: "install" | "check", missing: string[], failed: { script: string, output: string }[] }}
 */
export function setupSystem(root, env = process.env) {
  const scripts = setupScripts(root);
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const mode = env.ROLLWAY_SETUP === "check" || !isRoot || !onPath("apt-get", env) ? "check" : "install";
  const missing = new Set();
  const failed = [];
  if (mode === "install") {
    for (const script of scripts) {
      console.log(`setup: ${script}`);
      const r = spawnSync("bash", [script], {
        cwd: root,
        env: { ...env, DEBIAN_FRONTEND: "noninteractive" },
        stdio: "inherit",
      });
      if (r.status !== 0) failed.push({ script, output: `exited with ${r.status ?? r.signal}` });
    }
    return { mode, missing: [], failed };
  }
  // Check: a stand-in apt-get that only writes down the packages asked for.
  const shimDir = mkdtempSync(join(tmpdir(), "rollway-setup-"));
  const record = join(shimDir, "wanted");
  writeFileSync(record, "");
  const shim = join(shimDir, "apt-get");
  writeFileSync(
    shim,
    `#!/bin/sh\n# stand-in for apt-get: records what would be installed\n[ "$1" = install ] || exit 0\nshift\nfor a in "$@"; do case "$a" in -*) ;; *) echo "$a" >> "${record}" ;; esac; done\nexit 0\n`,
  );
  chmodSync(shim, 0o755);
  for (const name of ["sudo"]) {
    // `sudo apt-get …` in a script reaches the stand-in too.
    writeFileSync(join(shimDir, name), '#!/bin/sh\nexec "$@"\n');
    chmodSync(join(shimDir, name), 0o755);
  }
  try {
    for (const script of scripts) {
      const before = readFileSync(record, "utf8");
      const r = spawnSync("bash", [script], {
        cwd: root,
        env: { ...env, PATH: `${shimDir}${delimiter}${env.PATH ?? ""}`, ROLLWAY_SETUP: "check" },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      const asked = readFileSync(record, "utf8").slice(before.length).split("\n").filter(Boolean);
      for (const p of asked) missing.add(p);
      // A script that failed without naming a package to install: report it as it is.
      if (r.status !== 0 && asked.length === 0) failed.push({ script, output: `${r.stdout}${r.stderr}`.trim() });
    }
  } finally {
    rmSync(shimDir, { recursive: true, force: true });
  }
  return { mode, missing: [...missing].sort(), failed };
}

/** What to tell the user when something is missing and could not be installed here. */
export function missingReport(result) {
  const lines = [];
  if (result.missing.length > 0) {
    lines.push(`Missing system packages the tests need: ${result.missing.join(", ")}.`);
    lines.push("Install them (Debian/Ubuntu):");
    lines.push(`  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${result.missing.join(" ")}`);
    lines.push("or run the tests as root on a Debian machine (`sudo npm test`), which installs them itself.");
  }
  for (const f of result.failed)
    lines.push(`${f.script} failed:${f.output ? `\n${f.output.replace(/^/gm, "  ")}` : ""}`);
  return lines.join("\n");
}
