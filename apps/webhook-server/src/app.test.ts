import { createHmac } from "node:crypto";
import { Agent, request } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APPROVE_TOKEN,
  DEPLOY_TOKEN,
  DEPLOY_TOKEN_NEXT,
  OTHER_TOKEN,
  SIGNING_SECRET,
  startTestServer,
  type TestServer,
} from "./test-server.js";

const payload = JSON.stringify({ frontend: { image: "reg.example.com/web:1.0.0" } });
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ rateLimitPerMinute: 100_000 });
});
afterAll(() => server.shutdown());

function post(path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    body,
    headers: { "Content-Type": "application/json", ...headers },
  });
}
const validate = (project: string, env: string, body: string, headers: Record<string, string> = {}) =>
  post(`/v1/projects/${project}/environments/${env}/validate`, body, headers);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe("authentication and authorisation", () => {
  it.each<[string, Record<string, string>, string, number]>([
    ["no Authorization header", {}, "prod", 401],
    ["a Basic scheme", { Authorization: `Basic ${Buffer.from(`x:${DEPLOY_TOKEN}`).toString("base64")}` }, "prod", 401],
    ["an unknown token", bearer("not-a-real-token-at-all-000000"), "prod", 401],
    ["a token with a prefix of a valid one", bearer(DEPLOY_TOKEN.slice(0, -1)), "prod", 401],
    ["an approve token on a deploy route", bearer(APPROVE_TOKEN), "prod", 403],
    ["another project's token", bearer(OTHER_TOKEN), "prod", 403],
    ["the deploy token for another environment", bearer(DEPLOY_TOKEN), "staging", 403],
    ["the deploy token", bearer(DEPLOY_TOKEN), "prod", 200],
    ["the rotated-in second deploy token", bearer(DEPLOY_TOKEN_NEXT), "prod", 200],
  ])("answers %s with %i, saying nothing of which part was wrong", async (_name, headers, env, status) => {
    const res = await validate("shop", env, payload, headers);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { message: string };
    expect(body.message).toBe(status === 200 ? "valid" : status === 401 ? "unauthorized" : "forbidden");
  });

  it("refuses two Authorization headers, even when one of them holds the valid token (401, not half believed)", async () => {
    // Two header lines, as a raw list: fetch would fold them into one.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${server.url}/v1/projects/shop/environments/prod/validate`,
        {
          method: "POST",
          // An array of headers is sent as given: Host and Content-Length too.
          headers: [
            "Host",
            new URL(server.url).host,
            "Content-Length",
            String(Buffer.byteLength(payload)),
            "Content-Type",
            "application/json",
            "Authorization",
            `Bearer ${DEPLOY_TOKEN}`,
            "authorization",
            `Bearer ${DEPLOY_TOKEN_NEXT}`,
          ],
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
    expect(status).toBe(401);
  });

  it("lets a wildcard grant cover every environment of its project", async () => {
    expect((await validate("blog", "anything", payload, bearer(OTHER_TOKEN))).status).toBe(200);
  });

  it("judges each request on one kept-alive connection by its own token, whatever the one before it sent", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (headers: Record<string, string>) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const req = request(
          `${server.url}/v1/projects/shop/environments/prod/validate`,
          { method: "POST", agent, headers: { "Content-Type": "application/json", ...headers } },
          (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
          },
        );
        req.on("error", reject);
        req.end(payload);
      });
    const sameLengthMiss = `${DEPLOY_TOKEN.slice(0, -1)}x`;
    const sequence: [Record<string, string>, number][] = [
      [bearer(DEPLOY_TOKEN), 200],
      [bearer(DEPLOY_TOKEN), 200],
      [bearer(sameLengthMiss), 401],
      [bearer(DEPLOY_TOKEN), 200],
      [bearer(APPROVE_TOKEN), 403],
      [bearer(APPROVE_TOKEN), 403],
      [{}, 401],
      [bearer(DEPLOY_TOKEN_NEXT), 200],
      [bearer(sameLengthMiss), 401],
      [bearer(sameLengthMiss), 401],
      [bearer(DEPLOY_TOKEN_NEXT), 200],
    ];
    try {
      const sockets = new Set<unknown>();
      for (const [headers, status] of sequence) {
        const answer = await send(headers);
        expect(answer.status).toBe(status);
        sockets.add(answer.socket);
      }
      // Every request went over the same connection.
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});

describe("signed deliveries (X-Hub-Signature-256)", () => {
  const sign = (body: string, secret = SIGNING_SECRET) =>
    `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

  it("accepts a body signed with the environment's secret", async () => {
    const res = await validate("shop", "signed", payload, {
      ...bearer(DEPLOY_TOKEN),
      "X-Hub-Signature-256": sign(payload),
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ["no signature", undefined],
    ["a signature with another secret", sign(payload, "another-secret-0000000000")],
    ["a signature of another body", sign(`${payload} `)],
    ["a malformed signature", "sha256=zz"],
  ])("refuses %s with 401", async (_name, signature) => {
    const headers: Record<string, string> = {
      ...bearer(DEPLOY_TOKEN),
      ...(signature ? { "X-Hub-Signature-256": signature } : {}),
    };
    const res = await validate("shop", "signed", payload, headers);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: "unauthorized" });
  });
});

describe("bad payloads get 400 and every problem at its place", () => {
  it.each<[string, string, unknown[]]>([
    [
      "the seed's trailing comma",
      '{\n  "codeAsData": {\n    "image": "r/cad:1",\n  }\n}',
      [
        {
          path: "(payload)",
          line: 3,
          column: 23,
          message: "trailing comma before '}': JSON allows none after the last property; remove it",
        },
      ],
    ],
    [
      "a typo in a key",
      '{"frontend": {"image": "r/w:1"}, "noDowntime": {"promotionmode": "manual"}}',
      [
        {
          path: "noDowntime.promotionmode",
          line: 1,
          column: 49,
          message: 'unknown key; did you mean "promotionMode"?',
        },
      ],
    ],
    [
      "a catastrophic pattern",
      '{"backends": {"images": ["r/a:1"], "deployRules": [{"source": "^(a+)+$", "target": ".*"}]}}',
      [
        expect.objectContaining({
          path: "backends.deployRules[0].source",
          message: expect.stringContaining("catastrophic backtracking"),
        }),
      ],
    ],
    [
      "a missing target",
      '{"backends": {"images": ["r/a:1"], "deployRules": [{"source": ".*"}]}}',
      [expect.objectContaining({ path: "backends.deployRules[0].target", message: "required" })],
    ],
    ["an array", "[]", [expect.objectContaining({ path: "(payload)" })]],
    ["empty", " ", [{ path: "(payload)", message: "empty body; expected a JSON object" }]],
  ])("%s", async (_name, body, problems) => {
    const res = await validate("shop", "prod", body, bearer(DEPLOY_TOKEN));
    expect(res.status).toBe(400);
    const json = (await res.json()) as { message: string; problems: unknown[] };
    expect(json.message).toBe("invalid payload");
    expect(json.problems).toEqual(problems);
  });

  it("refuses a body that is not UTF-8", async () => {
    const res = await validate(
      "shop",
      "prod",
      new Uint8Array([0x7b, 0xff, 0x7d]) as unknown as string,
      bearer(DEPLOY_TOKEN),
    );
    expect(res.status).toBe(400);
  });

  it("accepts a payload that starts with a UTF-8 byte order mark, as a decoder would", async () => {
    const res = await validate("shop", "prod", `\ufeff${payload}`, bearer(DEPLOY_TOKEN));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { message: string }).message).toBe("valid");
  });

  it("refuses a body that is not JSON by Content-Type with 415", async () => {
    const res = await validate("shop", "prod", payload, { ...bearer(DEPLOY_TOKEN), "Content-Type": "text/plain" });
    expect(res.status).toBe(415);
  });

  it("refuses a chunked body (no Content-Length) over the limit with 413", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${server.url}/v1/projects/shop/environments/prod/validate`, {
      method: "POST",
      body,
      duplex: "half",
      headers: { ...bearer(DEPLOY_TOKEN), "Content-Type": "application/json" },
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: "the body is larger than 1048576 bytes" });
  });

  it("refuses a body over the limit with 413 before reading it all", async () => {
    const res = await validate("shop", "prod", " ".repeat(1024 * 1024 + 1), bearer(DEPLOY_TOKEN));
    expect(res.status).toBe(413);
  });
});

describe("the dry run served on Node's request before Hono", () => {
  // A percent-encoded place goes through Hono's URL handling (its route); a plain one is answered before Hono.
  const hono = "/v1/projects/%73hop/environments/prod/validate";
  const node = "/v1/projects/shop/environments/prod/validate";
  const invalid = JSON.stringify({ frontend: { image: "UPPER/case:!" } });
  it.each<[string, string | Uint8Array, Record<string, string>, number]>([
    ["a valid payload", payload, bearer(DEPLOY_TOKEN), 200],
    ["an invalid payload", invalid, bearer(DEPLOY_TOKEN), 400],
    ["broken JSON", '{"frontend": {', bearer(DEPLOY_TOKEN), 400],
    ["a body that is not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), bearer(DEPLOY_TOKEN), 400],
    ["no token", payload, {}, 401],
    ["another place's token", payload, bearer(OTHER_TOKEN), 403],
    ["a text/plain body", payload, { ...bearer(DEPLOY_TOKEN), "Content-Type": "text/plain" }, 415],
  ])("answers %s alike both ways", async (_name, body, headers, status) => {
    const given = { ...headers, "X-Request-Id": "same-answer-check" };
    const [a, b] = await Promise.all([post(node, body, given), post(hono, body, given)]);
    expect([a.status, b.status]).toEqual([status, status]);
    expect(await a.text()).toBe(await b.text());
    for (const name of ["content-type", "x-request-id", "www-authenticate"])
      expect([name, a.headers.get(name)]).toEqual([name, b.headers.get(name)]);
    expect(a.headers.get("x-request-id")).toBe("same-answer-check");
  });

  it("serves on after a client hangs up halfway through its body: nothing left in flight, the next one answered", async () => {
    const { port } = new URL(server.url);
    await new Promise<void>((resolve) => {
      const req = request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: node,
        headers: { ...bearer(DEPLOY_TOKEN), "Content-Type": "application/json", "Content-Length": payload.length },
      });
      req.on("error", () => resolve());
      req.write(payload.slice(0, 10), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50),
      );
    });
    for (let i = 0; i < 100 && server.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.inFlight).toBe(0);
    const res = await post(node, payload, bearer(DEPLOY_TOKEN));
    expect([res.status, ((await res.json()) as { message: string }).message]).toEqual([200, "valid"]);
  });

  it("counts, logs and numbers its requests as the other routes do", async () => {
    const res = await post(node, payload, bearer(DEPLOY_TOKEN));
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    const line = server.logs.map((l) => JSON.parse(l)).find((l) => l.requestId === id);
    expect(line).toMatchObject({ msg: "request", method: "POST", url: node, status: 200 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/rollway_payloads_validated_total\{result="valid"\} [1-9]/);
  });

  it("counts each dry run once in /metrics: requests, the duration histogram and valid payloads", async () => {
    const route = 'route="/v1/projects/:project/environments/:environment/validate"';
    const read = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const value = (line: string) =>
        Number(
          text
            .split("\n")
            .find((l) => l.startsWith(`${line} `))
            ?.slice(line.length + 1) ?? 0,
        );
      return [
        value(`rollway_http_requests_total{${route},method="POST",status="200"}`),
        value(`rollway_http_request_duration_seconds_count{${route}}`),
        value(`rollway_http_request_duration_seconds_bucket{le="+Inf",${route}}`),
        value('rollway_payloads_validated_total{result="valid"}'),
      ];
    };
    const before = await read();
    for (let i = 0; i < 3; i++) expect((await post(node, payload, bearer(DEPLOY_TOKEN))).status).toBe(200);
    const after = await read();
    expect(after.map((n, i) => n - (before[i] as number))).toEqual([3, 3, 3, 3]);
  });
});

describe("operations", () => {
  it("answers /healthz, /readyz and /metrics", async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ message: "ready" });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /rollway_http_requests_total\{route="\/v1\/projects\/:project\/environments\/:environment\/validate",method="POST",status="200"\} \d+/,
    );
    expect(metrics).toContain("rollway_payloads_validated_total");
  });

  it("serves an OpenAPI document whose payload schema comes from the zod schema", async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string;
      components: { schemas: { DeployPayload: { properties: object } } };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.components.schemas.DeployPayload.properties)).toContain("noDowntime");
    const paths = Object.keys((doc as unknown as { paths: Record<string, unknown> }).paths);
    for (const route of ["deploy", "releases/{release}/events", "releases/{release}/promote", "flagger/gate/check"])
      expect(paths).toContain(`/v1/projects/{project}/environments/{environment}/${route}`);
    expect(doc.components.schemas).toHaveProperty("Accepted.properties.releaseId");
  });

  it("answers unknown routes with 404 JSON and echoes a request id", async () => {
    const res = await fetch(`${server.url}/nope`, { headers: { "X-Request-Id": "req-123" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("X-Request-Id")).toBe("req-123");
  });

  it("gives every request its own id when the caller sends none, and counts it in the metrics", async () => {
    const ids = await Promise.all(
      [1, 2, 3].map(async () => (await fetch(`${server.url}/healthz`)).headers.get("X-Request-Id")),
    );
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    expect(new Set(ids).size).toBe(3);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/rollway_http_requests_total\{route="\/healthz",method="GET",status="200"\} [1-9]/);
  });
});

describe("never a 500, never a crash", () => {
  it("survives 10,000 fuzzed bodies and headers", async () => {
    const cases = fc.sample(
      fc.tuple(
        fc.oneof(
          fc.constant(payload),
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ backends: v, frontend: v })),
        ),
        fc.oneof(
          fc.constant(`Bearer ${DEPLOY_TOKEN}`),
          fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
        ),
        fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", ""),
      ),
      { numRuns: 10_000, seed: 20261127 },
    );
    const statuses = new Set<number>();
    const failures: unknown[] = [];
    // 16 clients at once, as CI systems would send: the whole corpus in a few seconds.
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < cases.length) {
          const [body, authorization, contentType] = cases[next++] as [string, string, string];
          const headers: Record<string, string> = { Authorization: authorization };
          if (contentType) headers["Content-Type"] = contentType;
          const res = await fetch(`${server.url}/v1/projects/shop/environments/prod/validate`, {
            method: "POST",
            body,
            headers,
          });
          await res.arrayBuffer();
          statuses.add(res.status);
          if (res.status >= 500) failures.push({ status: res.status, body, authorization, contentType });
        }
      }),
    );
    expect(failures).toEqual([]);
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 401]));
  }, 120_000);
});

describe("logs", () => {
  it("never contain a token, a signature secret or a query value", async () => {
    await fetch(`${server.url}/v1/projects/shop/environments/prod/validate?token=${DEPLOY_TOKEN}`, {
      method: "POST",
      body: payload,
      headers: { ...bearer(DEPLOY_TOKEN), "Content-Type": "application/json" },
    });
    const text = server.logs.join("\n");
    expect(server.logs.length).toBeGreaterThan(10);
    for (const secret of [DEPLOY_TOKEN, DEPLOY_TOKEN_NEXT, APPROVE_TOKEN, OTHER_TOKEN, SIGNING_SECRET]) {
      expect(text).not.toContain(secret);
    }
    expect(JSON.parse(server.logs.at(-1) as string)).toMatchObject({ msg: "request", status: 200, method: "POST" });
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After once a token has used its budget", async () => {
    await using limited = await startTestServer({ rateLimitPerMinute: 3 });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${limited.url}/v1/projects/shop/environments/prod/validate`, {
        method: "POST",
        body: payload,
        headers: { ...bearer(DEPLOY_TOKEN), "Content-Type": "application/json" },
      });
      codes.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });
});

describe("graceful shutdown", () => {
  it("stops being ready, finishes the request in flight, then refuses new connections", async () => {
    const s = await startTestServer();
    const { port } = new URL(s.url);
    // A request whose body is still arriving when shutdown begins.
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/v1/projects/shop/environments/prod/validate",
          headers: { ...bearer(DEPLOY_TOKEN), "Content-Type": "application/json" },
        },
        (res) => {
          let body = "";
          res.on("data", (c) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.write(payload.slice(0, 10));
      setTimeout(() => req.end(payload.slice(10)), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = s.shutdown();
    const done = await inFlight;
    expect(done.status).toBe(200);
    await stopped;
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});
