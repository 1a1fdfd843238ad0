/**
 * `rollway serve`: the webhook server (the same as the container image), configured by ROLLWAY_* variables.
 * `--sim` runs it against kube-sim holding the demo environment (project `demo`, environment `demo`), with tokens
 * generated for the session: a server to try the API, the CLI's `--server` mode or the GitHub Action against.
 */
import { CliError, ExitCode, type Output } from "../output.js";

export interface ServeOptions {
  port?: string;
  host?: string;
  kubeconfig?: string;
  sim?: boolean;
  readyDelay?: number;
}

export async function serveCommand(options: ServeOptions, output: Output): Promise<void> {
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
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await shutdown();
}
