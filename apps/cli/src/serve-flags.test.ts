/**
 * `rollway serve` runs the webhook server with the server's Node flags (SERVER_NODE_FLAGS, the image's ENTRYPOINT
 * flags, e.g. `--no-memory-reducer`), which only Node's command line can set: the built binary, started without them
 * as a user starts it, runs itself again with them (replacing itself where Node has process.execve, Node >= 22.15, as
 * a child otherwise). What a user sees must not change: the JSON line, the exit code, signals. Run on Node 20 (the
 * child) and on Node 24 (`test:node24`: process.execve).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { SERVER_NODE_FLAGS } from "@rollway/webhook-server/node-flags";
import { afterEach, describe, expect, it } from "vitest";
import { bin } from "./test-helpers/run-cli.js";

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  line: Promise<string>;
}

const started: ChildProcess[] = [];
afterEach(() => {
  // The whole tree: on Node < 22.15 the server is a child in its own process group, which outlives a killed parent.
  for (const child of started.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    let pids: number[] = [child.pid as number];
    try {
      pids = tree(child.pid as number).map((p) => p.pid);
    } catch {
      // already gone
    }
    for (const pid of pids.reverse()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
});

/** The built binary with no Node flags of its own, as the `rollway` command starts it. */
function serve(args: string[], env: Record<string, string> = {}, nodeFlags: readonly string[] = []): Run {
  const child = spawn(process.execPath, [...nodeFlags, bin, "serve", ...args], {
    env: { ...process.env, NO_COLOR: "1", ROLLWAY_TOKENS: "[]", RECHECK_BACKEND: "pure", ...env },
  });
  started.push(child);
  let stdout = "";
  let stderr = "";
  let gotLine: (line: string) => void = () => {};
  const line = new Promise<string>((resolve) => {
    gotLine = resolve;
  });
  child.stdout?.on("data", (d) => {
    stdout += d;
    // The command's own line (the server's JSON logs share standard output).
    const own = stdout.split("\n").find((l) => l.startsWith('{"ok"'));
    if (own) gotLine(own);
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<Awaited<Run["done"]>>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, line: Promise.race([line, done.then((d) => `(ended: ${d.code} ${d.stderr})`)]) };
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The started process and every process under it (Linux /proc), with their command lines. */
function tree(pid: number): { pid: number; argv: string[] }[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  return [{ pid, argv: cmdline(pid) }, ...children.flatMap((c) => tree(Number(c)))];
}

/** The one process of the tree that serves: started with the server's flags. */
function serving(run: Run) {
  const withFlags = tree(run.child.pid as number).filter((p) =>
    SERVER_NODE_FLAGS.every((flag) => p.argv.includes(flag)),
  );
  expect(withFlags).toHaveLength(1);
  return withFlags[0] as { pid: number; argv: string[] };
}

describe.runIf(process.platform === "linux")("rollway serve and the server's Node flags", () => {
  it("serves from a process started with every server flag, and SIGTERM stops it gracefully (exit 0, nothing left)", async () => {
    const run = serve(["--port", "0", "--host", "127.0.0.1", "--json"]);
    const { ok, url } = JSON.parse(await run.line) as { ok: boolean; url: string };
    expect(ok).toBe(true);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const server = serving(run);
    // Replaced in place where Node can (same pid), else a child.
    expect(server.pid === run.child.pid).toBe(typeof (process as { execve?: unknown }).execve === "function");
    // The same command, arguments and all, only with the flags.
    expect(server.argv.slice(-6)).toEqual([bin, "serve", "--port", "0", "--host", "127.0.0.1", "--json"].slice(-6));
    run.child.kill("SIGTERM");
    const done = await run.done;
    expect(done).toMatchObject({ code: 0, signal: null });
    expect(done.stdout.split("\n").filter((l) => l.startsWith('{"ok"'))).toHaveLength(1);
    expect(alive(server.pid)).toBe(false);
  });

  it("Ctrl-C (SIGINT) stops it gracefully once: exit 0", async () => {
    const run = serve(["--port", "0", "--host", "127.0.0.1", "--json"]);
    const { url } = JSON.parse(await run.line) as { url: string };
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    run.child.kill("SIGINT");
    expect(await run.done).toMatchObject({ code: 0, signal: null });
  });

  it("a bad setting exits with its code and message as before (CONFIG_INVALID, exit 2), printed once", async () => {
    const run = serve(["--port", "0", "--host", "127.0.0.1"], { ROLLWAY_TOKENS: "not json" });
    const done = await run.done;
    expect(done.code).toBe(2);
    expect(done.stderr.match(/ROLLWAY_TOKENS/g)?.length).toBeGreaterThan(0);
    // One process reported it, not the server and again a parent.
    expect(done.stderr.split("\n").filter((l) => l.startsWith("rollway:"))).toHaveLength(1);
  });

  it("a server killed by a signal is a command killed by that signal", async () => {
    const run = serve(["--port", "0", "--host", "127.0.0.1", "--json"]);
    await run.line;
    process.kill(serving(run).pid, "SIGKILL");
    expect(await run.done).toMatchObject({ code: null, signal: "SIGKILL" });
  });

  it("started with the flags already (as the image's ENTRYPOINT does), it serves in that same process", async () => {
    const run = serve(["--port", "0", "--host", "127.0.0.1", "--json"], {}, SERVER_NODE_FLAGS);
    expect(JSON.parse(await run.line)).toMatchObject({ ok: true });
    expect(tree(run.child.pid as number)).toHaveLength(1);
    run.child.kill("SIGTERM");
    expect(await run.done).toMatchObject({ code: 0, signal: null });
  });
});
