/**
 * A gate server that answers like flagger-loadtester's gate API (fluxcd/flagger pkg/loadtester/server.go):
 * `/gate/check` and `/rollback/check` say 200 "Approved" when open and 403 "Forbidden" when closed;
 * `/gate/open|close` and `/rollback/open|close` take `{"name","namespace"}` and answer 202. Gates start closed.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { onTestFinished } from "vitest";

export interface LoadtesterResource {
  url: string;
  gates: Map<string, boolean>;
  rollbacks: Map<string, boolean>;
  calls: { path: string; body: unknown; authorization?: string }[];
}

export async function loadtesterResource(): Promise<LoadtesterResource> {
  const gates = new Map<string, boolean>();
  const rollbacks = new Map<string, boolean>();
  const calls: LoadtesterResource["calls"] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: { name?: string; namespace?: string };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400).end();
        return;
      }
      calls.push({
        path: req.url ?? "",
        body,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      const key = `${body.name}.${body.namespace}`;
      const [, kind, action] = (req.url ?? "").split("/");
      const store = kind === "gate" ? gates : kind === "rollback" ? rollbacks : undefined;
      if (!store) {
        res.writeHead(404).end();
        return;
      }
      if (action === "open" || action === "close") {
        store.set(key, action === "open");
        res.writeHead(202).end();
      } else if (action === "check") {
        if (store.get(key)) res.writeHead(200).end("Approved");
        else res.writeHead(403).end("Forbidden");
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, gates, rollbacks, calls };
}
