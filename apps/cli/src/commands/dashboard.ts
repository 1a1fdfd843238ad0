/**
 * `rollway dashboard --kubeconfig ~/.kube/config --env prod.yaml`: the webhook server's release dashboard for one
 * person, against a real cluster, on 127.0.0.1, with an approve-scope token made for this session only (printed once
 * to paste on the sign-in page; never in a URL, never stored). Ctrl-C stops it and the token dies with it.
 */
import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { loadEnvironment } from "../environment-file.js";
import { CliError, ExitCode, type Output } from "../output.js";

export interface DashboardOptions {
  kubeconfig?: string;
  /** Environment files (default: $ROLLWAY_ENV); each is served as the environment its `name` says. */
  env?: string[] | string;
  project?: string;
  port?: string;
  host?: string;
}

export async function dashboardCommand(options: DashboardOptions, output: Output): Promise<void> {
  const port = Number(options.port ?? 8090);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new CliError(`--port ${options.port} is not a port; give 0 to 65535 (0 picks a free one)`, ExitCode.badInput);
  const files = [options.env ?? process.env.ROLLWAY_ENV ?? []].flat().filter(Boolean);
  if (files.length === 0)
    throw new CliError(
      "rollway dashboard needs the environments to show: pass --env environment.yaml (several allowed) or set ROLLWAY_ENV",
      ExitCode.badInput,
    );
  // Each file is read and checked here first: a typo is exit 2 naming the file, line and column, before any server.
  const environments = await Promise.all(files.map(async (file) => ({ file, env: await loadEnvironment(file) })));
  const kubeconfig = options.kubeconfig ?? process.env.KUBECONFIG?.split(":")[0] ?? join(homedir(), ".kube", "config");
  const project = options.project ?? "default";
  const token = `dashboard-${randomBytes(24).toString("base64url")}`;
  const { ServerConfigSchema, startServer } = await import("@rollway/webhook-server");
  const config = ServerConfigSchema.parse({
    host: options.host ?? "127.0.0.1",
    port,
    logLevel: "warn",
    tokens: [{ scope: "approve", project, environment: "*", tokens: [token] }],
    environments: environments.map(({ file, env }) => ({ project, environment: env.name, file })),
  });
  // A viewer and a place to decide, never an engine: releases whose engine stopped are left to `rollway recover`.
  const server = await startServer(config, {
    kubeconfig: { file: kubeconfig },
    logDestination: process.stderr,
    recovery: false,
  });
  const url = `${server.url}/dashboard`;
  if (output.json) output.out(`${JSON.stringify({ ok: true, url, project, token })}\n`);
  else
    output.out(
      [
        `rollway dashboard on ${url} (Ctrl-C stops it), cluster from ${kubeconfig}`,
        `  sign in with this session's token (approve scope, valid until Ctrl-C): ${token}`,
        "",
      ].join("\n"),
    );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.shutdown();
}
