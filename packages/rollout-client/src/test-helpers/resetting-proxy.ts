/**
 * Network faults kube-sim cannot make itself, on real loopback sockets:
 * - `resettingProxy`: in front of kube-sim, cuts the client's connection (a TCP reset, what `read ECONNRESET` and
 *   `socket hang up` are) for the next N requests that match, either before the request reaches kube-sim or after
 *   kube-sim has processed it (the answer is lost: the case where a repeated write must be safe).
 * - `forwardProxy`: an HTTP proxy (CONNECT tunnels, and absolute-URI requests), as a kubeconfig's `proxy-url` names.
 * Both are closed by `onTestFinished`.
 */
import { createServer, request } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { onTestFinished } from "vitest";

export interface ResetRule {
  method?: string;
  /** Substring of the path and query. */
  path?: string;
  /** How many matching requests are cut. */
  times: number;
  /** `before`: kube-sim never sees the request. `after`: kube-sim processes it, the answer never arrives. */
  when: "before" | "after";
}

export interface ResettingProxy {
  url: string;
  /** Requests that passed through, in order: `GET /api/...`. */
  seen: string[];
  reset(rule: ResetRule): void;
}

export async function resettingProxy(target: string): Promise<ResettingProxy> {
  const upstream = new URL(target);
  const rules: ResetRule[] = [];
  const seen: string[] = [];
  const take = (method: string, path: string) => {
    const rule = rules.find(
      (r) => r.times > 0 && (!r.method || r.method === method) && (!r.path || path.includes(r.path)),
    );
    if (rule) rule.times--;
    return rule;
  };
  const server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    seen.push(line);
    const rule = take(req.method ?? "GET", req.url ?? "/");
    if (rule?.when === "before") {
      (req.socket as Socket).resetAndDestroy();
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        if (rule?.when === "after") {
          upstreamRes.resume();
          upstreamRes.on("end", () => (req.socket as Socket).resetAndDestroy());
          return;
        }
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    res.on("close", () => forward.destroy());
    req.pipe(forward);
  });
  await listen(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    reset: (rule) => rules.push({ ...rule }),
  };
}

/** An HTTP proxy: records each tunnel (`CONNECT host:port`) and absolute URI it is asked for, and forwards it. */
export async function forwardProxy(): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const tunnels = new Set<Socket>();
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? "/");
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: target.pathname + target.search,
        headers: req.headers,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    res.on("close", () => forward.destroy());
    req.pipe(forward);
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host ?? "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    tunnels.add(client).add(upstream);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  onTestFinished(() => {
    for (const socket of tunnels) socket.destroy();
  });
  await listen(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function listen(server: ReturnType<typeof createServer>): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
}
