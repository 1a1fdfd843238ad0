/**
 * Credentials never leave this package in a text: URLs like `https://<token>@host/...` are configured by users for
 * unattended runs, and git, fetch and our own messages would otherwise echo them into cron mail and CI logs.
 */

const REDACTED = "***";
// scheme://userinfo@  — userinfo is anything up to the first @ that holds no slash, space or quote.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@'"`]+@/gi;
// Authorization headers, as git prints them with GIT_TRACE_CURL or in config dumps.
const AUTH_HEADER = /(authorization:\s*(?:basic|bearer|token)\s+)[^\s'"]+/gi;

/** Replaces the user and password of every URL in `text` with `***`, and every Authorization header value. */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_USERINFO, `$1${REDACTED}@`).replace(AUTH_HEADER, `$1${REDACTED}`);
}

/** Splits the credentials off a URL so they can travel in a header instead of in argv, `.git/config` or logs. */
export interface SplitUrl {
  /** The URL without user and password. */
  url: string;
  /** `user:password` decoded, or undefined when the URL has none (local paths, ssh, file://). */
  credentials: { user: string; password: string } | undefined;
}

export function splitCredentials(raw: string): SplitUrl {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return { url: raw, credentials: undefined };
  }
  if (!/^https?:$/.test(parsed.protocol) || (parsed.username === "" && parsed.password === "")) {
    return { url: raw, credentials: undefined };
  }
  const credentials = { user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  parsed.username = "";
  parsed.password = "";
  return { url: parsed.toString(), credentials };
}

export function basicAuthorization(credentials: { user: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString("base64")}`;
}

/**
 * A redactor that also knows the exact secrets in play (the token, its URL-encoded and base64 forms), for texts that
 * might hold them outside a URL, such as a git error quoting its configuration.
 */
export function createRedactor(urls: readonly string[]): (text: string) => string {
  const secrets = new Set<string>();
  for (const raw of urls) {
    const { credentials } = splitCredentials(raw);
    if (!credentials) continue;
    for (const value of [credentials.user, credentials.password]) {
      if (value.length >= 4) {
        secrets.add(value);
        secrets.add(encodeURIComponent(value));
      }
    }
    secrets.add(basicAuthorization(credentials).slice("Basic ".length));
  }
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = redactUrlCredentials(text);
    for (const secret of ordered) out = out.split(secret).join(REDACTED);
    return out;
  };
}
