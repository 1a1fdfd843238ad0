/**
 * The server's configuration: environment variables, over an optional YAML/JSON file (`ROLLWAY_CONFIG`), over
 * defaults. Tokens and signing secrets come from environment variables or from mounted secret files. Every variable,
 * with its default, is documented in the README.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { SigningSecret, TokenGrant } from "./auth.js";
import { DashboardConfigSchema } from "./dashboard/config.js";

const Name = z.string().regex(/^(\*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/, "a lowercase DNS label or *");

const GrantSchema = z.strictObject({
  scope: z.enum(["deploy", "approve"]),
  project: Name,
  environment: Name,
  tokens: z
    .array(z.string().min(16, "tokens must be at least 16 characters"))
    .min(1)
    .max(2, "at most two tokens at once (for rotation)"),
});

const SecretSchema = z.strictObject({ project: Name, environment: Name, secret: z.string().min(16) });

/** Where a project's environment is described: an environment file, or discovery from labels in a namespace. */
const EnvironmentSourceSchema = z.union([
  z.strictObject({ project: Name, environment: Name, file: z.string().min(1) }),
  z.strictObject({
    project: Name,
    environment: Name,
    discover: z.strictObject({ namespace: z.string().min(1), host: z.string().min(1).optional() }),
  }),
]);
export type EnvironmentSource = z.output<typeof EnvironmentSourceSchema>;

export const ServerConfigSchema = z.strictObject({
  host: z.string().default("0.0.0.0"),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  bodyLimitBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  rateLimitPerMinute: z.coerce.number().int().positive().default(120),
  requestTimeoutMs: z.coerce.number().int().positive().default(30_000),
  shutdownGraceMs: z.coerce.number().int().positive().default(25_000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  tokens: z.array(GrantSchema).default([]),
  signingSecrets: z.array(SecretSchema).default([]),
  /** A kubeconfig file; default: in-cluster when KUBERNETES_SERVICE_HOST is set, else no cluster (dry runs only). */
  kubeconfig: z.string().min(1).optional(),
  leaseDurationSeconds: z.coerce.number().int().min(1).default(30),
  environments: z.array(EnvironmentSourceSchema).default([]),
  /**
   * Origins whose pages may follow the public upgrade stream (`GET {base}/upgrades`, no token), or `*` for any.
   * Empty: the stream is off.
   */
  publicUpgradeOrigins: z
    .array(
      z.union([
        z.literal("*"),
        z.url({ protocol: /^https?$/, error: "expected * or an origin such as https://app.example.com" }),
      ]),
    )
    .default([]),
  /** Notifications files (@rollway/notifications), one per environment. */
  notifications: z.array(z.strictObject({ file: z.string().min(1) })).default([]),
  /** Write Kubernetes Events on each component's workload for every release step. */
  kubernetesEvents: z.boolean().default(true),
  /** The browser dashboard under /dashboard (sign-in, sessions, single sign-on through a proxy). */
  dashboard: DashboardConfigSchema.prefault({}),
});
export type ServerConfig = z.output<typeof ServerConfigSchema>;

/** Environment variable → config key. */
export const ENV_VARS = {
  ROLLWAY_HOST: "host",
  ROLLWAY_PORT: "port",
  ROLLWAY_BODY_LIMIT_BYTES: "bodyLimitBytes",
  ROLLWAY_RATE_LIMIT_PER_MINUTE: "rateLimitPerMinute",
  ROLLWAY_REQUEST_TIMEOUT_MS: "requestTimeoutMs",
  ROLLWAY_SHUTDOWN_GRACE_MS: "shutdownGraceMs",
  ROLLWAY_LOG_LEVEL: "logLevel",
  ROLLWAY_KUBECONFIG: "kubeconfig",
  ROLLWAY_LEASE_DURATION_SECONDS: "leaseDurationSeconds",
} as const;

/**
 * A setting the server cannot start with (or an environment or notifications file it cannot read). Its `code`,
 * `CONFIG_INVALID`, maps to exit code 2 (fix the setting and start again) and HTTP 500 in
 * `@rollway/release/error-codes`, like every rollway error's.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "CONFIG_INVALID";
}

/** Reads the configuration. Errors name the variable or file and the field; they never echo a token. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const raw: Record<string, unknown> = {};
  if (env.ROLLWAY_CONFIG) {
    let text: string;
    try {
      text = readFileSync(env.ROLLWAY_CONFIG, "utf8");
    } catch (error) {
      throw new ConfigError(
        `ROLLWAY_CONFIG: cannot read ${env.ROLLWAY_CONFIG}: ${(error as NodeJS.ErrnoException).code}`,
        { cause: error },
      );
    }
    const parsed: unknown = parseYaml(text);
    if (parsed !== null && typeof parsed === "object") Object.assign(raw, parsed);
  }
  /** Config key → the variable that set it, so that a problem names what the user wrote. */
  const setBy = new Map<string, string>();
  for (const [variable, key] of Object.entries(ENV_VARS)) {
    if (env[variable] !== undefined && env[variable] !== "") {
      raw[key] = env[variable];
      setBy.set(key, variable);
    }
  }
  if (env.ROLLWAY_PUBLIC_UPGRADE_ORIGINS) setBy.set("publicUpgradeOrigins", "ROLLWAY_PUBLIC_UPGRADE_ORIGINS");
  if (env.ROLLWAY_SESSION_KEY) {
    raw.dashboard = { ...(raw.dashboard as object | undefined), sessionKey: env.ROLLWAY_SESSION_KEY };
    setBy.set("dashboard.sessionKey", "ROLLWAY_SESSION_KEY");
  }
  const tokens = [
    ...((raw.tokens as unknown[]) ?? []),
    ...jsonList(env, "ROLLWAY_TOKENS"),
    ...grantsFromDir(env.ROLLWAY_TOKENS_DIR),
  ];
  const secrets = [
    ...((raw.signingSecrets as unknown[]) ?? []),
    ...jsonList(env, "ROLLWAY_SIGNING_SECRETS"),
    ...secretsFromDir(env.ROLLWAY_SIGNING_SECRETS_DIR),
  ];
  const environments = [
    ...((raw.environments as unknown[]) ?? []),
    ...environmentsFromDir(env.ROLLWAY_ENVIRONMENTS_DIR),
  ];
  const origins = env.ROLLWAY_PUBLIC_UPGRADE_ORIGINS
    ? env.ROLLWAY_PUBLIC_UPGRADE_ORIGINS.split(",")
        .map((o) => o.trim())
        .filter(Boolean)
    : raw.publicUpgradeOrigins;
  const result = ServerConfigSchema.safeParse({
    ...raw,
    tokens,
    signingSecrets: secrets,
    environments,
    ...(origins === undefined ? {} : { publicUpgradeOrigins: origins }),
  });
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const path = i.path.join(".") || "(config)";
      const variable = setBy.get(i.path.slice(0, 2).join(".")) ?? setBy.get(String(i.path[0]));
      return `${variable ? `${variable} (${path})` : path}: ${i.message}`;
    });
    throw new ConfigError(`invalid server configuration:\n  ${problems.join("\n  ")}`);
  }
  return result.data;
}

function jsonList(env: NodeJS.ProcessEnv, variable: string): unknown[] {
  const text = env[variable];
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) throw new Error("not an array");
    return value;
  } catch {
    // The variable holds secrets: say what is wrong without quoting it.
    throw new ConfigError(`${variable}: expected a JSON array (its content is not shown because it holds secrets)`);
  }
}

/** Mounted secret files named `<scope>.<project>.<environment>` (`_` for any), one token a line (two while rotating). */
function grantsFromDir(dir: string | undefined): TokenGrant[] {
  return filesIn(dir).map(({ name, lines }) => {
    const [scope, project, environment] = name.split(".");
    if (!scope || !project || !environment || name.split(".").length !== 3) {
      throw new ConfigError(
        `ROLLWAY_TOKENS_DIR: file ${JSON.stringify(name)} must be named <scope>.<project>.<environment>`,
      );
    }
    return { scope: scope as TokenGrant["scope"], project: any(project), environment: any(environment), tokens: lines };
  });
}

function secretsFromDir(dir: string | undefined): SigningSecret[] {
  return filesIn(dir).map(({ name, lines }) => {
    const [project, environment] = name.split(".");
    if (!project || !environment || name.split(".").length !== 2 || lines.length !== 1) {
      throw new ConfigError(
        `ROLLWAY_SIGNING_SECRETS_DIR: file ${JSON.stringify(name)} must be named <project>.<environment> and hold one secret`,
      );
    }
    return { project: any(project), environment: any(environment), secret: lines[0] as string };
  });
}

/** Environment files named `<project>.<environment>.yaml` (a mounted ConfigMap). */
function environmentsFromDir(dir: string | undefined): EnvironmentSource[] {
  if (!dir) return [];
  return readdirSync(dir)
    .filter((name) => !name.startsWith(".") && /\.ya?ml$/.test(name))
    .sort()
    .map((name) => {
      const parts = name.replace(/\.ya?ml$/, "").split(".");
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new ConfigError(
          `ROLLWAY_ENVIRONMENTS_DIR: file ${JSON.stringify(name)} must be named <project>.<environment>.yaml`,
        );
      }
      return { project: parts[0], environment: parts[1], file: join(dir, name) };
    });
}

const any = (name: string) => (name === "_" ? "*" : name);

function filesIn(dir: string | undefined): { name: string; lines: string[] }[] {
  if (!dir) return [];
  // Kubernetes mounts secrets through ..data symlinks; hidden entries are its bookkeeping.
  return readdirSync(dir)
    .filter((name) => !name.startsWith("."))
    .sort()
    .map((name) => ({
      name,
      lines: readFileSync(join(dir, name), "utf8")
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean),
    }));
}
