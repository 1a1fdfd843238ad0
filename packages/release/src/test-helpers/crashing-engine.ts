/** Test resource: a release engine in a child process (crash-engine.mjs) that a test kills with SIGKILL. */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import type { ReleaseEvent } from "../events.js";
import { BACKENDS, demoEnvironmentInput } from "./demo-world.js";

export const NEW_OTHER = "my-registry/image-for-other-backends:tag";
export const BACKENDS_USED = BACKENDS.slice(0, 3);

/** Starts an engine in a child process and resolves with the first event of `type` it prints. */
export function crashingEngine(
  kubeconfigPath: string,
  payload: object,
): { child: ChildProcess; reached(type: string): Promise<ReleaseEvent> } {
  const script = fileURLToPath(new URL("./crash-engine.mjs", import.meta.url));
  const child = spawn(
    process.execPath,
    [
      script,
      kubeconfigPath,
      JSON.stringify(demoEnvironmentInput({ backends: BACKENDS_USED })),
      JSON.stringify(payload),
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return {
    child,
    reached: (type) =>
      new Promise((resolve, reject) => {
        lines.on("line", (line) => {
          const event = JSON.parse(line) as ReleaseEvent;
          if (event.type === type) resolve(event);
        });
        child.on("exit", (code) =>
          reject(new Error(`the engine process exited (${code}) before "${type}": ${stderr}`)),
        );
      }),
  };
}

export const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
