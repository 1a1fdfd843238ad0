/** The dashboard's part of the server configuration (`dashboard:` in the config file). */
import { z } from "zod";

const Pattern = z.string().regex(/^(\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/, "a lowercase DNS label or *");

export const DashboardConfigSchema = z.strictObject({
  /** Serve the dashboard under /dashboard. */
  enabled: z.boolean().default(true),
  /** How long a sign-in lasts. */
  sessionTtlSeconds: z.coerce
    .number()
    .int()
    .min(60)
    .default(8 * 3600),
  /**
   * Seals the session cookies (`ROLLWAY_SESSION_KEY`): every replica given the same key accepts the sessions of
   * the others. Without it, each process draws its own key, and its sessions end with it.
   */
  sessionKey: z.string().min(32, "at least 32 characters (a random secret, e.g. `openssl rand -base64 32`)").optional(),
  /** Accepted for older configurations; sessions live in their cookies now, so the server keeps none to cap. */
  maxSessions: z.coerce.number().int().min(1).default(10_000),
  /**
   * Single sign-on through an authenticating reverse proxy: the header naming the user is believed only on
   * connections from these addresses (the proxy's own, as this server sees them).
   */
  proxyAuth: z
    .strictObject({
      userHeader: z
        .string()
        .regex(/^[A-Za-z0-9-]{1,64}$/)
        .default("X-Forwarded-Email"),
      proxies: z.array(z.string().min(1)).min(1, "name the proxy's addresses"),
      grants: z
        .array(
          z.strictObject({
            /** User names as the proxy sends them, or "*". */
            users: z.array(z.string().min(1)).min(1),
            /** `approve` may also read. */
            scope: z.enum(["deploy", "approve"]),
            project: Pattern,
            environment: Pattern,
          }),
        )
        .default([]),
    })
    .optional(),
});
export type DashboardConfig = z.output<typeof DashboardConfigSchema>;
