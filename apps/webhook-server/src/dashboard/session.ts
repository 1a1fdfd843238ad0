/**
 * Who is looking at the dashboard, and whether a form post is theirs.
 *
 * - Token sign-in: the server's token is pasted once; the session is sealed into an HttpOnly, SameSite=Strict
 *   cookie scoped to the dashboard (AES-256-GCM with a key derived from `ROLLWAY_SESSION_KEY`): the token's SHA-256
 *   digest (never the token), the name given, the CSRF token and the expiry. The server keeps nothing, so every
 *   replica sharing the key accepts a session another issued, and a cookie changed by one bit is refused. Without a
 *   key each process draws its own (sessions then live with that process). The token never appears in a URL, a
 *   page, a log, a cookie or browser storage. Signing out clears the cookie; a copy of it stays valid until expiry.
 * - Single sign-on: an authenticating reverse proxy (oauth2-proxy, Pomerium, an ingress with auth) sets a header
 *   naming the user; it is believed only on connections from the configured proxy addresses, and the user's scopes
 *   come from the configured grants.
 * - CSRF: every form carries a token bound to the session (a random one for token sessions, an HMAC of the user for
 *   proxy users), compared in constant time; the Origin header, when sent, must be this server's.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { type Authenticator, type Scope, tokenDigest } from "../auth.js";
import type { DashboardConfig } from "./config.js";

export const SESSION_COOKIE = "rollway_session";
/** Before sign-in: the double-submit token of the sign-in form. */
export const SIGN_IN_COOKIE = "rollway_sign_in";

/** What a session cookie seals: the token's digest (base64url), the name given, the CSRF token, the expiry (ms). */
interface SealedSession {
  d: string;
  n?: string;
  c: string;
  e: number;
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
}

const NAME = /^[\x20-\x7e]{1,100}$/;

export class Sessions {
  /** AES-256-GCM key of the session cookies. */
  readonly #key: Buffer;
  /** HMAC key of proxy users' CSRF tokens (shared by replicas with the session key, so a form works on any). */
  readonly #proxyKey: Buffer;

  constructor(
    readonly auth: Authenticator,
    readonly config: DashboardConfig,
    readonly now: () => number = () => Date.now(),
  ) {
    const secret = config.sessionKey;
    this.#key = secret ? derive(secret, "rollway dashboard session v1") : randomBytes(32);
    this.#proxyKey = secret ? derive(secret, "rollway dashboard proxy csrf v1") : randomBytes(32);
  }

  /** True when the token is one of the server's (any scope, any place). */
  known(token: string): boolean {
    const result = this.auth.authorize(`Bearer ${token}`, "deploy", "\0", "\0");
    return result.ok || result.status !== 401;
  }

  /** The sealed session cookie's value for a known token; undefined for an unknown one. */
  create(token: string, name: string | undefined): string | undefined {
    if (!/^[\x21-\x7e]{1,4096}$/.test(token) || !this.known(token)) return undefined;
    const clean = name && NAME.test(name.trim()) ? name.trim() : undefined;
    const session: SealedSession = {
      d: tokenDigest(token).toString("base64url"),
      ...(clean ? { n: clean } : {}),
      c: randomBytes(32).toString("base64url"),
      e: this.now() + this.config.sessionTtlSeconds * 1000,
    };
    return seal(this.#key, session);
  }

  /** The viewer of a request: the proxy's user (from a trusted proxy only), else the session's, else none. */
  viewer(input: {
    sessionCookie: string | undefined;
    remoteAddress: string;
    header: (name: string) => string | undefined;
  }) {
    const proxy = this.config.proxyAuth;
    if (proxy?.proxies.includes(normalizeAddress(input.remoteAddress))) {
      const user = input.header(proxy.userHeader)?.trim();
      if (user && NAME.test(user)) return this.#proxyViewer(user);
    }
    const session = unseal(this.#key, input.sessionCookie);
    if (!session || session.e <= this.now()) return undefined;
    const digest = Buffer.from(session.d, "base64url");
    const check = this.auth.authorizeDigest(digest, "deploy", "\0", "\0");
    // A token taken out of the configuration ends its sessions.
    if (!check.ok && check.status === 401) return undefined;
    const tokenId = digest.subarray(0, 6).toString("hex");
    const by = session.n ? `${session.n} (token:${tokenId})` : `token:${tokenId}`;
    const viewer: Viewer = {
      kind: "token",
      label: session.n ?? `token ${tokenId}`,
      by,
      csrf: session.c,
      can: (scope, project, environment) => this.auth.authorizeDigest(digest, scope, project, environment).ok,
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

/** A 32-byte key for one use (`info`) from the configured session key (HKDF-SHA-256). */
const derive = (secret: string, info: string): Buffer =>
  Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.alloc(0), info, 32));

/** The cookie's name is bound in as associated data: a sealed value is good for this cookie only. */
const AAD = Buffer.from(SESSION_COOKIE);

/** `v1.` + base64url(IV ‖ GCM tag ‖ ciphertext of the JSON). */
function seal(key: Buffer, session: SealedSession): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(JSON.stringify(session), "utf8"), cipher.final()]);
  return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
}

/** The sealed session, or undefined for anything not sealed with this key (changed, truncated, another key's). */
function unseal(key: Buffer, value: string | undefined): SealedSession | undefined {
  if (!value?.startsWith("v1.") || value.length > 4096) return undefined;
  const raw = Buffer.from(value.slice(3), "base64url");
  if (raw.length <= 28) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAAD(AAD);
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    const s = JSON.parse(text) as Partial<SealedSession>;
    if (typeof s.d !== "string" || typeof s.c !== "string" || typeof s.e !== "number") return undefined;
    if (s.n !== undefined && typeof s.n !== "string") return undefined;
    return s as SealedSession;
  } catch {
    return undefined;
  }
}

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
