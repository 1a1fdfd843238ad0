/**
 * A proxy in front of kube-sim that answers like an API server without the WatchList feature (Kubernetes before
 * 1.27, or with the gate off): a watch asking for `sendInitialEvents` gets 422 Invalid with the Status such a server
 * writes; every other request is passed through unchanged, streams included.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { onTestFinished } from "vitest";
import { forward } from "./resetting-proxy.js";

export const WATCH_LIST_FORBIDDEN = {
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message:
    'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
  reason: "Invalid",
  code: 422,
};

export async function watchListRefusingProxy(target: string): Promise<string> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", target);
    if (url.searchParams.get("watch") === "true" && url.searchParams.has("sendInitialEvents")) {
      res.writeHead(422, { "Content-Type": "application/json" }).end(JSON.stringify(WATCH_LIST_FORBIDDEN));
      return;
    }
    forward(req, res, { host: upstream.hostname, port: upstream.port, path: req.url ?? "/" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
