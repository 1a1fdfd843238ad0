/**
 * The webhook server's HTTP surface (Hono): a thin adapter that checks who is calling, hands the body to the core
 * packages and turns their answers into HTTP. Every response is JSON with a `message`.
 */

import { isUtf8 } from "node:buffer";
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type DeployPayload, PayloadError, parseDeployPayloadMaybeAsync } from "@rollway/payload-schema";
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import type { Logger } from "pino";
import { Authenticator, type Scope } from "./auth.js";
import {
  checkLength,
  incomingHeader,
  limitBody as limitBodyTo,
  readBody,
  readIncomingThen,
  requestHeader,
} from "./body.js";
import type { ServerConfig } from "./config.js";
import { registerDashboard } from "./dashboard/index.js";
import { redactUrl } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { RateLimiter } from "./rate-limit.js";
import { type ReleaseRoutesDeps, registerFlaggerRoutes, registerReleaseRoutes } from "./routes/index.js";

export const ROUTES = {
  validate: "/v1/projects/:project/environments/:environment/validate",
  deploy: "/v1/projects/:project/environments/:environment/deploy",
  releases: "/v1/projects/:project/environments/:environment/releases",
  release: "/v1/projects/:project/environments/:environment/releases/:release",
  releaseEvents: "/v1/projects/:project/environments/:environment/releases/:release/events",
  decision: "/v1/projects/:project/environments/:environment/releases/:release/:decision",
  flagger: "/v1/projects/:project/environments/:environment/flagger",
} as const;

export interface AppState {
  /** False once shutdown has begun: /readyz answers 503 so the Service stops sending traffic. */
  ready: boolean;
  inFlight: number;
}

export interface AppOptions {
  config: ServerConfig;
  logger: Logger;
  metrics: Metrics;
  /** The caller's address, for rate-limiting unauthenticated attempts (the Node adapter supplies it). */
  remoteAddress?: (raw: Request | undefined, env: unknown) => string;
  /** The cluster side: without it, only dry runs (validate) are served and release routes answer 503. */
  releases?: ReleaseRoutesDeps;
}

export type Env = { Variables: { requestId: string; caller: string } };

/** What @hono/node-server passes as `c.env`: Node's request and response, when the app runs on Node's HTTP server. */
export interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/**
 * Counts a request in the metrics. The counting function is kept per route, method and status (a few dozen), so a
 * request costs a few Map lookups and a few additions (see metrics.ts). Keyed level by level: the route and the
 * method are the router's and the parser's own strings, hashed once, where one joined key was a new string of some
 * 60 characters to hash for every request.
 */
function requestCounter(metrics: Metrics) {
  const counters = new Map<string, Map<string, Map<number, (seconds: number) => void>>>();
  return (route: string, method: string, status: number, seconds: number) => {
    let byMethod = counters.get(route);
    if (!byMethod) {
      byMethod = new Map();
      counters.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let count = byStatus.get(status);
    if (!count) {
      count = metrics.requestCounter(route, method, status);
      byStatus.set(status, count);
    }
    count(seconds);
  };
}

const DASHBOARD_PREFIX = "/dashboard";
const isDashboardPath = (path: string) =>
  path.startsWith(DASHBOARD_PREFIX) &&
  (path.length === DASHBOARD_PREFIX.length || path[DASHBOARD_PREFIX.length] === "/");

/**
 * Two routers, split by path: the dashboard's routes (a static segment and a parameter at the same place, which Hono's
 * RegExpRouter cannot combine) and everything else. Alone, the dashboard's routes made Hono fall back to its
 * TrieRouter for every request, a tree walk per request (about 2 µs, 15× the RegExpRouter's one match, in the dry
 * run's profile); split, the API keeps the one-regex match. Middleware registered for every path goes to both.
 */
class SplitRouter<T> implements Router<T> {
  readonly name = "SplitRouter";
  readonly #api: Router<T> = new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] });
  readonly #dashboard: Router<T> = new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] });

  add(method: string, path: string, handler: T): void {
    if (!isDashboardPath(path)) this.#api.add(method, path, handler);
    if (isDashboardPath(path) || path === "/*" || path === "*") this.#dashboard.add(method, path, handler);
  }

  match(method: string, path: string) {
    return (isDashboardPath(path) ? this.#dashboard : this.#api).match(method, path);
  }
}

/** A payload, read and checked, or the answer to send instead. */
type PayloadResult = { ok: true; payload: DeployPayload } | { ok: false; answer: Answer };

/** A request's payload, read and checked, or the answer to send instead. */
export type PayloadRead = { ok: true; payload: DeployPayload } | { ok: false; response: Response };

/** An answer, independent of the framework: status, the serialised JSON body and its headers. */
interface Answer {
  status: number;
  text: string;
  headers: Record<string, string>;
}

const JSON_HEADERS: Record<string, string> = { "Content-Type": "application/json" };
const answer = (status: number, body: unknown, headers?: Record<string, string>): Answer => ({
  status,
  text: JSON.stringify(body),
  headers: headers ? { "Content-Type": "application/json", ...headers } : JSON_HEADERS,
});
const send = (c: Context<Env>, a: Answer) => c.body(a.text, a.status as 200, a.headers);
/** Node's header list of an answer: the request id, the answer's headers, then the length. */
const headerList = (id: string, headers: Record<string, string>, length: string): string[] => {
  const list = ["X-Request-Id", id];
  for (const name in headers) list.push(name, headers[name] as string);
  list.push("Content-Length", length);
  return list;
};

/**
 * The dry run's URL, when Node's request can be served without Hono: plain path segments only (no percent-encoding,
 * no dot segments, no backslash: those go through Hono's URL handling as before).
 */
const DRY_RUN_URL = /^\/v1\/projects\/(\w[\w.-]*)\/environments\/(\w[\w.-]*)\/validate(?=\?|$)/;

/** Authorises one of the scopes at the URL's project and environment; `basic` also reads Basic auth's password. */
export type Guard = (
  scopes: Scope[],
  options?: { basic?: boolean },
) => (c: Context<Env>, next: () => Promise<void>) => Promise<Response | undefined>;

export function createApp(options: AppOptions) {
  const { config, logger, metrics } = options;
  const auth = new Authenticator(config.tokens, config.signingSecrets);
  const limiter = new RateLimiter(config.rateLimitPerMinute);
  const state: AppState = { ready: true, inFlight: 0 };
  const app = new Hono<Env>({ router: new SplitRouter() });

  // A caller's X-Request-Id is kept; otherwise a random per-process prefix and a counter (a UUID per request cost
  // about a fifth of a small request's throughput in the load benchmark).
  const idPrefix = `${randomBytes(6).toString("hex")}-`;
  let idCounter = 0;
  const requestIdOf = (given: string | undefined) =>
    given && REQUEST_ID.test(given) ? given : idPrefix + (++idCounter).toString(36);
  const countRequest = requestCounter(metrics);
  /** Metrics and the log line of a request that has its answer. */
  const finished = (route: string, method: string, status: number, started: number, id: string, path: string) => {
    const seconds = (performance.now() - started) / 1000;
    countRequest(route, method, status, seconds);
    if (logger.isLevelEnabled("info")) {
      logger.info({ requestId: id, method, url: redactUrl(path), status, ms: Math.round(seconds * 1000) }, "request");
    }
  };
  const validated = metrics.payloadValidated;
  // One middleware for the request id, the in-flight count, the metrics and the log line.
  app.use(async (c, next) => {
    const started = performance.now();
    const id = requestIdOf(requestHeader(c, "x-request-id"));
    c.set("requestId", id);
    // On Node the header goes straight onto Node's response: Hono's c.header() builds a WHATWG Headers object (with
    // its per-call validation) for every response, which showed in the dry run's profile.
    const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
    if (outgoing) outgoing.setHeader("X-Request-Id", id);
    else c.header("X-Request-Id", id);
    state.inFlight++;
    try {
      await next();
    } finally {
      state.inFlight--;
      finished(c.req.routePath, c.req.method, c.res.status, started, id, c.req.path);
    }
  });

  app.get("/healthz", (c) => c.json({ message: "ok" }));
  app.get("/readyz", (c) => (state.ready ? c.json({ message: "ready" }) : c.json({ message: "shutting down" }, 503)));
  app.get("/metrics", async (c) =>
    c.text(await metrics.registry.metrics(), 200, { "Content-Type": metrics.registry.contentType }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  /** Takes one request from the caller's bucket; the 429 to send when it is empty. */
  const limitAnswer = (caller: string): Answer | undefined => {
    const allowed = limiter.take(caller);
    return allowed.ok
      ? undefined
      : answer(
          429,
          { message: "too many requests; retry later" },
          { "Retry-After": String(allowed.retryAfterSeconds) },
        );
  };
  const rateLimited = (c: Context<Env>, caller: string): Response | undefined => {
    const limited = limitAnswer(caller);
    return limited && send(c, limited);
  };

  /**
   * Authorises one of the scopes at a place (the Authorization header given) and takes from the caller's bucket: the
   * answer to send instead, or who the caller is (`token:<id>`, one string per token, kept: the rate limiter's look-up
   * then hashes no new string).
   */
  const callers = new Map<string, string>();
  const callerOf = (tokenId: string) => {
    let caller = callers.get(tokenId);
    if (caller === undefined) {
      caller = `token:${tokenId}`;
      callers.set(tokenId, caller);
    }
    return caller;
  };
  const authorized = (
    header: string | undefined,
    scopes: readonly Scope[],
    project: string,
    environment: string,
    remoteAddress: () => string,
  ): { refused: Answer } | string => {
    let result = auth.authorize(header, scopes[0] as Scope, project, environment);
    for (let i = 1; i < scopes.length && !result.ok; i++)
      result = auth.authorize(header, scopes[i] as Scope, project, environment);
    const caller = result.ok ? callerOf(result.tokenId) : `addr:${remoteAddress()}`;
    const limited = limitAnswer(caller);
    if (limited) return { refused: limited };
    if (!result.ok) {
      return {
        refused:
          result.status === 401
            ? answer(401, { message: "unauthorized" }, { "WWW-Authenticate": 'Bearer realm="rollway"' })
            : answer(403, { message: "forbidden" }),
      };
    }
    return caller;
  };

  /** Authorises one of the scopes at the URL's place and takes from the caller's bucket: the refusal, if any. */
  const refusal = (c: Context<Env>, scopes: readonly Scope[], basic = false): Response | undefined => {
    const authorization = requestHeader(c, "authorization");
    const who = authorized(
      basic ? basicToBearer(authorization) : authorization,
      scopes,
      c.req.param("project") ?? "",
      c.req.param("environment") ?? "",
      () => options.remoteAddress?.(c.req.raw, c.env) ?? "unknown",
    );
    if (typeof who !== "string") return send(c, who.refused);
    c.set("caller", who);
    return undefined;
  };

  const guard: Guard = (scopes, guardOptions = {}) =>
    async function authorize(c, next) {
      const refused = refusal(c, scopes, guardOptions.basic);
      if (refused) return refused;
      await next();
    };

  const limitBody = limitBodyTo(config.bodyLimitBytes);
  const bodyOf = (c: Context<Env>) => readBody(c, config.bodyLimitBytes);

  /** The 415 to send when the body is not declared JSON. */
  const contentTypeRefusal = (contentType: string | undefined): Answer | undefined =>
    /^application\/json\s*(;|$)/i.test(contentType ?? "")
      ? undefined
      : answer(415, { message: "Content-Type must be application/json" });

  /**
   * Signature, UTF-8, then the payload schema, on the body read: every problem of the payload at once. Synchronous
   * when the payload's rule patterns all have a verdict already (what CI posts again and again); a promise when a
   * never-seen pattern is first judged off the main thread.
   */
  function payloadOfBody(
    project: string,
    environment: string,
    header: (name: string) => string | undefined,
    bytes: Uint8Array,
  ): PayloadResult | Promise<PayloadResult> {
    if (
      auth.requiresSignature(project, environment) &&
      !auth.verifySignature(header("x-hub-signature-256"), bytes, project, environment)
    ) {
      return { ok: false, answer: answer(401, { message: "unauthorized" }) };
    }
    if (!isUtf8(bytes)) {
      const problems = [{ path: "(payload)", message: "the body is not UTF-8 text" }];
      return { ok: false, answer: answer(400, { message: "invalid payload", problems }) };
    }
    // A byte order mark is dropped, as TextDecoder would.
    const decoded = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
    const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
    // Never-seen rule patterns are judged by recheck in a worker pool, so a new pattern never blocks the event loop.
    let payload: DeployPayload | Promise<DeployPayload>;
    try {
      payload = parseDeployPayloadMaybeAsync(text);
    } catch (error) {
      return invalidPayload(error);
    }
    return payload instanceof Promise ? payload.then(validPayload, invalidPayload) : validPayload(payload);
  }
  const validPayload = (payload: DeployPayload): PayloadResult => {
    validated.valid();
    return { ok: true, payload };
  };
  const invalidPayload = (error: unknown): PayloadResult => {
    if (!(error instanceof PayloadError)) throw error;
    validated.invalid();
    return {
      ok: false,
      answer: answer(400, { message: "invalid payload", code: error.code, problems: error.problems }),
    };
  };

  /**
   * Content type, signature, UTF-8, then the payload schema: every problem of the payload at once. `header` reads a
   * request header, `body` the whole body (at most the limit).
   */
  async function payloadOf(
    project: string,
    environment: string,
    header: (name: string) => string | undefined,
    body: () => Promise<Uint8Array>,
  ): Promise<PayloadResult> {
    const refused = contentTypeRefusal(header("content-type"));
    if (refused) return { ok: false, answer: refused };
    return payloadOfBody(project, environment, header, await body());
  }

  async function readPayload(c: Context<Env>): Promise<PayloadRead> {
    const read = await payloadOf(
      c.req.param("project") ?? "",
      c.req.param("environment") ?? "",
      (name) => requestHeader(c, name),
      () => bodyOf(c),
    );
    return read.ok ? read : { ok: false, response: send(c, read.answer) };
  }

  // The dry run is the hot route (CI validates on every push): the guard and the length check run inline, in the
  // same order as the middleware of the other routes. On Node it is served without Hono (`dryRun` below); this route
  // serves it elsewhere (and on Node for URLs that need Hono's URL handling).
  const deployScope: readonly Scope[] = ["deploy"];
  /** What the dry run refuses before reading the body: the caller, the rate limit, the length, the content type. */
  const dryRunRefusal = (
    project: string,
    environment: string,
    header: (name: string) => string | undefined,
    remoteAddress: () => string,
  ): Answer | undefined => {
    const who = authorized(header("authorization"), deployScope, project, environment, remoteAddress);
    if (typeof who !== "string") return who.refused;
    checkLength(header("content-length"), config.bodyLimitBytes);
    return contentTypeRefusal(header("content-type"));
  };
  const dryRunResult = (read: PayloadResult): Answer =>
    read.ok ? answer(200, { message: "valid", payload: read.payload }) : read.answer;
  const dryRunAnswer = async (
    project: string,
    environment: string,
    header: (name: string) => string | undefined,
    body: () => Promise<Uint8Array>,
    remoteAddress: () => string,
  ): Promise<Answer> =>
    dryRunRefusal(project, environment, header, remoteAddress) ??
    dryRunResult(await payloadOfBody(project, environment, header, await body()));
  app.post(ROUTES.validate, async (c) =>
    send(
      c,
      await dryRunAnswer(
        c.req.param("project") ?? "",
        c.req.param("environment") ?? "",
        (name) => requestHeader(c, name),
        () => bodyOf(c),
        () => options.remoteAddress?.(c.req.raw, c.env) ?? "unknown",
      ),
    ),
  );

  /**
   * The dry run on Node's own request and response, before Hono: the same answers, request id, in-flight count,
   * metrics and log line as through Hono, without building a Request, a Context, a middleware chain and a Response
   * for each call. In the load benchmark Hono's layers were about a fifth of the dry run's CPU. Returns false for any
   * other request (Hono serves it).
   */
  const dryRun = (incoming: IncomingMessage, outgoing: ServerResponse): boolean => {
    if (incoming.method !== "POST") return false;
    const url = incoming.url ?? "";
    const place = DRY_RUN_URL.exec(url);
    if (!place) return false;
    serveDryRun(incoming, outgoing, place[1] as string, place[2] as string, url);
    return true;
  };
  /** Never a crash: whatever failed after the answer was made (the connection, most likely) ends this request only. */
  const notAnswered = (error: unknown, outgoing: ServerResponse) => {
    logger.error({ err: { type: (error as Error)?.name, message: (error as Error)?.message } }, "dry run not answered");
    outgoing.destroy();
  };
  /**
   * Without promises or async functions on the common path: the refusals at once, then the answer in the body's end
   * callback (the payload's check is synchronous once its rule patterns are judged). Each await cost a promise and a
   * microtask, a few per request.
   */
  function serveDryRun(
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    project: string,
    environment: string,
    url: string,
  ): void {
    const started = performance.now();
    const header = (name: string) => incomingHeader(incoming, name);
    const id = requestIdOf(header("x-request-id"));
    state.inFlight++;
    const reply = (answered: Answer) => {
      state.inFlight--;
      try {
        const length = String(Buffer.byteLength(answered.text));
        outgoing.writeHead(
          answered.status,
          answered.headers === JSON_HEADERS
            ? ["X-Request-Id", id, "Content-Type", "application/json", "Content-Length", length]
            : headerList(id, answered.headers, length),
        );
        outgoing.end(answered.text);
        const query = url.indexOf("?");
        finished(ROUTES.validate, "POST", answered.status, started, id, query < 0 ? url : url.slice(0, query));
      } catch (error) {
        notAnswered(error, outgoing);
      }
    };
    const failed = (error: unknown) =>
      void errorAnswer(error, id).then(reply, (unanswered: unknown) => {
        state.inFlight--;
        notAnswered(unanswered, outgoing);
      });
    let refused: Answer | undefined;
    try {
      refused = dryRunRefusal(
        project,
        environment,
        header,
        () => options.remoteAddress?.(undefined, { incoming, outgoing }) ?? "unknown",
      );
    } catch (error) {
      failed(error);
      return;
    }
    if (refused) {
      reply(refused);
      return;
    }
    readIncomingThen(incoming, config.bodyLimitBytes, (error, bytes) => {
      if (error) {
        failed(error);
        return;
      }
      let read: PayloadResult | Promise<PayloadResult>;
      try {
        read = payloadOfBody(project, environment, header, bytes as Buffer);
      } catch (unexpected) {
        failed(unexpected);
        return;
      }
      if (read instanceof Promise) read.then((r) => reply(dryRunResult(r)), failed);
      else reply(dryRunResult(read));
    });
  }

  /** What app.onError answers, for the dry run served without Hono. */
  async function errorAnswer(error: unknown, id: string): Promise<Answer> {
    if (error instanceof HTTPException) {
      const res = error.getResponse();
      return { status: res.status, text: await res.text(), headers: Object.fromEntries(res.headers) };
    }
    const err = error instanceof Error ? error : new Error(String(error));
    logger.error({ requestId: id, err: { type: err.name, message: err.message } }, "unhandled error");
    return answer(500, { message: "internal error", requestId: id });
  }

  /** Rate limit by caller address for the routes that take no token (the public upgrade stream). */
  const limitAnonymous = (c: Context<Env>) =>
    rateLimited(c, `addr:${options.remoteAddress?.(c.req.raw, c.env) ?? "unknown"}`);

  registerReleaseRoutes(app, {
    guard,
    limitBody,
    readPayload,
    bodyOf,
    deps: options.releases,
    logger,
    limitAnonymous,
    publicUpgradeOrigins: config.publicUpgradeOrigins,
  });
  registerFlaggerRoutes(app, { guard, limitBody, bodyOf, deps: options.releases });
  if (config.dashboard.enabled)
    registerDashboard(app, {
      auth,
      config: config.dashboard,
      deps: options.releases,
      logger,
      limitBody,
      rateLimited,
      remoteAddress: (c) => options.remoteAddress?.(c.req.raw, c.env) ?? "unknown",
    });

  app.notFound((c) => c.json({ message: `no route ${c.req.method} ${redactUrl(c.req.path)}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    logger.error(
      { requestId: c.get("requestId"), err: { type: error.name, message: error.message } },
      "unhandled error",
    );
    return c.json({ message: "internal error", requestId: c.get("requestId") }, 500);
  });

  return { app, state, dryRun };
}

/**
 * `Basic base64(user:token)` is read as `Bearer token`: a URL with credentials (a Flagger webhook URL, which
 * rollout-client turns into Basic auth) can then carry an approve token.
 */
function basicToBearer(header: string | undefined): string | undefined {
  const basic = /^Basic ([A-Za-z0-9+/=]{1,8192})$/.exec(header ?? "");
  if (!basic) return header;
  const decoded = Buffer.from(basic[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon >= 0 ? `Bearer ${decoded.slice(colon + 1)}` : header;
}
