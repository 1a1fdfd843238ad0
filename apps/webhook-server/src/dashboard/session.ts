/**
 * Who is looking at the dashboard, and whether a form post is theirs.
 *
 * - Token sign-in: the server's token is pasted once; it is kept in this process's memory under a random session
 *   id, and the browser holds only that id, in an HttpOnly, SameSite=Strict cookie scoped to the dashboard. The token
 *   never appears in a URL, a page, a log or browser storage.
 * - Single sign-on: an authenticating reverse proxy (oauth2-proxy, Pomerium, an ingress with auth) sets a header
 *   naming the user; it is believed only on connections from the configured proxy addresses, and the user's scopes
 *   come from the configured grants.
 * - CSRF: every form carries a token bound to the session (a random one for token sessions, an HMAC of the user for
 *   proxy users), compared in constant time; the Origin header, when sent, must be this server's.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Authenticator, Scope } from "../auth.js";
import type { DashboardConfig } from "./config.js";

export const SESSION_COOKIE = "rollway_session";
/** Before sign-in: the double-submit token of the sign-in form. */
export const SIGN_IN_COOKIE = "rollway_sign_in";

interface TokenSession {
  token: string;
  name: string | undefined;
  csrf: string;
  expires: number;
}

/** Someone signed in: how to check a scope at a place, the name their decisions are recorded under, their CSRF token. */
export interface Viewer {
  kind: "token" | "proxy";
  /** Shown in the header: the name given at sign-in, or the proxy's user. */
  label: string;
  /** Recorded in approvals (`by`). */
  by: string;
  csrf: string;
  can(scope: Scope, project: string, environment: string): boolean;
  /** The session id (token sessions), for sign-out. */
  sessionId?: string;
}

const NAME = /^[\x20-\x7e]{1,100}$/;

export class Sessions {
  readonly #sessions = new Map<string, TokenSession>();
  readonly #proxyKey = randomBytes(32);

  constructor(
    readonly auth: Authenticator,
    readonly config: DashboardConfig,
    readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#sessions.size;
  }

  /** True when the token is one of the server's (any scope, any place). */
  known(token: string): boolean {
    const result = this.auth.authorize(`Bearer ${token}`, "deploy", "\0", "\0");
    return result.ok || result.status !== 401;
  }

  /** A new session for a known token; undefined for an unknown one. */
  create(token: string, name: string | undefined): string | undefined {
    if (!/^[\x21-\x7e]{1,4096}$/.test(token) || !this.known(token)) return undefined;
    this.#sweep();
    const id = randomBytes(32).toString("base64url");
    const clean = name && NAME.test(name.trim()) ? name.trim() : undefined;
    this.#sessions.set(id, {
      token,
      name: clean,
      csrf: randomBytes(32).toString("base64url"),
      expires: this.now() + this.config.sessionTtlSeconds * 1000,
    });
    return id;
  }

  destroy(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }

  /** Drops expired sessions, and the oldest beyond the cap (a flood of sign-ins cannot grow memory without bound). */
  #sweep(): void {
    const now = this.now();
    for (const [id, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(id);
    while (this.#sessions.size >= this.config.maxSessions) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
  }

  /** The viewer of a request: the proxy's user (from a trusted proxy only), else the session's, else none. */
  viewer(input: {
    sessionId: string | undefined;
    remoteAddress: string;
    header: (name: string) => string | undefined;
  }) {
    const proxy = this.config.proxyAuth;
    if (proxy && proxy.proxies.includes(normalizeAddress(input.remoteAddress))) {
      const user = input.header(proxy.userHeader)?.trim();
      if (user && NAME.test(user)) return this.#proxyViewer(user);
    }
    const id = input.sessionId;
    const session = id ? this.#sessions.get(id) : undefined;
    if (!id || !session) return undefined;
    if (session.expires <= this.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    const header = `Bearer ${session.token}`;
    const tokenId = tokenIdOf(session.token);
    const by = session.name ? `${session.name} (token:${tokenId})` : `token:${tokenId}`;
    const viewer: Viewer = {
      kind: "token",
      label: session.name ?? `token ${tokenId}`,
      by,
      csrf: session.csrf,
      sessionId: id,
      can: (scope, project, environment) => this.auth.authorize(header, scope, project, environment).ok,
    };
    return viewer;
  }

  #proxyViewer(user: string): Viewer {
    const grants = this.config.proxyAuth?.grants ?? [];
    const match = (pattern: string, value: string) => pattern === "*" || pattern === value;
    return {
      kind: "proxy",
      label: user,
      by: `${user} (sso)`,
      csrf: createHmac("sha256", this.#proxyKey).update(user).digest("base64url"),
      can: (scope, project, environment) =>
        grants.some(
          (g) =>
            g.users.some((u) => match(u, user)) &&
            (g.scope === scope || (g.scope === "approve" && scope === "deploy")) &&
            match(g.project, project) &&
            match(g.environment, environment),
        ),
    };
  }
}

/** The short id the API records for a token (the first bytes of its SHA-256 digest, as the Authenticator's). */
const tokenIdOf = (token: string): string => createHash("sha256").update(token).digest().subarray(0, 6).toString("hex");

/** Constant-time comparison of a posted CSRF token with the viewer's. */
export function csrfMatches(expected: string, posted: unknown): boolean {
  if (typeof posted !== "string") return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(posted);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const newSignInToken = (): string => randomBytes(32).toString("base64url");

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) is `127.0.0.1`. */
export const normalizeAddress = (address: string): string => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
