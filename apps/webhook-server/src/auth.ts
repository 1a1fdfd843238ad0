/**
 * Bearer tokens per project and environment, each with a scope: `deploy` (post payloads) or `approve` (promote,
 * abort, roll back, approve code as data). Of the configured tokens only SHA-256 digests are kept in memory, and a
 * presented token is compared with every candidate in constant time, so neither timing nor errors tell a caller which
 * part was wrong. Two tokens may be valid at once for one place, for rotation.
 */
import * as crypto from "node:crypto";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export type Scope = "deploy" | "approve";

export interface TokenGrant {
  scope: Scope;
  /** A project name, or "*" for any. */
  project: string;
  /** An environment name, or "*" for any. */
  environment: string;
  /** The valid tokens (two while rotating). */
  tokens: readonly string[];
}

export interface SigningSecret {
  project: string;
  environment: string;
  secret: string;
}

interface StoredGrant {
  scope: Scope;
  project: string;
  environment: string;
  digest: Buffer;
  /** How logs and rate limits name the token: the first 6 bytes of its digest, in hex. */
  id: string;
  /** This grant's answer, made once: an allowed request allocates none. */
  allowed: AuthResult;
}

export type AuthResult =
  | { ok: true; tokenId: string }
  | { ok: false; status: 401 | 403; reason: "unauthenticated" | "forbidden" };

// One-shot hashing where Node has it (>= 20.12): cheaper than a Hash object, which showed in the dry run's profile;
// hex output then one Buffer costs half of crypto.hash's own "buffer" output (0.6 µs vs 1.1 µs, Node 20).
const digest: (token: string) => Buffer =
  typeof crypto.hash === "function"
    ? (token) => Buffer.from(crypto.hash("sha256", token, "hex"), "hex")
    : (token) => createHash("sha256").update(token, "utf8").digest();
/** The SHA-256 digest the Authenticator keeps of a token (a dashboard session holds this, never the token). */
export const tokenDigest = digest;
/** Writes a presented token's digest into `into` (32 bytes): no Buffer per request. */
const writeDigest: (token: string, into: Buffer) => void =
  typeof crypto.hash === "function"
    ? (token, into) => {
        into.write(crypto.hash("sha256", token, "hex"), "hex");
      }
    : (token, into) => {
        digest(token).copy(into);
      };
const BEARER = /^Bearer ([\x21-\x7e]{1,4096})$/;

/**
 * Whether `a` and `b` are the same text, in a time that depends on their length only, never on where they differ (as
 * `timingSafeEqual`, which also needs equal lengths).
 */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
const matches = (pattern: string, value: string) => pattern === "*" || pattern === value;

export class Authenticator {
  readonly #grants: StoredGrant[];
  readonly #secrets: SigningSecret[];
  /**
   * The last well-formed Authorization header and its token's digest. A client that sends the same header again (a
   * kept-alive connection, an ingress's upstream connection, a CI job polling) is not hashed again: the SHA-256 was
   * ~5% of a dry run's CPU (BENCHMARKS.md, sixteenth session). The header is compared in constant time, so timing
   * tells a caller only whether its header is exactly the last one (it then holds that token already) or has its
   * length. The verdict is never kept: every request is judged against every grant.
   */
  #lastHeader: string | undefined;
  readonly #lastDigest = Buffer.alloc(32);

  constructor(grants: readonly TokenGrant[], secrets: readonly SigningSecret[] = []) {
    this.#grants = grants.flatMap((g) =>
      g.tokens.map((token) => {
        const id = digest(token).subarray(0, 6).toString("hex");
        return {
          scope: g.scope,
          project: g.project,
          environment: g.environment,
          digest: digest(token),
          id,
          allowed: Object.freeze({ ok: true as const, tokenId: id }),
        };
      }),
    );
    this.#secrets = [...secrets];
  }

  get tokenCount(): number {
    return this.#grants.length;
  }

  /**
   * Checks `Authorization: Bearer <token>` for a scope at a project and environment. 401 for anything that does not
   * identify a known token (missing, malformed, unknown); 403 for a known token used outside its grants.
   */
  authorize(header: string | undefined, scope: Scope, project: string, environment: string): AuthResult {
    if (header === undefined) return { ok: false, status: 401, reason: "unauthenticated" };
    const last = this.#lastHeader;
    if (last === undefined || !sameText(header, last)) {
      const match = BEARER.exec(header);
      if (!match) return { ok: false, status: 401, reason: "unauthenticated" };
      writeDigest(match[1] as string, this.#lastDigest);
      this.#lastHeader = header;
    }
    return this.authorizeDigest(this.#lastDigest, scope, project, environment);
  }

  /**
   * The same check for a token known only by its SHA-256 digest (`tokenDigest`): what a dashboard session holds,
   * sealed in its cookie, instead of the token.
   */
  authorizeDigest(presented: Buffer, scope: Scope, project: string, environment: string): AuthResult {
    if (presented.length !== 32) return { ok: false, status: 401, reason: "unauthenticated" };
    let known = false;
    let allowed: StoredGrant | undefined;
    // No early exit: every candidate is compared, whatever matches.
    for (const grant of this.#grants) {
      const same = timingSafeEqual(presented, grant.digest);
      known ||= same;
      if (same && grant.scope === scope && matches(grant.project, project) && matches(grant.environment, environment))
        allowed = grant;
    }
    if (allowed) return allowed.allowed;
    return known
      ? { ok: false, status: 403, reason: "forbidden" }
      : { ok: false, status: 401, reason: "unauthenticated" };
  }

  /** True when a signing secret is configured for this place (then a valid signature is required). */
  requiresSignature(project: string, environment: string): boolean {
    return this.#secrets.some((s) => matches(s.project, project) && matches(s.environment, environment));
  }

  /** Verifies GitHub's `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>` against every configured secret. */
  verifySignature(header: string | undefined, body: Uint8Array, project: string, environment: string): boolean {
    const match = /^sha256=([0-9a-f]{64})$/.exec(header ?? "");
    const presented = Buffer.from(match?.[1] ?? "0".repeat(64), "hex");
    let ok = false;
    for (const s of this.#secrets) {
      if (!matches(s.project, project) || !matches(s.environment, environment)) continue;
      const expected = createHmac("sha256", s.secret).update(body).digest();
      ok ||= timingSafeEqual(presented, expected) && match !== null;
    }
    return ok;
  }
}
