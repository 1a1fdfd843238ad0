/**
 * Test resource: a TCP proxy in front of a kube-sim, for an engine (or any client) whose connections a test wants to
 * break. `stall()` lets nothing pass either way (a process frozen by the debugger, a long GC pause, a network
 * partition) until `resume()` passes on what was held; `cut()` closes every connection and refuses new ones, so from
 * the cluster's side the client is gone as after `kill -9`. Shared by release's tests and the apps' (imported by
 * path: test code is in no entry point of the package). Disposed when the test ends, or with `dispose: "manual"` by
 * `cut()` (many in one test, as model-based tests make).
 */
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { onTestFinished } from "vitest";

export interface ClusterProxy {
  /** The cluster's kubeconfig, its server the proxy. */
  kubeconfig: string;
  stall(): void;
  resume(): void;
  /** Closes every connection and the proxy (resolves once closed); a second call does nothing. */
  cut(): Promise<void>;
}

interface Pair {
  inbound: Socket;
  outbound: Socket;
}

export async function clusterProxyResource(
  cluster: { url: string; kubeconfig: string },
  options: { dispose?: "test" | "manual" } = {},
): Promise<ClusterProxy> {
  const target = new URL(cluster.url);
  const pairs = new Set<Pair>();
  let stalled = false;
  const join = (p: Pair) => {
    p.inbound.pipe(p.outbound);
    p.outbound.pipe(p.inbound);
  };
  const proxy = createServer((inbound) => {
    const outbound = tcpConnect(Number(target.port), target.hostname);
    const pair = { inbound, outbound };
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", close).on("close", close);
    outbound.on("error", close).on("close", close);
    if (stalled) {
      inbound.pause();
      outbound.pause();
    } else join(pair);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const port = (proxy.address() as { port: number }).port;
  const kubeconfig = cluster.kubeconfig.replace(cluster.url, `${target.protocol}//127.0.0.1:${port}`);
  if (kubeconfig === cluster.kubeconfig) throw new Error(`the kubeconfig does not name ${cluster.url}`);
  let cut: Promise<void> | undefined;
  const result: ClusterProxy = {
    kubeconfig,
    stall() {
      stalled = true;
      for (const { inbound, outbound } of pairs) {
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        inbound.pause();
        outbound.pause();
      }
    },
    resume() {
      stalled = false;
      for (const pair of pairs) join(pair);
    },
    cut() {
      cut ??= new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        for (const { inbound, outbound } of pairs) {
          inbound.destroy();
          outbound.destroy();
        }
      });
      return cut;
    },
  };
  if (options.dispose !== "manual") onTestFinished(() => result.cut());
  return result;
}
