/**
 * The release routes: deploy (seed 004's webhook), status, history, the events of one release as Server-Sent
 * Events (resumable with Last-Event-ID), and the decisions (promote, abort, rollback, approve code as data).
 */
import type { Environment, ReleaseRecord, StatusCache } from "@rollway/release";
import { EnvironmentError, httpStatusOfCode, ReleaseError } from "@rollway/release";
import { RolloutClientError } from "@rollway/rollout-client";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { Logger } from "pino";
import type { Env, Guard, PayloadRead } from "../app.js";
import type { ClusterState, EventLog } from "../cluster-state.js";
import type { Environments } from "../environments.js";
import { isTerminal, type Releases } from "../releases.js";

export interface ReleaseRoutesDeps {
  releases: Releases;
  state: ClusterState;
  environments: Environments;
  /** Aborted when the server stops: event streams end (clients resume elsewhere with Last-Event-ID). */
  stopping: AbortSignal;
  /** Event streams open now: shutdown lets them end before it closes the connections. */
  streams: { open: number };
  /**
   * The informer of a namespace (release records and workloads, one list-then-watch per kind, started on first
   * use): status reads. Absent: every read goes to the cluster.
   */
  cache?: (namespace: string) => StatusCache;
}

const BASE = "/v1/projects/:project/environments/:environment";
/** Decisions a token with the `approve` scope may send, by URL segment. */
export const DECISIONS = ["promote", "abort", "rollback", "approve-code-as-data"] as const;
type Decision = (typeof DECISIONS)[number];
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const SSE_PING_MS = 15_000;

export function releaseError(c: Context<Env>, error: unknown): Response {
  // An environment discovered from labels that the engine's schema refuses: the cluster must change, not the payload.
  if (error instanceof EnvironmentError)
    return c.json(
      { message: `the environment in the cluster is invalid: ${error.message}`, code: "INVALID_ENVIRONMENT" },
      409,
    );
  // The cluster refused or could not be reached (rollout-client's one error class, on every path): a bad gateway,
  // with the cluster's code (FORBIDDEN for RBAC, UNAVAILABLE, CONFLICT…), never "internal error".
  if (error instanceof RolloutClientError) return c.json({ message: error.message, code: error.code }, 502);
  if (!(error instanceof ReleaseError)) throw error;
  // The one map code → HTTP status (@rollway/release's error-codes), shared with the CLI's exit codes.
  const status = httpStatusOfCode(error.code);
  if (error.code === "INVALID_PLAN") {
    // The plan's problems as it made them: never rebuilt from the message.
    const problems = error.problems ?? [{ path: "(plan)", message: error.message }];
    return c.json({ message: "the payload cannot be released to this environment", code: error.code, problems }, 400);
  }
  return c.json({ message: error.message, code: error.code }, status);
}

/** `?fresh=1` (or `true`): a consistent read from the cluster, not the informer cache. */
const isFresh = (c: Context<Env>) => {
  const fresh = c.req.query("fresh");
  return fresh === "1" || fresh === "true";
};

const summary = (r: ReleaseRecord) => ({
  id: r.id,
  state: r.state,
  payloadDigest: r.payloadDigest,
  startedAt: r.startedAt,
  updatedAt: r.updatedAt,
  ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
  ...(r.message ? { reason: r.message } : {}),
  ...(r.rollbackOf ? { rollbackOf: r.rollbackOf } : {}),
  approvals: r.approvals,
  ...(r.abortRequested ? { abortRequested: r.abortRequested } : {}),
  components: r.plan.components
    .filter((x) => x.image.changed || x.config?.changed)
    .map((x) => ({ name: x.name, from: x.image.from, to: x.image.to })),
});

/**
 * A Server-Sent Events response that the server's shutdown can end: counted in `streams.open`, pinged every
 * SSE_PING_MS so proxies keep it, its signal aborted by the client, the server stopping or a failed write.
 */
function eventStream(
  c: Context<Env>,
  d: ReleaseRoutesDeps,
  logger: Logger,
  what: Record<string, unknown>,
  body: (stream: SSEStreamingApi, signal: AbortSignal) => Promise<void>,
): Response {
  return streamSSE(c, async (stream) => {
    d.streams.open++;
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, d.stopping, c.req.raw.signal]);
    stream.onAbort(() => stop.abort());
    const ping = setInterval(() => void stream.write(": ping\n\n").catch(() => stop.abort()), SSE_PING_MS);
    try {
      await body(stream, signal);
    } catch (error) {
      if (!signal.aborted) logger.warn({ ...what, err: (error as Error).message }, "event stream");
    } finally {
      clearInterval(ping);
      d.streams.open--;
    }
  });
}

export function registerReleaseRoutes(
  app: Hono<Env>,
  o: {
    guard: Guard;
    limitBody: MiddlewareHandler;
    readPayload: (c: Context<Env>) => Promise<PayloadRead>;
    bodyOf: (c: Context<Env>) => Promise<Uint8Array>;
    deps: ReleaseRoutesDeps | undefined;
    logger: Logger;
    limitAnonymous: (c: Context<Env>) => Response | undefined;
    publicUpgradeOrigins: readonly string[];
  },
): void {
  const { guard, deps } = o;
  const anyOrigin = o.publicUpgradeOrigins.includes("*");
  const origins = new Set(o.publicUpgradeOrigins.filter((x) => x !== "*").map((x) => new URL(x).origin));
  const urls = (c: Context<Env>, id: string) => {
    const base = `/v1/projects/${c.req.param("project")}/environments/${c.req.param("environment")}/releases/${id}`;
    return { statusUrl: base, eventsUrl: `${base}/events` };
  };

  /** The environment of the URL, or the answer to send. */
  async function environmentOf(c: Context<Env>): Promise<{ env: Environment; deps: ReleaseRoutesDeps } | Response> {
    if (!deps)
      return c.json(
        {
          message: "no cluster is configured: this server only validates (set ROLLWAY_KUBECONFIG or run in a cluster)",
        },
        503,
      );
    const project = c.req.param("project") ?? "";
    const environment = c.req.param("environment") ?? "";
    let env: Environment | undefined;
    try {
      env = await deps.environments.resolve(project, environment);
    } catch (error) {
      return releaseError(c, error);
    }
    if (!env) return c.json({ message: `no environment "${environment}" is configured for project "${project}"` }, 404);
    return { env, deps };
  }

  /** The release of the URL, when it belongs to the URL's environment. */
  async function recordOf(c: Context<Env>, env: Environment, d: ReleaseRoutesDeps, cached = false) {
    const id = c.req.param("release") ?? "";
    // Status reads are served from the informer cache, which lags the cluster by milliseconds. Where a client knows
    // of a newer state, the cache does not answer until it has caught up (see StatusCache.expect): after this
    // replica's decision on the release, after this replica saw the release's event stream end. A client that
    // needs a consistent read whatever replica answers sends `?fresh=1`. Decisions always read the cluster.
    const fromCache = cached && !isFresh(c) ? d.cache?.(env.namespace).record(id) : undefined;
    const record = fromCache ?? (await d.releases.engine.get(id, env.namespace));
    if (record.environment !== env.name)
      throw new ReleaseError("NOT_FOUND", `no release "${id}" in environment "${env.name}"`, { release: id });
    return record;
  }

  app.post(`${BASE}/deploy`, guard(["deploy"]), o.limitBody, async (c) => {
    const found = await environmentOf(c);
    if (found instanceof Response) return found;
    const { env, deps: d } = found;
    const key = c.req.header("Idempotency-Key");
    if (key !== undefined && !KEY_PATTERN.test(key))
      return c.json(
        {
          message: "invalid request",
          problems: [{ path: "(header) Idempotency-Key", message: "1 to 255 visible ASCII characters" }],
        },
        400,
      );
    const read = await o.readPayload(c);
    if (!read.ok) return read.response;
    try {
      const plan = await d.releases.engine.plan(read.payload, env);
      const outcome = await d.releases.deploy({
        project: c.req.param("project"),
        urlEnvironment: c.req.param("environment"),
        environment: env,
        plan,
        key,
        queue: c.req.query("queue") !== "false",
        signal: c.req.raw.signal,
      });
      if (outcome.kind === "locked") return c.json({ message: outcome.message, runningRelease: outcome.running }, 409);
      if (outcome.kind === "key-reused") return c.json({ message: outcome.message }, 422);
      d.cache?.(env.namespace).expect(outcome.release, "exists");
      return c.json({
        message: "success",
        releaseId: outcome.release,
        ...urls(c, outcome.release),
        ...(outcome.duplicate ? { duplicate: true } : {}),
      });
    } catch (error) {
      return releaseError(c, error);
    }
  });

  app.get(`${BASE}/status`, guard(["deploy", "approve"]), async (c) => {
    const found = await environmentOf(c);
    if (found instanceof Response) return found;
    try {
      const cache = isFresh(c) ? undefined : found.deps.cache?.(found.env.namespace);
      const status = cache?.status(found.env) ?? (await found.deps.releases.engine.status(found.env));
      return c.json({
        message: "ok",
        environment: status.environment,
        namespace: status.namespace,
        release: status.release ? summary(status.release) : null,
        components: status.components,
      });
    } catch (error) {
      return releaseError(c, error);
    }
  });

  // Seed 000's onUpgradeDone: pages of a running frontend learn that a new version serves users. No token (a
  // browser has none), so it is off unless origins are configured, says only which release and when, and is limited
  // per address like any unauthenticated call.
  app.get(`${BASE}/upgrades`, async (c) => {
    if (o.publicUpgradeOrigins.length === 0)
      return c.json(
        { message: "the public upgrade stream is off; set ROLLWAY_PUBLIC_UPGRADE_ORIGINS to the frontends' origins" },
        404,
      );
    const limited = o.limitAnonymous(c);
    if (limited) return limited;
    const found = await environmentOf(c);
    if (found instanceof Response) return found;
    const origin = c.req.header("Origin");
    if (origin && (anyOrigin || origins.has(origin))) {
      c.header("Access-Control-Allow-Origin", anyOrigin ? "*" : origin);
      if (!anyOrigin) c.header("Vary", "Origin");
    } else if (origin) {
      return c.json({ message: `origin ${origin} may not follow upgrades here` }, 403);
    }
    const { env, deps: d } = found;
    return eventStream(c, d, o.logger, { stream: "upgrades" }, async (stream, signal) => {
      for await (const { type, record } of d.releases.engine.promotions(env, { signal })) {
        // `current` first (the release serving now, or null), then `upgrade-done` for each promotion.
        const data = record
          ? { release: record.id, environment: env.name, at: record.finishedAt ?? record.updatedAt }
          : { release: null, environment: env.name };
        await stream.writeSSE({
          event: type === "current" ? "current" : "upgrade-done",
          ...(record ? { id: record.id } : {}),
          data: JSON.stringify(data),
        });
      }
    });
  });

  app.get(`${BASE}/releases`, guard(["deploy", "approve"]), async (c) => {
    const found = await environmentOf(c);
    if (found instanceof Response) return found;
    try {
      // From the cluster: a list from the cache could miss a release accepted a moment ago.
      const history = await found.deps.releases.engine.history(found.env.name, found.env.namespace);
      return c.json({ message: "ok", releases: history.map(summary) });
    } catch (error) {
      return releaseError(c, error);
    }
  });

  app.get(`${BASE}/releases/:release`, guard(["deploy", "approve"]), async (c) => {
    const found = await environmentOf(c);
    if (found instanceof Response) return found;
    try {
      return c.json({ message: "ok", release: summary(await recordOf(c, found.env, found.deps, true)) });
    } catch (error) {
      // Queued behind another release: its events exist, its record not yet.
      if (error instanceof ReleaseError && error.code === "NOT_FOUND") {
        const log = await found.deps.state.readEvents(found.env.namespace, c.req.param("release") ?? "");
        if (log && !log.done)
          return c.json({ message: "ok", release: { id: c.req.param("release"), state: "queued" } });
      }
      return releaseError(c, error);
    }
  });

  app.get(`${BASE}/releases/:release/events`, guard(["deploy", "approve"]), async (c) => {
    const found = await environmentOf(c);
    if (found instanceof Response) return found;
    const { env, deps: d } = found;
    const id = c.req.param("release") ?? "";
    const lastHeader = c.req.header("Last-Event-ID") ?? c.req.query("lastEventId") ?? "0";
    const last = /^\d{1,9}$/.test(lastHeader) ? Number(lastHeader) : 0;
    let log: EventLog | undefined;
    let record: ReleaseRecord | undefined;
    try {
      log = await d.state.readEvents(env.namespace, id);
      record = await recordOf(c, env, d).catch((error: unknown) => {
        if (error instanceof ReleaseError && error.code === "NOT_FOUND" && log) return undefined;
        throw error;
      });
    } catch (error) {
      return releaseError(c, error);
    }
    return eventStream(c, d, o.logger, { release: id }, async (stream, signal) => {
      let sent = last;
      const send = async (l: EventLog) => {
        for (const event of l.events) {
          if (event.seq <= sent) continue;
          await stream.writeSSE({ id: String(event.seq), event: event.type, data: JSON.stringify(event) });
          sent = event.seq;
        }
      };
      // The log is done once the release is final: this replica's reads of it must not answer older than that.
      const finished = () => d.cache?.(env.namespace).expect(id, "final");
      if (log?.done) finished();
      if (log) await send(log);
      // Done, or finished by an engine that died before closing the log: nothing more will come.
      if (log?.done || (record && isTerminal(record.state) && log)) return;
      let from = log?.resourceVersion;
      while (!signal.aborted) {
        for await (const next of d.state.watchEvents(env.namespace, id, from, signal)) {
          if (next.done) finished();
          await send(next);
          from = next.resourceVersion;
          if (next.done) return;
        }
      }
    });
  });

  app.post(`${BASE}/releases/:release/:decision`, guard(["approve"]), o.limitBody, async (c) => {
    const decision = (c.req.param("decision") ?? "") as Decision;
    if (!DECISIONS.includes(decision))
      return c.json({ message: `no decision "${decision}"; use one of ${DECISIONS.join(", ")}` }, 404);
    const found = await environmentOf(c);
    if (found instanceof Response) return found;
    const { env, deps: d } = found;
    let by = c.get("caller");
    const text = Buffer.from(await o.bodyOf(c)).toString("utf8");
    if (text.trim()) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return c.json({ message: "invalid request", problems: [{ path: "(body)", message: "not JSON" }] }, 400);
      }
      const name = (body as { by?: unknown } | null)?.by;
      if (name !== undefined && (typeof name !== "string" || !/^[\x20-\x7e]{1,100}$/.test(name)))
        return c.json(
          { message: "invalid request", problems: [{ path: "by", message: "1 to 100 printable characters" }] },
          400,
        );
      if (typeof name === "string") by = `${name} (${by})`;
    }
    try {
      const record = await recordOf(c, env, d);
      const engine = d.releases.engine;
      const ns = env.namespace;
      if (decision === "rollback") {
        const id = await d.releases.rollback(ns, env.name, record.id, by);
        d.cache?.(ns).expect(id, "exists");
        return c.json({ message: "success", releaseId: id, rollbackOf: record.id, ...urls(c, id) });
      }
      const after =
        decision === "promote"
          ? await engine.promote(record.id, { by, namespace: ns })
          : decision === "abort"
            ? await engine.abort(record.id, { by, namespace: ns })
            : await engine.approve(record.id, { by, namespace: ns, gate: "code-as-data" });
      d.cache?.(ns).expect(after.id, after);
      return c.json({ message: "success", release: summary(after) });
    } catch (error) {
      return releaseError(c, error);
    }
  });
}
