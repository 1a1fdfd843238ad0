/**
 * `rollway dashboard --kubeconfig ~/.kube/config --environment prod.yaml [--project shop]`: the webhook server's
 * release dashboard on 127.0.0.1 for one person, against a cluster, with an approve token made for this session only
 * (printed once, to paste on the sign-in page; it is never in the URL). Nothing listens beyond loopback unless
 * `--host` says so. Register in main.ts as:
 *
 *   program.command("dashboard").description("the release dashboard in your browser, against a kubeconfig")
 *     .option("--kubeconfig <file>").requiredOption("--environment <file...>").option("--project <name>", "", "default")
 *     .option("--port <port>", "", "8090").option("--host <address>", "", "127.0.0.1")
 *     .action((opts, command) => dashboardCommand(opts, outputFor(command)));
 */
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { CliError, ExitCode, type Output } from "../output.js";

export interface DashboardOptions {
  kubeconfig?: string;
  /** Environment files; the URL's environment is each file's name without `.yaml`. */
  environment: string[];
  project?: string;
  port?: string;
  host?: string;
}

export async function dashboardCommand(options: DashboardOptions, output: Output): Promise<void> {
  const { ServerConfigSchema, startServer } = await import("@rollway/webhook-server");
  const port = Number(options.port ?? 8090);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new CliError(`--port ${options.port} is not a port; give 0 to 65535`, ExitCode.badInput);
  const project = options.project ?? "default";
  const token = `dashboard-${randomBytes(24).toString("base64url")}`;
  const config = ServerConfigSchema.parse({
    host: options.host ?? "127.0.0.1",
    port,
    logLevel: "warn",
    tokens: [{ scope: "approve", project, environment: "*", tokens: [token] }],
    environments: options.environment.map((file) => ({
      project,
      environment: basename(file).replace(/\.ya?ml$/, ""),
      file,
    })),
  });
  const server = await startServer(config, {
    ...(options.kubeconfig ? { kubeconfig: { file: options.kubeconfig } } : {}),
    logDestination: process.stderr,
  });
  if (output.json) output.out(`${JSON.stringify({ ok: true, url: `${server.url}/dashboard`, token })}\n`);
  else
    output.out(
      [
        `rollway dashboard on ${server.url}/dashboard (Ctrl-C stops it)`,
        `  sign in with this session's token: ${token}`,
        "",
      ].join("\n"),
    );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.shutdown();
}
