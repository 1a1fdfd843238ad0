/**
 * A TCP proxy in front of kube-sim that resets connections (RST, as a load balancer or a restarting apiserver does:
 * the client sees `read ECONNRESET`) when the next requests matching a pattern arrive. kube-sim's own faults answer
 * with HTTP errors; a reset is below HTTP, so it takes a hop in between.
 */
import { connect, createServer, type Socket } from "node:net";

export interface ResettingProxy {
  /** A kubeconfig for this proxy, made from the cluster's. */
  kubeconfig(clusterKubeconfig: string): string;
  /** Reset the connection of each of the next `times` requests whose request line matches. */
  resetNext(pattern: RegExp, times: number): void;
  /** How many connections were reset so far. */
  readonly resets: number;
  close(): Promise<void>;
}

export async function startResettingProxy(target: string): Promise<ResettingProxy> {
  const { hostname, port } = new URL(target);
  let armed: { pattern: RegExp; left: number } | undefined;
  let resets = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", forget);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.destroy());
    upstream.pipe(client);
    client.on("data", (chunk: Buffer) => {
      const line = chunk.toString("latin1", 0, Math.min(chunk.length, 300)).split("\r\n")[0] ?? "";
      if (armed && armed.left > 0 && armed.pattern.test(line)) {
        armed.left--;
        resets++;
        upstream.destroy();
        client.resetAndDestroy();
        return;
      }
      upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  return {
    kubeconfig: (yaml) => yaml.replace(/server: \S+/g, `server: ${url}`),
    resetNext(pattern, times) {
      armed = { pattern, left: times };
    },
    get resets() {
      return resets;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
