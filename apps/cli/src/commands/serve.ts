/**
 * `rollway serve`: the webhook server (the same as the container image), configured by ROLLWAY_* variables.
 * `--sim` runs it against kube-sim holding the demo environment (project `demo`, environment `demo`), with tokens
 * generated for the session: a server to try the API, the CLI's `--server` mode or the GitHub Action against.
 */
import { spawn } from "node:child_process";
import { missingServerFlags } from "@rollway/webhook-server/node-flags";
import { CliError, ExitCode, type Output } from "../output.js";

export interface ServeOptions {
  port?: string;
  host?: string;
  kubeconfig?: string;
  sim?: boolean;
  readyDelay?: number;
}

/** Signals passed on to the server when it runs as a child (Node < 22.15, see runWithServerFlags). */
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Runs this same command again on Node with the server's flags (`SERVER_NODE_FLAGS`, e.g. `--no-memory-reducer`),
 * which work only on Node's command line, when this process was started without them: the server then runs as it does
 * in the image. Where Node can (`process.execve`, Node >= 22.15) the process is replaced: same pid, same standard
 * streams, signals and exit code its own. Elsewhere the server runs as a child in its own process group (so a
 * terminal's Ctrl-C reaches it once, through this process, not twice), with SIGINT, SIGTERM and SIGHUP passed on and
 * its exit code or signal passed back. Resolves never when it ran again; returns when the flags are already there.
 */
async function runWithServerFlags(): Promise<void> {
  const missing = missingServerFlags();
  const script = process.argv[1];
  if (missing.length === 0 || script === undefined) return;
  const argv = [...process.execArgv, ...missing, script, ...process.argv.slice(2)];
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve === "function") execve.call(process, process.execPath, [process.execPath, ...argv], process.env);
  const child = spawn(process.execPath, argv, { stdio: "inherit", detached: true });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  await new Promise<never>((_, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      // The child's death by a signal is this process's too (the shell then reports it alike), else its exit code.
      if (signal) process.kill(process.pid, signal);
      else process.exit(code ?? 1);
    });
  });
}

export async function serveCommand(options: ServeOptions, output: Output): Promise<void> {
  await runWithServerFlags();
  // Listening for SIGINT and SIGTERM before the server is announced: a caller that stops it as soon as it reads the
  // line (a test, a supervisor) must get the graceful stop, not Node's default of dying at once.
  const stop = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  const { loadConfig, startServer, startSimServer } = await import("@rollway/webhook-server");
  let shutdown: () => Promise<void>;
  if (options.sim) {
    const port = options.port === undefined ? 8080 : Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new CliError(
        `--port ${options.port} is not a port; give 0 to 65535 (0 picks a free one)`,
        ExitCode.badInput,
      );
    const server = await startSimServer({
      config: { port, host: options.host ?? "127.0.0.1" },
      ...(options.readyDelay === undefined ? {} : { readyDelayMs: options.readyDelay }),
      // Standard output carries what to connect with; the server's JSON logs go to standard error.
      logDestination: process.stderr,
    });
    shutdown = () => server.shutdown();
    const info = {
      ok: true,
      url: server.url,
      base: server.base,
      dashboard: `${server.url}/dashboard`,
      project: "demo",
      environment: "demo",
      tokens: server.tokens,
      kubeconfig: server.cluster.sim.kubeconfigPath,
      environmentFile: server.cluster.environmentFile,
    };
    if (output.json) output.out(`${JSON.stringify(info)}\n`);
    else
      output.out(
        [
          `rollway server on kube-sim listening on ${server.url} (Ctrl-C stops both)`,
          `  dashboard:     ${info.dashboard}`,
          `  deploy:        POST ${server.base}/deploy`,
          `  deploy token:  ${server.tokens.deploy}`,
          `  approve token: ${server.tokens.approve}`,
          `  kubeconfig:    ${info.kubeconfig}`,
          "",
          "Try:",
          `  rollway deploy payload.json --wait --server ${server.url} --token ${server.tokens.deploy} --project demo --env demo`,
          "",
        ].join("\n"),
      );
  } else {
    const env = {
      ...process.env,
      ...(options.port ? { ROLLWAY_PORT: options.port } : {}),
      ...(options.host ? { ROLLWAY_HOST: options.host } : {}),
      ...(options.kubeconfig ? { ROLLWAY_KUBECONFIG: options.kubeconfig } : {}),
    };
    const server = await startServer(loadConfig(env));
    shutdown = () => server.shutdown();
    if (output.json) output.out(`${JSON.stringify({ ok: true, url: server.url })}\n`);
    else output.err(`rollway server listening on ${server.url} (Ctrl-C stops it)\n`);
  }
  await stop;
  await shutdown();
}
