/**
 * Registry credentials the way the docker CLI finds them: explicit ones first, then `$DOCKER_CONFIG/config.json`
 * (default `~/.docker/config.json`): `credHelpers[registry]`, `credsStore`, then `auths[registry]`. A registry with
 * none of these is pushed to anonymously. Credentials are never logged or put in an error message.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { imageBuildError } from "./errors.js";

/** What the Docker Engine API takes as `X-Registry-Auth` (dockerode's `authconfig`). */
export interface RegistryAuth {
  serveraddress: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** Explicit credentials for one registry (for example from CLI arguments or CI secrets). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

export interface CredentialSource {
  /** Credentials by registry host (`registry.example.com:5000`, `docker.io`); they win over the config file. */
  credentials?: Record<string, RegistryCredentials> | undefined;
  /** Folder holding `config.json`; default `$DOCKER_CONFIG`, then `~/.docker`. */
  dockerConfigDir?: string | undefined;
  /** Environment to read `DOCKER_CONFIG`, `HOME` and `PATH` from; default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
}

const DOCKER_HUB_KEYS = ["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io"];
const HELPER_TIMEOUT_MS = 30_000;

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** Finds the credentials to push to `registry`, or `undefined` to push anonymously. */
export async function resolveRegistryAuth(
  registry: string,
  source: CredentialSource = {},
): Promise<RegistryAuth | undefined> {
  const env = source.env ?? process.env;
  const explicit = findByHost(source.credentials ?? {}, registry);
  if (explicit) return toAuth(registry, explicit, "credentials");

  const dir = source.dockerConfigDir ?? env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker");
  const file = join(dir, "config.json");
  const config = await readDockerConfig(file);
  if (!config) return undefined;

  const helper = findByHost(config.credHelpers ?? {}, registry) ?? config.credsStore;
  if (helper) {
    const fromHelper = await runCredentialHelper(helper, registry, env);
    if (fromHelper) return fromHelper;
  }
  const entry = findByHost(config.auths ?? {}, registry);
  if (!entry) return undefined;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw imageBuildError(
        "DOCKER_CONFIG_INVALID",
        file,
        `auths entry for ${registry} has an "auth" that is not base64 of "username:password"; run docker login again`,
      );
    }
    return { serveraddress: registry, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return toAuth(
    registry,
    { username: entry.username, password: entry.password, identityToken: entry.identitytoken },
    file,
  );
}

function toAuth(registry: string, creds: RegistryCredentials, where: string): RegistryAuth {
  if (creds.identityToken) return { serveraddress: registry, identitytoken: creds.identityToken };
  if (creds.username && creds.password !== undefined) {
    return { serveraddress: registry, username: creds.username, password: creds.password };
  }
  throw imageBuildError(
    where === "credentials" ? "INVALID_OPTIONS" : "DOCKER_CONFIG_INVALID",
    where === "credentials" ? `credentials[${JSON.stringify(registry)}]` : where,
    `credentials for ${registry} need a username and a password, or an identity token`,
  );
}

async function readDockerConfig(file: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw imageBuildError("DOCKER_CONFIG_INVALID", file, `cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the file's text, which holds secrets: say where, not what.
    throw imageBuildError("DOCKER_CONFIG_INVALID", file, "is not valid JSON; fix it or run docker login again");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw imageBuildError("DOCKER_CONFIG_INVALID", file, "must hold a JSON object");
  }
  return parsed as DockerConfigFile;
}

/** Config keys are written many ways (`https://host/v1/`, `host`, `http://host:5000`): compare hosts. */
function findByHost<T>(map: Record<string, T>, registry: string): T | undefined {
  const wanted = registry === "docker.io" ? DOCKER_HUB_KEYS.map(hostOf) : [hostOf(registry)];
  for (const [key, value] of Object.entries(map)) {
    if (wanted.includes(hostOf(key))) return value;
  }
  return undefined;
}

function hostOf(key: string): string {
  return key
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
}

/** The docker credential helper protocol: `docker-credential-<name> get`, server on stdin, JSON on stdout. */
async function runCredentialHelper(
  name: string,
  registry: string,
  env: NodeJS.ProcessEnv,
): Promise<RegistryAuth | undefined> {
  const program = `docker-credential-${name}`;
  const serverUrl = registry === "docker.io" ? "https://index.docker.io/v1/" : registry;
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = execFile(program, ["get"], { env, timeout: HELPER_TIMEOUT_MS }, (error, out, err) => {
      if (!error) return resolve(out);
      // Helpers answer "credentials not found in native keychain" when they have nothing for this server.
      if (/not found/i.test(`${out}${err}`)) return resolve("");
      const reason =
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? `${program} is not on PATH; install it or remove "credsStore"/"credHelpers" from the Docker config`
          : `${program} failed (exit ${String((error as { code?: unknown }).code)})`;
      reject(imageBuildError("CREDENTIAL_HELPER_FAILED", registry, reason));
    });
    child.stdin?.end(serverUrl);
  });
  if (stdout.trim() === "") return undefined;
  let answer: { Username?: unknown; Secret?: unknown };
  try {
    answer = JSON.parse(stdout);
  } catch {
    throw imageBuildError("CREDENTIAL_HELPER_FAILED", registry, `${program} did not answer with JSON`);
  }
  if (typeof answer.Secret !== "string" || typeof answer.Username !== "string") {
    throw imageBuildError("CREDENTIAL_HELPER_FAILED", registry, `${program} answered without Username and Secret`);
  }
  // By the helper protocol, the user name "<token>" marks an identity token.
  if (answer.Username === "<token>") return { serveraddress: registry, identitytoken: answer.Secret };
  return { serveraddress: registry, username: answer.Username, password: answer.Secret };
}
