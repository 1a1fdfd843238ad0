/**
 * Test resource: `rollway sim --detach --json` (the documented recipe: the sim in the background, its variables in
 * this environment) and a temp dir, for all the tests of a file: started before the first, stopped and deleted after
 * the last.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { bin } from "./run-cli.js";

export interface DetachedSim {
  /** A temp dir for the file's payloads. */
  dir: string;
  /** KUBECONFIG and ROLLWAY_ENV for the commands under test (filled in before the first test). */
  env: { KUBECONFIG: string; ROLLWAY_ENV: string };
}

/** `simArgs`: more flags for `rollway sim` (`--ready-delay 50`, `--crash :crash`...). */
export function detachedSimForFile(name: string, simArgs: string[]): DetachedSim {
  const sim: DetachedSim = {
    dir: mkdtempSync(join(tmpdir(), `rollway-${name}-`)),
    env: { KUBECONFIG: "", ROLLWAY_ENV: "" },
  };
  let pid = 0;
  beforeAll(() => {
    const r = spawnSync(process.execPath, [bin, "sim", "--detach", "--json", ...simArgs], { encoding: "utf8" });
    const started = JSON.parse(r.stdout) as { kubeconfig: string; environment: string; pid: number };
    pid = started.pid;
    sim.env.KUBECONFIG = started.kubeconfig;
    sim.env.ROLLWAY_ENV = started.environment;
  });
  afterAll(() => {
    if (pid) process.kill(pid, "SIGTERM");
    rmSync(sim.dir, { recursive: true, force: true });
  });
  return sim;
}
