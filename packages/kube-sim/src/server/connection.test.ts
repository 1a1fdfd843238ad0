// Watch and connection semantics seen on the wire: which `watch` values make a watch (apimachinery's boolean query
// parsing), a watch ends after its ERROR event as the real server's does, and a request answered before its body
// was read leaves the keep-alive connection usable for the next request.
import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { ResourceType } from "../resources.js";
import { startKubeSim } from "../sim.js";
import { call } from "./test-http.js";

const CM = "/api/v1/namespaces/default/configmaps";

/** Reads a whole response body, however it is framed; resolves when the server ends it. */
async function readToEnd(url: string): Promise<{ status: number; lines: string[] }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, lines: text.split("\n").filter(Boolean) };
}

/** A raw keep-alive connection: write bytes, wait for `count` complete responses. */
function rawConnection(url: string) {
  const socket: Socket = connect(Number(new URL(url).port), "127.0.0.1");
  let received = "";
  let closed = false;
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  socket.on("close", () => {
    closed = true;
  });
  socket.on("error", () => {});
  const statuses = () => [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  return {
    write: (s: string | Buffer) => new Promise<void>((resolve) => socket.write(s, () => resolve())),
    async responses(count: number): Promise<number[]> {
      for (let i = 0; i < 200 && statuses().length < count && !closed; i++) await new Promise((r) => setTimeout(r, 25));
      return statuses();
    },
    get received() {
      return received;
    },
    get closed() {
      return closed;
    },
    close: () => socket.destroy(),
  };
}

describe("watch query parsing (apimachinery Convert_Slice_string_To_bool)", () => {
  it.each(["True", "true", "1", "yes", ""])("?watch=%s is a watch", async (value) => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    await call(sim.url, "POST", CM, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } });
    const r = await readToEnd(`${sim.url}${CM}?watch=${value}&timeoutSeconds=1`);
    expect(r.status).toBe(200);
    expect(r.lines.map((l) => JSON.parse(l).type)).toEqual(["ADDED"]);
  });

  it.each(["false", "False", "0"])("?watch=%s is a list", async (value) => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const r = await call(sim.url, "GET", `${CM}?watch=${value}`);
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe("ConfigMapList");
  });
});

describe("watch ERROR events", () => {
  it("ends the stream after the 410 Expired ERROR event, so clients list again", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const cms = sim.store.types.get("", "configmaps") as ResourceType;
    const old = sim.store.resourceVersion();
    sim.store.create(cms, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } });
    sim.faults.expireWatchHistory();
    // No timeoutSeconds: only the server ending the stream ends this read.
    const r = await readToEnd(`${sim.url}${CM}?watch=1&resourceVersion=${old}`);
    expect(r.status).toBe(200);
    expect(r.lines).toHaveLength(1);
    const event = JSON.parse(r.lines[0] as string);
    expect(event.type).toBe("ERROR");
    expect(event.object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" });
  });
});

describe("requests answered before their body is read", () => {
  const put = (name: string, body: string, chunked: boolean) =>
    `PUT ${CM}/${name} HTTP/1.1\r\nHost: kube-sim\r\nContent-Type: application/json\r\n` +
    (chunked ? "Transfer-Encoding: chunked\r\n\r\n" : `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
  const get = (name: string) => `GET ${CM}/${name} HTTP/1.1\r\nHost: kube-sim\r\n\r\n`;

  it.each([
    ["an injected 500", "fail"],
    ["an injected delay then 503", "delay"],
    ["a denial (403)", "deny"],
  ])(
    "after %s on a PUT whose body arrives late and chunked, the next request on the connection is answered",
    async (_, kind) => {
      await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
      await call(sim.url, "POST", CM, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } });
      if (kind === "fail") sim.faults.failRequests({ verb: "update", resource: "configmaps", code: 500, times: 1 });
      if (kind === "delay") {
        sim.faults.delayRequests({ verb: "update", resource: "configmaps", ms: 20, times: 1 });
        sim.faults.failRequests({ verb: "update", resource: "configmaps", code: 503, times: 1 });
      }
      const denial = kind === "deny" ? sim.faults.deny({ verb: "update", resource: "configmaps" }) : undefined;
      const conn = rawConnection(sim.url);
      const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { k: "v" } });
      await conn.write(put("a", body, true));
      await new Promise((r) => setTimeout(r, 100));
      await conn.write(`${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`);
      await conn.write(get("a"));
      const statuses = await conn.responses(2);
      denial?.clear();
      conn.close();
      expect(statuses).toEqual([kind === "fail" ? 500 : kind === "delay" ? 503 : 403, 200]);
    },
  );

  it("answers a body over 3 MiB with 413 RequestEntityTooLarge and keeps the connection for the next request", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    await call(sim.url, "POST", CM, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } });
    const conn = rawConnection(sim.url);
    const body = JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a" },
      data: { k: "x".repeat(4 * 1024 * 1024) },
    });
    await conn.write(put("a", body, false));
    await conn.write(body);
    await conn.write(get("a"));
    const statuses = await conn.responses(2);
    conn.close();
    expect(statuses).toEqual([413, 200]);
    expect(conn.received).toContain('"message":"Request entity too large: limit is 3145728"');
    expect(conn.received).toContain('"reason":"RequestEntityTooLarge"');
  });
});
