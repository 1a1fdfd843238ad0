/**
 * The release dashboard under /dashboard: server-rendered pages of environments, their components, the running
 * release (live over Server-Sent Events), history and one release, with the approve scope's decisions (promote,
 * approve code as data, abort, roll back), each behind a confirm page and a CSRF-checked form post.
 */
import type { Environment, ReleaseRecord } from "@rollway/release";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import type { Logger } from "pino";
import type { Env } from "../app.js";
import type { Authenticator } from "../auth.js";
import type { StoredEvent } from "../cluster-state.js";
import type { ReleaseRoutesDeps } from "../routes/index.js";
import { DASHBOARD_CSS, FAVICON_SVG, LIVE_JS } from "./assets.js";
import type { DashboardConfig } from "./config.js";
import { DashboardData, type Decision, decisionsFor, isDecision, isTerminal, type Place } from "./data.js";
import { LiveHub } from "./live.js";
import { csrfMatches, newSignInToken, SESSION_COOKIE, Sessions, SIGN_IN_COOKIE, type Viewer } from "./session.js";
import {
  actionLinks,
  confirmPage,
  DASHBOARD,
  environmentPage,
  environmentsPage,
  historyPage,
  layout,
  messagePage,
  releasePage,
  resultPage,
  signInPage,
} from "./views.js";

export type { DashboardConfig } from "./config.js";
export { Sessions } from "./session.js";

/**
 * No inline script or style, nothing from another origin, no framing; forms post only here. The live script and
 * the stylesheet are files of this server.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const SSE_PING_MS = 15_000;
const ENV_PATH = `${DASHBOARD}/projects/:project/environments/:environment`;
const RELEASE_PATH = `${ENV_PATH}/releases/:release`;

export interface DashboardOptions {
  auth: Authenticator;
  config: DashboardConfig;
  deps: ReleaseRoutesDeps | undefined;
  logger: Logger;
  limitBody: MiddlewareHandler;
  /** The caller's address as the socket sees it (for trusting the proxy's header, and rate limits). */
  remoteAddress: (c: Context<Env>) => string;
  /** Takes one request from a caller's rate-limit bucket; the 429 to send when it is empty. */
  rateLimited: (c: Context<Env>, caller: string) => Response | undefined;
}

export function registerDashboard(app: Hono<Env>, o: DashboardOptions): { sessions: Sessions; hub?: LiveHub } {
  const sessions = new Sessions(o.auth, o.config);
  const data = o.deps ? new DashboardData(o.deps) : undefined;
  const hub = data
    ? new LiveHub(data, (release, error) =>
        o.logger.warn({ release, err: (error as Error).message }, "dashboard event stream"),
      )
    : undefined;

  const secure: MiddlewareHandler = async (c, next) => {
    await next();
    c.res.headers.set("Content-Security-Policy", DASHBOARD_CSP);
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    // same-origin, not no-referrer: with no-referrer, browsers send `Origin: null` on form posts.
    c.res.headers.set("Referrer-Policy", "same-origin");
    c.res.headers.set("X-Frame-Options", "DENY");
    c.res.headers.set("Cross-Origin-Opener-Policy", "same-origin");
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  };
  app.use(DASHBOARD, secure);
  app.use(`${DASHBOARD}/*`, secure);

  app.get(`${DASHBOARD}/assets/dashboard.css`, (c) =>
    c.body(DASHBOARD_CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=300" }),
  );
  app.get(`${DASHBOARD}/assets/favicon.svg`, (c) =>
    c.body(FAVICON_SVG, 200, { "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=3600" }),
  );
  app.get(`${DASHBOARD}/assets/live.js`, (c) =>
    c.body(LIVE_JS, 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=300",
    }),
  );

  const viewerOf = (c: Context<Env>): Viewer | undefined =>
    sessions.viewer({
      sessionCookie: getCookie(c, SESSION_COOKIE),
      remoteAddress: o.remoteAddress(c),
      header: (name) => c.req.header(name),
    });
  const page = (
    c: Context<Env>,
    viewer: Viewer | undefined,
    title: string,
    body: Parameters<typeof layout>[0]["body"],
    status: 200 | 400 | 401 | 403 | 404 | 409 | 429 | 502 | 503 = 200,
    live?: { url: string; after: number },
  ) => c.html(layout({ title, viewer, body, ...(live ? { live } : {}) }), status);
  const cookieOptions = (c: Context<Env>, path: string) =>
    ({
      path,
      httpOnly: true,
      sameSite: "Strict",
      secure: new URL(c.req.url).protocol === "https:",
    }) as const;

  /** A cross-site post (Origin or Fetch Metadata from elsewhere) is refused before anything is read. */
  const sameOrigin = (c: Context<Env>): boolean => {
    const origin = c.req.header("Origin");
    if (origin && origin !== new URL(c.req.url).origin) return false;
    const site = c.req.header("Sec-Fetch-Site");
    return !site || site === "same-origin" || site === "none";
  };

  const formOf = async (c: Context<Env>): Promise<Record<string, unknown>> => {
    const type = c.req.header("Content-Type") ?? "";
    if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return {};
    return (await c.req.parseBody()) as Record<string, unknown>;
  };

  // --- sign-in ---

  app.get(`${DASHBOARD}/sign-in`, (c) => {
    const csrf = newSignInToken();
    setCookie(c, SIGN_IN_COOKIE, csrf, { ...cookieOptions(c, `${DASHBOARD}/sign-in`), maxAge: 3600 });
    return page(
      c,
      viewerOf(c),
      "Sign in",
      signInPage({ csrf, ...(o.config.proxyAuth ? { proxyHeader: o.config.proxyAuth.userHeader } : {}) }),
    );
  });

  app.post(`${DASHBOARD}/sign-in`, o.limitBody, async (c) => {
    const limited = o.rateLimited(c, `addr:${o.remoteAddress(c)}`);
    if (limited) return limited;
    const form = await formOf(c);
    const expected = getCookie(c, SIGN_IN_COOKIE);
    if (!sameOrigin(c) || !expected || !csrfMatches(expected, form.csrf))
      return page(c, undefined, "Sign in", messagePage("Sign-in refused", "Open the sign-in page and try again."), 403);
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const name = typeof form.name === "string" ? form.name : undefined;
    const id = sessions.create(token, name);
    if (!id) {
      o.logger.info({ requestId: c.get("requestId") }, "dashboard sign-in refused: unknown token");
      const csrf = newSignInToken();
      setCookie(c, SIGN_IN_COOKIE, csrf, { ...cookieOptions(c, `${DASHBOARD}/sign-in`), maxAge: 3600 });
      return page(c, undefined, "Sign in", signInPage({ csrf, error: "This token is not one of this server's." }), 401);
    }
    deleteCookie(c, SIGN_IN_COOKIE, { path: `${DASHBOARD}/sign-in` });
    setCookie(c, SESSION_COOKIE, id, { ...cookieOptions(c, DASHBOARD), maxAge: o.config.sessionTtlSeconds });
    return c.redirect(DASHBOARD, 303);
  });

  app.post(`${DASHBOARD}/sign-out`, o.limitBody, async (c) => {
    const viewer = viewerOf(c);
    const form = await formOf(c);
    if (!viewer || !sameOrigin(c) || !csrfMatches(viewer.csrf, form.csrf))
      return page(c, viewer, "Sign out", messagePage("Sign-out refused", "Use the Sign out button."), 403);
    deleteCookie(c, SESSION_COOKIE, { path: DASHBOARD });
    return c.redirect(`${DASHBOARD}/sign-in`, 303);
  });

  // --- pages ---

  type Found = { viewer: Viewer; place: Place; env: Environment; data: DashboardData };
  /** The viewer and the URL's environment, or the page to send instead (sign in, 403, 404, 503). */
  async function placeOf(c: Context<Env>): Promise<Found | Response> {
    const viewer = viewerOf(c);
    if (!viewer) return c.redirect(`${DASHBOARD}/sign-in`, 303);
    if (!data) return page(c, viewer, "No cluster", messagePage("No cluster", "This server has no cluster."), 503);
    const project = c.req.param("project") ?? "";
    const environment = c.req.param("environment") ?? "";
    if (!viewer.can("deploy", project, environment) && !viewer.can("approve", project, environment))
      return page(c, viewer, "Forbidden", messagePage("Forbidden", "You may not read this environment."), 403);
    const env = await data.resolve(project, environment);
    const place = data.places().find((p) => p.project === project && p.environment === environment);
    if (!env || !place)
      return page(c, viewer, "Not found", messagePage("Not found", `No environment ${project}/${environment}.`), 404);
    return { viewer, place, env, data };
  }

  const latestPromoted = async (d: DashboardData, env: Environment) =>
    (await d.history(env)).find((r) => r.state === "promoted")?.id;

  const actionsFor = async (f: Found, record: ReleaseRecord) =>
    f.viewer.can("approve", f.place.project, f.place.environment)
      ? actionLinks(
          f.place,
          record,
          decisionsFor(record, record.state === "promoted" ? await latestPromoted(f.data, f.env) : undefined),
        )
      : actionLinks(f.place, record, []);

  app.get(DASHBOARD, (c) => {
    const viewer = viewerOf(c);
    if (!viewer) return c.redirect(`${DASHBOARD}/sign-in`, 303);
    const places = (data?.places() ?? []).filter(
      (p) => viewer.can("deploy", p.project, p.environment) || viewer.can("approve", p.project, p.environment),
    );
    return page(c, viewer, "Environments", environmentsPage(places));
  });

  app.get(ENV_PATH, async (c) => {
    const f = await placeOf(c);
    if (f instanceof Response) return f;
    const status = await f.data.status(f.env);
    const running = status.release && !isTerminal(status.release.state) ? status.release : undefined;
    const events = running ? ((await f.data.events(f.env.namespace, running.id))?.events ?? []) : [];
    return page(
      c,
      f.viewer,
      `${f.place.environment}`,
      environmentPage({
        place: f.place,
        env: f.env,
        status,
        running,
        events,
        actions: running ? await actionsFor(f, running) : actionLinks(f.place, status.release as ReleaseRecord, []),
      }),
      200,
      running ? { url: `${c.req.path}/releases/${running.id}/live`, after: events.at(-1)?.seq ?? 0 } : undefined,
    );
  });

  app.get(`${ENV_PATH}/releases`, async (c) => {
    const f = await placeOf(c);
    if (f instanceof Response) return f;
    return page(c, f.viewer, `History of ${f.place.environment}`, historyPage(f.place, await f.data.history(f.env)));
  });

  app.get(RELEASE_PATH, async (c) => {
    const f = await placeOf(c);
    if (f instanceof Response) return f;
    const id = c.req.param("release") ?? "";
    const record = await f.data.release(f.env, id);
    if (!record)
      return page(
        c,
        f.viewer,
        "Not found",
        messagePage("Not found", `No release ${id} in ${f.place.environment}.`),
        404,
      );
    const log = await f.data.events(f.env.namespace, id);
    const events = log?.events ?? [];
    const live = !isTerminal(record.state) || (log !== undefined && !log.done);
    return page(
      c,
      f.viewer,
      `Release ${record.id}`,
      releasePage({ place: f.place, record, events, actions: await actionsFor(f, record) }),
      200,
      live ? { url: `${c.req.path}/live`, after: events.at(-1)?.seq ?? 0 } : undefined,
    );
  });

  app.get(`${RELEASE_PATH}/live`, async (c) => {
    const f = await placeOf(c);
    if (f instanceof Response) return f;
    if (!hub) return c.body(null, 503);
    const id = c.req.param("release") ?? "";
    const given = c.req.header("Last-Event-ID") ?? c.req.query("after") ?? "0";
    const after = /^\d{1,9}$/.test(given) ? Number(given) : 0;
    const namespace = f.env.namespace;
    const streams = f.data.streams;
    return streamSSE(c, async (stream) => {
      streams.open++;
      const stop = new AbortController();
      stream.onAbort(() => stop.abort());
      const signal = AbortSignal.any([stop.signal, f.data.stopping]);
      // Writes are chained so events keep their order; a failed write (the page went away) ends the stream.
      let writing: Promise<unknown> = Promise.resolve();
      const write = (message: { id?: string; event: string; data: string }) => {
        writing = writing.then(() => stream.writeSSE(message)).catch(() => stop.abort());
      };
      const unsubscribe = hub.subscribe(namespace, id, {
        sent: after,
        send: (e: StoredEvent) =>
          write({
            id: String(e.seq),
            event: "step",
            data: JSON.stringify({
              seq: e.seq,
              type: e.type,
              at: e.at,
              message: e.message,
              ...(e.component ? { component: e.component } : {}),
            }),
          }),
        done: () => {
          write({ event: "end", data: "{}" });
          void writing.finally(() => stop.abort());
        },
      });
      const ping = setInterval(() => {
        writing = writing.then(() => stream.write(": ping\n\n")).catch(() => stop.abort());
      }, SSE_PING_MS);
      try {
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      } finally {
        clearInterval(ping);
        unsubscribe();
        streams.open--;
      }
    });
  });

  // --- decisions: a confirm page (GET), then the form post ---

  async function decisionOf(c: Context<Env>) {
    const f = await placeOf(c);
    if (f instanceof Response) return f;
    const decision = c.req.param("decision") ?? "";
    if (!isDecision(decision))
      return page(c, f.viewer, "Not found", messagePage("Not found", `No decision ${decision}.`), 404);
    if (!f.viewer.can("approve", f.place.project, f.place.environment))
      return page(
        c,
        f.viewer,
        "Forbidden",
        messagePage("Forbidden", "Decisions need a token with the approve scope for this environment."),
        403,
      );
    const id = c.req.param("release") ?? "";
    const record = await f.data.release(f.env, id);
    if (!record)
      return page(
        c,
        f.viewer,
        "Not found",
        messagePage("Not found", `No release ${id} in ${f.place.environment}.`),
        404,
      );
    return { ...f, decision: decision as Decision, record };
  }

  app.get(`${RELEASE_PATH}/:decision`, async (c) => {
    const d = await decisionOf(c);
    if (d instanceof Response) return d;
    return page(
      c,
      d.viewer,
      "Confirm",
      confirmPage({ place: d.place, record: d.record, decision: d.decision, csrf: d.viewer.csrf }),
    );
  });

  app.post(`${RELEASE_PATH}/:decision`, o.limitBody, async (c) => {
    // The forged-request checks come first: nothing about the release is read for a cross-site post.
    if (!sameOrigin(c))
      return page(c, undefined, "Refused", messagePage("Refused", "A cross-site request was refused."), 403);
    const d = await decisionOf(c);
    if (d instanceof Response) return d;
    const form = await formOf(c);
    if (!csrfMatches(d.viewer.csrf, form.csrf))
      return page(
        c,
        d.viewer,
        "Refused",
        messagePage("Refused", "This form has expired or did not come from this dashboard; open the page again."),
        403,
      );
    const base = { place: d.place, decision: d.decision };
    try {
      const done = await d.data.decide(d.env, d.record, d.decision, d.viewer.by);
      o.logger.info(
        { requestId: c.get("requestId"), release: d.record.id, decision: d.decision, by: d.viewer.by },
        "dashboard decision",
      );
      const message =
        d.decision === "rollback"
          ? `Rollback started as release ${done.release}.`
          : `Release ${d.record.id} is now ${done.state}.`;
      return page(c, d.viewer, "Done", resultPage({ ...base, release: done.release, ok: true, message }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (!code) throw error;
      return page(
        c,
        d.viewer,
        "Refused",
        resultPage({ ...base, release: d.record.id, ok: false, message: `${code}: ${(error as Error).message}` }),
        409,
      );
    }
  });

  return { sessions, ...(hub ? { hub } : {}) };
}
