/** Test helpers, disposed when the test finishes: kube-sim with a namespace, loopback HTTP and SMTP receivers. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startKubeSim } from "@rollway/kube-sim";
import { type Connection, openConnection } from "@rollway/rollout-client";
import { SMTPServer } from "smtp-server";
import { onTestFinished } from "vitest";

export const NS = "shop";

export async function clusterResource(): Promise<{ api: Connection; url: string; kubeconfigPath: string }> {
  const sim = await startKubeSim({ namespace: NS });
  const api = await openConnection({ kubeconfig: { yaml: sim.kubeconfig } });
  onTestFinished(async () => {
    api.close();
    await sim.close();
  });
  await fetch(`${sim.url}/api/v1/namespaces`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }),
  });
  return { api, url: sim.url, kubeconfigPath: sim.kubeconfigPath };
}

export interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A loopback HTTP receiver; `answer` decides each response (the n-th request, 0-based), or hangs when it says so. */
export async function receiverResource(
  answer: (n: number, req: Received, res: ServerResponse) => "hang" | undefined = (_n, _r, res) => {
    res.writeHead(200).end("ok");
    return undefined;
  },
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      received.push(r);
      if (answer(received.length - 1, r, res) === "hang") hanging.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
  user: string | undefined;
}

/** A loopback SMTP server (smtp-server from npm) that requires a login and keeps what it receives. */
export async function smtpResource(credentials: { user: string; password: string }) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authOptional: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.password)
        return callback(null, { user: auth.username });
      return callback(new Error("invalid login"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
          user: session.user as string | undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails };
}

/** A temporary directory of secret files, removed after the test. */
export function secretFilesResource(files: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "rollway-notify-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return Object.fromEntries(
    Object.entries(files).map(([name, value]) => {
      const path = join(dir, name);
      writeFileSync(path, value);
      return [name, path];
    }),
  );
}
