/**
 * The webhook server's HTTP surface (Hono): a thin adapter that checks who is calling, hands the body to the core
 * packages and turns their answers into HTTP. Every response is JSON with a `message`.
 */
import { PayloadError, parseDeployPayload } from "@rollway/payload-schema";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { Logger } from "pino";
import { Authenticator, type Scope } from "./auth.js";
import type { ServerConfig } from "./config.js";
import { redactUrl } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { RateLimiter } from "./rate-limit.js";

export const ROUTES = {
  validate: "/v1/projects/:project/environments/:environment/validate",
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
  remoteAddress?: (raw: Request, env: unknown) => string;
}

type Env = { Variables: { requestId: string } };

export function createApp(options: AppOptions) {
  const { config, logger, metrics } = options;
  const auth = new Authenticator(config.tokens, config.signingSecrets);
  const limiter = new RateLimiter(config.rateLimitPerMinute);
  const state: AppState = { ready: true, inFlight: 0 };
  const app = new Hono<Env>();

  app.use(requestId({ headerName: "X-Request-Id", limitLength: 64 }));
  app.use(async (c, next) => {
    const started = performance.now();
    state.inFlight++;
    try {
      await next();
    } finally {
      state.inFlight--;
      const route = c.req.routePath;
      const seconds = (performance.now() - started) / 1000;
      metrics.requests.inc({ route, method: c.req.method, status: String(c.res.status) });
      metrics.requestDuration.observe({ route }, seconds);
      logger.info(
        {
          requestId: c.get("requestId"),
          method: c.req.method,
          url: redactUrl(c.req.path),
          status: c.res.status,
          ms: Math.round(seconds * 1000),
        },
        "request",
      );
    }
  });

  app.get("/healthz", (c) => c.json({ message: "ok" }));
  app.get("/readyz", (c) => (state.ready ? c.json({ message: "ready" }) : c.json({ message: "shutting down" }, 503)));
  app.get("/metrics", async (c) =>
    c.text(await metrics.registry.metrics(), 200, { "Content-Type": metrics.registry.contentType }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  const guard = (scope: Scope) =>
    async function authorize(c: import("hono").Context<Env>, next: () => Promise<void>) {
      const project = c.req.param("project") ?? "";
      const environment = c.req.param("environment") ?? "";
      const result = auth.authorize(c.req.header("Authorization"), scope, project, environment);
      const caller = result.ok
        ? `token:${result.tokenId}`
        : `addr:${options.remoteAddress?.(c.req.raw, c.env) ?? "unknown"}`;
      const allowed = limiter.take(caller);
      if (!allowed.ok) {
        return c.json({ message: "too many requests; retry later" }, 429, {
          "Retry-After": String(allowed.retryAfterSeconds),
        });
      }
      if (!result.ok) {
        return result.status === 401
          ? c.json({ message: "unauthorized" }, 401, { "WWW-Authenticate": 'Bearer realm="rollway"' })
          : c.json({ message: "forbidden" }, 403);
      }
      await next();
    };

  app.post(
    ROUTES.validate,
    guard("deploy"),
    bodyLimit({
      maxSize: config.bodyLimitBytes,
      // The rest of the body is never read, so the connection cannot be reused.
      onError: (c) =>
        c.json({ message: `the body is larger than ${config.bodyLimitBytes} bytes` }, 413, { Connection: "close" }),
    }),
    async (c) => {
      const project = c.req.param("project");
      const environment = c.req.param("environment");
      if (!/^application\/json\s*(;|$)/i.test(c.req.header("Content-Type") ?? "")) {
        return c.json({ message: "Content-Type must be application/json" }, 415);
      }
      const body = new Uint8Array(await c.req.arrayBuffer());
      if (
        auth.requiresSignature(project, environment) &&
        !auth.verifySignature(c.req.header("X-Hub-Signature-256"), body, project, environment)
      ) {
        return c.json({ message: "unauthorized" }, 401);
      }
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(body);
      } catch {
        return c.json(
          { message: "invalid payload", problems: [{ path: "(payload)", message: "the body is not UTF-8 text" }] },
          400,
        );
      }
      try {
        const payload = parseDeployPayload(text);
        metrics.payloadsValidated.inc({ result: "valid" });
        return c.json({ message: "valid", payload });
      } catch (error) {
        if (!(error instanceof PayloadError)) throw error;
        metrics.payloadsValidated.inc({ result: "invalid" });
        return c.json({ message: "invalid payload", code: error.code, problems: error.problems }, 400);
      }
    },
  );

  app.notFound((c) => c.json({ message: `no route ${c.req.method} ${redactUrl(c.req.path)}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return c.json({ message: error.message }, error.status);
    logger.error(
      { requestId: c.get("requestId"), err: { type: error.name, message: error.message } },
      "unhandled error",
    );
    return c.json({ message: "internal error", requestId: c.get("requestId") }, 500);
  });

  return { app, state };
}
