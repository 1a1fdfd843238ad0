/**
 * The notifications file of an environment, in the environment file's style: where to send (destinations), on which
 * events (subscriptions, Argo notifications' triggers), and what to say (a template per event). Secrets (webhook
 * URLs, signing keys, SMTP passwords) are never in this file: each is a reference to a Kubernetes Secret's key or a
 * mounted file, and the schema refuses a URL written inline.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { NotificationError } from "./errors.js";

export const NOTIFICATIONS_API_VERSION = "rollway.dev/v1alpha1";
export const NOTIFICATIONS_KIND = "Notifications";

/** What a team can be told about, in the issue's words. */
export const NOTIFICATION_EVENTS = [
  "release-started",
  "waiting-for-approval",
  "promoted",
  "failed",
  "aborted",
  "rolled-back",
  "component-stuck",
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** A secret value: a key of a Secret in the environment's namespace, or a file (a mounted Secret). */
export const SecretRefSchema = z.union([
  z.strictObject({
    secret: z.strictObject({ name: z.string().min(1), key: z.string().min(1) }),
  }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type SecretRef = z.output<typeof SecretRefSchema>;

const DestinationSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("slack"), url: SecretRefSchema }),
  z.strictObject({ type: z.literal("teams"), url: SecretRefSchema }),
  z.strictObject({
    type: z.literal("webhook"),
    url: SecretRefSchema,
    /** HMAC-SHA256 key for the `X-Rollway-Signature-256: sha256=<hex>` header over the body. */
    signingKey: SecretRefSchema,
  }),
  z.strictObject({
    type: z.literal("email"),
    smtp: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(587),
      /** TLS from the start (465); otherwise STARTTLS when the server offers it. */
      secure: z.boolean().default(false),
      user: z.string().min(1).optional(),
      password: SecretRefSchema.optional(),
    }),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
  }),
]);
export type Destination = z.output<typeof DestinationSchema>;

const TemplateSchema = z.strictObject({ title: z.string().min(1), body: z.string().min(1) });
export type Template = z.output<typeof TemplateSchema>;

export const NotificationsSchema = z.strictObject({
  apiVersion: z.literal(NOTIFICATIONS_API_VERSION),
  kind: z.literal(NOTIFICATIONS_KIND),
  /** The environment these notifications are for (its `name`). */
  environment: z.string().min(1),
  destinations: z.record(z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/), DestinationSchema),
  subscriptions: z
    .array(z.strictObject({ on: z.array(z.enum(NOTIFICATION_EVENTS)).min(1), to: z.array(z.string()).min(1) }))
    .min(1),
  /** Per event; the built-in template otherwise. */
  templates: z.partialRecord(z.enum(NOTIFICATION_EVENTS), TemplateSchema).default({}),
  delivery: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(20).default(6),
      /** First backoff; doubled each attempt, with jitter. */
      backoffMs: z.number().int().min(1).default(1000),
      maxBackoffMs: z.number().int().min(1).default(60_000),
      /** One attempt is cut off after this long (a receiver that hangs). */
      attemptTimeoutMs: z.number().int().min(1).default(10_000),
    })
    .prefault({}),
});
export type NotificationsConfig = z.output<typeof NotificationsSchema>;

/** Reads a notifications file; every problem at once, each with its path, never a secret's value (there are none). */
export function parseNotifications(input: unknown, source = "(notifications)"): NotificationsConfig {
  const value = typeof input === "string" ? parseYamlOrThrow(input, source) : input;
  const result = NotificationsSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new NotificationError("INVALID_CONFIG", `${source}: invalid notifications:\n  ${problems.join("\n  ")}`, {
      where: source,
    });
  }
  const config = result.data;
  const unknown = config.subscriptions
    .flatMap((s, i) => s.to.map((to) => ({ to, i })))
    .filter(({ to }) => !Object.hasOwn(config.destinations, to));
  if (unknown.length > 0)
    throw new NotificationError(
      "INVALID_CONFIG",
      `${source}: ${unknown.map(({ to, i }) => `subscriptions.${i}.to: no destination "${to}"`).join("; ")}`,
      { where: source },
    );
  return config;
}

function parseYamlOrThrow(text: string, source: string): unknown {
  try {
    return parseYaml(text);
  } catch (cause) {
    throw new NotificationError("INVALID_CONFIG", `${source}: not YAML: ${(cause as Error).message}`, {
      where: source,
      cause,
    });
  }
}
