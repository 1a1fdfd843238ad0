import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import { describe, expect, it, onTestFinished } from "vitest";
import type { ReleaseEvent } from "./events.js";
import { BACKENDS, demoEnvironmentInput, NS, OLD, releaseSimResource } from "./test-helpers/release-sim.js";

const NEW_OTHER = "my-registry/image-for-other-backends:tag";
const BACKENDS_USED = BACKENDS.slice(0, 3);

/** Starts an engine in a child process and resolves with the first event of `type` it prints. */
function crashingEngine(
  kubeconfigPath: string,
  payload: object,
): { child: ChildProcess; reached(type: string): Promise<ReleaseEvent> } {
  const script = fileURLToPath(new URL("./test-helpers/crash-engine.mjs", import.meta.url));
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

const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });

describe("an engine killed mid-release", () => {
  it("is finished by the next engine: it resumes waiting for the approval, then promotes every component", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const engine1 = crashingEngine(k.sim.kubeconfigPath, JSON.parse(EXAMPLE_PAYLOAD_TEXT));
    const waiting = await engine1.reached("waiting-for-approval");
    await killed(engine1.child);

    const events: ReleaseEvent[] = [];
    const recovering = k.engine.recover("demo", { namespace: NS, wait: true, onEvent: (e) => events.push(e) });
    await k.engine.promote(waiting.release, { by: "alice", namespace: NS });
    const [record] = await recovering;
    expect(record).toMatchObject({ id: waiting.release, state: "promoted", engine: k.engine.identity });
    expect(events[0]).toMatchObject({ type: "resumed", release: waiting.release });
    for (const b of BACKENDS_USED.slice(1)) expect((await k.serving(b)).image).toBe(NEW_OTHER);
  });

  it("is undone by the next engine with the rollback policy: every component back on the old version", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const engine1 = crashingEngine(k.sim.kubeconfigPath, JSON.parse(EXAMPLE_PAYLOAD_TEXT));
    const waiting = await engine1.reached("waiting-for-approval");
    await killed(engine1.child);

    const [record] = await k.engine.recover("demo", { namespace: NS, wait: true, policy: "rollback" });
    expect(record).toMatchObject({ id: waiting.release, state: "aborted" });
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
    for (const b of BACKENDS_USED.slice(1)) expect((await k.serving(b)).image).toBe(OLD.other);
    expect((await k.serving("backend-1")).image).toBe(OLD["backend-1"]);
  });
});
