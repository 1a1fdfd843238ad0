/** A child process that tests start, and stop for sure: SIGTERM, then SIGKILL if it lingers. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ProcessResource {
  child: ChildProcess;
  /** Everything it wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export function startProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; installHint: string },
): Promise<ProcessResource> {
  return new Promise((resolve, reject) => {
    let output = "";
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new Error(`${command} is not installed: ${options.installHint}`)
          : new Error(`cannot start ${command}: ${error.message}`),
      );
    });
    child.once("spawn", () =>
      resolve({
        child,
        output: () => output,
        stop: () => stopChild(child),
      }),
    );
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Resolves when `ready` says so on the process's output, rejects if it exits first. */
export function waitForOutput(resource: ProcessResource, ready: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (ready.test(resource.output())) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${what} exited (code ${code}) before it was ready:\n${resource.output()}`));
    };
    const cleanup = () => {
      resource.child.stdout?.off("data", check);
      resource.child.stderr?.off("data", check);
      resource.child.off("exit", onExit);
    };
    resource.child.stdout?.on("data", check);
    resource.child.stderr?.on("data", check);
    resource.child.once("exit", onExit);
    check();
  });
}

/** How to start a process, and when it is ready (rejecting when it is not). */
export interface ProcessStart {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv | undefined;
  installHint: string;
  ready(process: ProcessResource): Promise<void>;
}

/**
 * A process whose state lives in a fresh temp folder: `prepare` writes what it needs there and says how to start it.
 * `stop()` ends it and removes the folder; a start that fails does both before it throws.
 */
export async function startInTempDir(
  prefix: string,
  prepare: (dir: string) => Promise<ProcessStart>,
): Promise<{ stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  try {
    const start = await prepare(dir);
    const started = await startProcess(start.command, start.args, { env: start.env, installHint: start.installHint });
    try {
      await start.ready(started);
    } catch (error) {
      await started.stop();
      throw error;
    }
    return {
      async stop() {
        await started.stop();
        await removeDir();
      },
    };
  } catch (error) {
    await removeDir();
    throw error;
  }
}
