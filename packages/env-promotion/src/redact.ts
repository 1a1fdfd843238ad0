/**
 * Secrets must never reach a log or an error: git echoes remote URLs (which may carry `user:token@`) in its
 * messages, and tokens may be passed to us directly. Every text that leaves the package goes through `redact`.
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi;
const GITHUB_TOKENS = /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})\b/g;
const AUTH_HEADER = /(authorization:\s*)(?:(?:bearer|token|basic)\s+)?\S+/gi;

export const REDACTED = "***";

export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(GITHUB_TOKENS, REDACTED)
    .replace(AUTH_HEADER, `$1${REDACTED}`);
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A copy of an error that is safe to keep as `cause`: same name and redacted message, no stack of secrets. */
export function redactedCause(error: unknown, secrets: readonly (string | undefined)[] = []): Error {
  const message = error instanceof Error ? error.message : String(error);
  const copy = new Error(redact(message, secrets));
  copy.name = error instanceof Error ? error.name : "Error";
  return copy;
}
