/**
 * Test resource: a release engine whose every connection to the cluster goes through a TCP proxy that can be
 * stalled (nothing passes either way, as for a process frozen by the debugger, a long GC pause or a network
 * partition) and resumed (what was held passes on). Its Lease is not renewed while it is stalled. In-process, on
 * the cluster's clock. Disposed when the test ends.
 */
import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { connect } from "@rollway/rollout-client";
import { onTestFinished } from "vitest";
import { createReleaseEngine, type ReleaseEngine } from "../engine.js";
import type { ReleaseSim } from "./release-sim.js";

export async function stallableEngine(
  k: ReleaseSim,
  options: { identity?: string; leaseDurationSeconds?: number } = {},
): Promise<{ engine: ReleaseEngine; stall(): void; resume(): void }> {
  const target = new URL(k.sim.url);
  const pairs = new Set<{ inbound: Socket; outbound: Socket }>();
  let stalled = false;
  const join = (p: { inbound: Socket; outbound: Socket }) => {
    p.inbound.pipe(p.outbound);
    p.outbound.pipe(p.inbound);
  };
  const proxy = createServer((inbound) => {
    const outbound = tcpConnect(Number(target.port), target.hostname);
    const pair = { inbound, outbound };
    pairs.add(pair);
    const cut = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", cut).on("close", cut);
    outbound.on("error", cut).on("close", cut);
    if (stalled) {
      inbound.pause();
      outbound.pause();
    } else join(pair);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const port = (proxy.address() as { port: number }).port;
  const kubeconfig = k.sim.kubeconfig.replace(k.sim.url, `${target.protocol}//127.0.0.1:${port}`);
  if (kubeconfig === k.sim.kubeconfig) throw new Error(`the kubeconfig does not name ${k.sim.url}`);
  const clock = k.cluster.clock;
  const client = await connect({ kubeconfig: { yaml: kubeconfig }, ...(clock ? { clock } : {}) });
  onTestFinished(async () => {
    client.close();
    for (const { inbound, outbound } of pairs) {
      inbound.destroy();
      outbound.destroy();
    }
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });
  return {
    engine: createReleaseEngine({
      client,
      leaseDurationSeconds: options.leaseDurationSeconds ?? 30,
      ...(options.identity ? { identity: options.identity } : {}),
      ...(clock ? { clock } : {}),
    }),
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
  };
}
