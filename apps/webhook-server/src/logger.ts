/** JSON logs (pino). Nothing that can hold a secret is logged: no headers, no bodies, and URLs lose credentials and query values. */
import pino, { type Logger } from "pino";

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "rollway-webhook-server" },
      redact: {
        paths: ["req.headers.authorization", "headers.authorization", "*.token", "*.secret", "token", "secret"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/** `https://user:pass@host/p?token=x` → `https://[redacted]@host/p?token=[redacted]`; relative paths keep their shape. */
export function redactUrl(url: string): string {
  return url
    .replace(/\/\/[^/@\s]+@/g, "//[redacted]@")
    .replace(/([?&][^=&#]+)=([^&#]*)/g, (_all, key: string) => `${key}=[redacted]`);
}
