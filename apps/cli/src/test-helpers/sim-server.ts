import { type SimServer, startSimServer } from "@rollway/webhook-server";

/** A webhook server on kube-sim's demo world, in this process, on a free port, its logs dropped. */
export function startQuietSimServer(): Promise<SimServer> {
  return startSimServer({
    config: { port: 0 },
    readyDelayMs: 50,
    logDestination: { write: () => true } as never,
  });
}
