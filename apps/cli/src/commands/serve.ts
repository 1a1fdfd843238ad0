/** `rollway serve`: the webhook server (the same as the container image), configured by ROLLWAY_* variables. */
import type { Output } from "../output.js";

export async function serveCommand(
  options: { port?: string; host?: string; kubeconfig?: string },
  output: Output,
): Promise<void> {
  const { loadConfig, startServer } = await import("@rollway/webhook-server");
  const env = {
    ...process.env,
    ...(options.port ? { ROLLWAY_PORT: options.port } : {}),
    ...(options.host ? { ROLLWAY_HOST: options.host } : {}),
    ...(options.kubeconfig ? { ROLLWAY_KUBECONFIG: options.kubeconfig } : {}),
  };
  const server = await startServer(loadConfig(env));
  if (output.json) output.out(`${JSON.stringify({ ok: true, url: server.url })}\n`);
  else output.err(`rollway server listening on ${server.url} (Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.shutdown();
}
