/**
 * Test resources: the built binary run as a user would (NO_COLOR, no TTY), and `rollway sim` in its own process as
 * the cluster, stopped (and its files deleted) when the suite ends.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const bin = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function rollway(args: string[], options: { input?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], {
    input: options.input,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...options.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The binary in the background, for commands that run while the test does other things. */
export function rollwayAsync(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): { child: ChildProcess; done: Promise<CliResult>; stdout(): string } {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: "1", ...env } });
  child.stdin?.end(input ?? "");
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<CliResult>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

/** Resolves once the background command has printed text matching `pattern` (checked on each chunk it writes). */
export function waitForOutput(
  run: ReturnType<typeof rollwayAsync>,
  pattern: RegExp,
  timeoutMs = 20_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = run.stdout().match(pattern);
      if (!match) return false;
      cleanup();
      resolve(match);
      return true;
    };
    const onClose = () => {
      if (!check()) {
        cleanup();
        reject(new Error(`the command ended before printing ${pattern}:\n${run.stdout()}`));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${run.stdout()}`));
    }, timeoutMs);
    const onData = () => {
      // The helper's own listener appends first, as it was attached first.
      check();
    };
    const cleanup = () => {
      clearTimeout(timer);
      run.child.stdout?.off("data", onData);
      run.child.off("close", onClose);
    };
    run.child.stdout?.on("data", onData);
    run.child.on("close", onClose);
    check();
  });
}

export interface SimProcess {
  url: string;
  kubeconfig: string;
  environment: string;
  payload: string;
  /** KUBECONFIG and ROLLWAY_ENV for the commands under test. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** `rollway sim --json` in the background, as a user would start it. */
export async function startSimProcess(): Promise<SimProcess> {
  const run = rollwayAsync(["sim", "--json", "--ready-delay", "50"]);
  const [line] = await waitForOutput(run, /^\{.*\}\n/);
  const info = JSON.parse(line) as { url: string; kubeconfig: string; environment: string; payload: string };
  return {
    ...info,
    env: { KUBECONFIG: info.kubeconfig, ROLLWAY_ENV: info.environment },
    async stop() {
      run.child.kill("SIGTERM");
      await run.done;
    },
  };
}
