/**
 * `rollway sim`: a simulated cluster (kube-sim) with the demo environment's workloads that keeps running until
 * Ctrl-C, plus the files to try every command against it: the kubeconfig, the environment and the seed's payload.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import type { Output } from "../output.js";
import { startSimWithWorld } from "../sim/demo-world.js";
import { DEMO_ENVIRONMENT_TEXT, demoEnvironment } from "./demo.js";

export interface SimOptions {
  port?: number;
  readyDelay: number;
  /** Start kube-sim in the background, print the shell lines that point at it, and exit. */
  detach?: boolean;
  /** Pods whose image contains this crash (CrashLoopBackOff). */
  crash?: string;
  progressDeadline?: number;
}

/** The shell lines of `--detach`: what `eval "$(rollway sim --detach)"` sets. */
function exportLines(started: { kubeconfig: string; environment: string; payload: string; pid: number }): string {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  return [
    `export KUBECONFIG=${q(started.kubeconfig)}`,
    `export ROLLWAY_ENV=${q(started.environment)}`,
    `export ROLLWAY_SIM_PID=${started.pid}`,
    `# payload: ${started.payload}; stop it with: kill $ROLLWAY_SIM_PID`,
    "",
  ].join("\n");
}

/** Runs `rollway sim --json` as a detached process and returns its first line (plus its pid) once it is up. */
async function detach(options: SimOptions, output: Output): Promise<void> {
  const args = [process.argv[1] as string, "sim", "--json", "--ready-delay", String(options.readyDelay)];
  if (options.port !== undefined) args.push("--port", String(options.port));
  if (options.crash !== undefined) args.push("--crash", options.crash);
  if (options.progressDeadline !== undefined) args.push("--progress-deadline", String(options.progressDeadline));
  // No stream of ours stays open in the child: `$(...)` and pipes end when this process does.
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let errors = "";
  child.stderr?.on("data", (d) => {
    errors += d;
  });
  const line = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout?.on("data", (d) => {
      text += d;
      const end = text.indexOf("\n");
      if (end >= 0) resolve(text.slice(0, end));
    });
    child.once("exit", (code) =>
      reject(new Error(`rollway sim exited (code ${code}) before it was ready: ${errors.trim() || "no message"}`)),
    );
  });
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.unref();
  const started = { ...JSON.parse(line), pid: child.pid as number };
  if (output.json) output.out(`${JSON.stringify(started)}\n`);
  else output.out(exportLines(started));
}

export async function simCommand(options: SimOptions, output: Output): Promise<void> {
  if (options.detach) return detach(options, output);
  const environment = demoEnvironment();
  const sim = await startSimWithWorld(environment, {
    readyDelayMs: options.readyDelay,
    jobRunMs: options.readyDelay,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.crash === undefined ? {} : { crashImage: options.crash }),
    ...(options.progressDeadline === undefined ? {} : { progressDeadlineSeconds: options.progressDeadline }),
  });
  const dir = mkdtempSync(join(tmpdir(), "rollway-sim-"));
  const files = {
    kubeconfig: join(dir, "kubeconfig"),
    environment: join(dir, "demo-environment.yaml"),
    payload: join(dir, "payload.json"),
  };
  writeFileSync(files.kubeconfig, sim.kubeconfig, { mode: 0o600 });
  writeFileSync(files.environment, DEMO_ENVIRONMENT_TEXT);
  writeFileSync(files.payload, EXAMPLE_PAYLOAD_TEXT);
  if (output.json) {
    output.out(`${JSON.stringify({ ok: true, url: sim.url, namespace: environment.namespace, ...files })}\n`);
  } else {
    output.out(
      [
        `kube-sim is running at ${sim.url} with the demo environment (namespace ${environment.namespace}).`,
        "",
        `  export KUBECONFIG=${files.kubeconfig}`,
        `  export ROLLWAY_ENV=${files.environment}`,
        `  rollway status`,
        `  rollway deploy ${files.payload}`,
        "  kubectl get rollouts -n demo",
        "",
        "Ctrl-C stops it and deletes these files.",
        "",
      ].join("\n"),
    );
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
  if (!output.json) output.out("kube-sim stopped.\n");
}
