/** `rollway promote-env`: promote images from one overlay to another through git (seed 003), approve, revert. */
import { CliError, ExitCode, type Output, printJson } from "../output.js";

export interface PromoteEnvOptions {
  repo: string;
  from: string;
  to: string;
  push?: boolean;
  force?: boolean;
  dryRun?: boolean;
  branch?: string;
  /** SSH approvals: the approvers' allowed-signers file (else git's gpg.ssh.allowedSignersFile). */
  allowedSigners?: string;
  /** GPG approvals: the keyring folder (GNUPGHOME). */
  gpgHome?: string;
  /** `owner/name` of the GitHub repository, when the remote's URL does not say. */
  githubRepo?: string;
  /** GitHub's REST API (GitHub Enterprise: https://github.example.com/api/v3); default GITHUB_API_URL. */
  githubApiUrl?: string;
  /** Resolve each image's tag to its registry digest and write it as `digest:`; refuse images the registry lacks. */
  pinDigest?: boolean;
  /** rollway's environment file of `from`: its status, read in the cluster below, must be Healthy. */
  sourceEnv?: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** The Argo CD application of `from` that must be Synced and Healthy. */
  argocdSourceApp?: string;
  skipHealthCheck?: boolean;
  /** Wait for the pull request's merge and `argocdApp`'s sync and health. */
  wait?: boolean;
  argocdApp?: string;
  waitTimeout?: string;
  /** Argo CD's address (ARGOCD_SERVER); the token is read from ARGOCD_AUTH_TOKEN only, never a flag. */
  argocdServer?: string;
}

type SourceCheck = import("@rollway/env-promotion").SourceCheck;

function argoCdRef(options: PromoteEnvOptions, application: string, flag: string) {
  const server = options.argocdServer ?? process.env.ARGOCD_SERVER;
  const token = process.env.ARGOCD_AUTH_TOKEN;
  if (!server || !token) {
    throw new CliError(
      `${flag} ${application} needs Argo CD's address (--argocd-server or ARGOCD_SERVER) and a token in ARGOCD_AUTH_TOKEN (argocd account generate-token)`,
      ExitCode.badInput,
    );
  }
  return { server, token, application };
}

/** The checks of the source the flags ask for; each cluster connection is closed by the returned `close`. */
async function sourceChecks(options: PromoteEnvOptions): Promise<{ checks: SourceCheck[]; close(): void }> {
  const { argoCdHealthCheck, componentStatusCheck } = await import("@rollway/env-promotion");
  const checks: SourceCheck[] = [];
  const closers: (() => void)[] = [];
  if (options.argocdSourceApp) {
    checks.push(argoCdHealthCheck(argoCdRef(options, options.argocdSourceApp, "--argocd-source-app")));
  }
  if (options.sourceEnv && !options.skipHealthCheck) {
    const { loadEnvironment } = await import("../environment-file.js");
    const { openDirect } = await import("../direct.js");
    const environment = await loadEnvironment(options.sourceEnv);
    const direct = await openDirect({
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.context ? { context: options.context } : {}),
      namespace: options.namespace ?? environment.namespace,
    });
    closers.push(() => direct.close());
    checks.push(
      componentStatusCheck({
        name: `rollway status of ${environment.name}${options.context ? ` in context ${options.context}` : ""}`,
        read: () => direct.engine.status(environment),
      }),
    );
  } else if (options.sourceEnv) {
    checks.push({ name: `rollway status of ${options.sourceEnv}`, check: async () => [] });
  }
  return {
    checks,
    close: () => {
      for (const close of closers) close();
    },
  };
}

function waitOptions(options: PromoteEnvOptions) {
  if (!options.wait) {
    if (options.argocdApp) throw new CliError("--argocd-app is what --wait waits for: add --wait", ExitCode.badInput);
    return {};
  }
  const timeoutSeconds = Number(options.waitTimeout ?? "600");
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new CliError(
      `--wait-timeout ${JSON.stringify(options.waitTimeout)}: give seconds, e.g. 600`,
      ExitCode.badInput,
    );
  }
  const interval = Number(process.env.ROLLWAY_WAIT_INTERVAL_MS ?? "5000");
  return {
    wait: {
      timeoutSeconds,
      ...(Number.isInteger(interval) && interval > 0 ? { intervalMs: interval } : {}),
      ...(options.argocdApp ? { argoCd: argoCdRef(options, options.argocdApp, "--argocd-app") } : {}),
    },
  };
}

/**
 * Registry logins as `docker login` / `podman login` store them: `$DOCKER_CONFIG/config.json` (else
 * `~/.docker/config.json`), then `$REGISTRY_AUTH_FILE`; each `auths.<host>.auth` is base64 of `user:password`.
 * Credential helpers (`credsStore`) are not consulted.
 */
async function registryCredentials(): Promise<Record<string, { username: string; password: string }>> {
  const { readFile } = await import("node:fs/promises");
  const { homedir } = await import("node:os");
  const { join } = await import("node:path");
  const files = [
    join(process.env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json"),
    ...(process.env.REGISTRY_AUTH_FILE ? [process.env.REGISTRY_AUTH_FILE] : []),
  ];
  const credentials: Record<string, { username: string; password: string }> = {};
  for (const file of files) {
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text === undefined) continue;
    let auths: Record<string, { auth?: unknown }> = {};
    try {
      auths = (JSON.parse(text) as { auths?: Record<string, { auth?: unknown }> }).auths ?? {};
    } catch {
      throw new CliError(`${file} is not valid JSON, so its registry logins cannot be read`, ExitCode.badInput);
    }
    for (const [host, entry] of Object.entries(auths)) {
      if (typeof entry?.auth !== "string") continue;
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon <= 0) continue;
      const key = host.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
      credentials[key === "index.docker.io" ? "docker.io" : key] ??= {
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
      };
    }
  }
  return credentials;
}

/** The pull-request path as a CLI user sets it: GITHUB_TOKEN, GITHUB_API_URL (as in GitHub Actions), flags. */
function github(options: { githubRepo?: string; githubApiUrl?: string } = {}) {
  const [owner, repo] = options.githubRepo?.split("/") ?? [];
  if (options.githubRepo !== undefined && (!owner || !repo || options.githubRepo.split("/").length !== 2)) {
    throw new CliError(`--github-repo ${JSON.stringify(options.githubRepo)}: give owner/name, e.g. acme/gitops`, 2);
  }
  const baseUrl = options.githubApiUrl ?? process.env.GITHUB_API_URL;
  return {
    github: {
      ...(process.env.GITHUB_TOKEN ? { token: process.env.GITHUB_TOKEN } : {}),
      ...(owner && repo ? { owner, repo } : {}),
      ...(baseUrl ? { baseUrl } : {}),
    },
  };
}

/** The library's hints name its options; a CLI user gets the flags and variables instead (by the error's code). */
const CLI_HINTS: Record<string, string> = {
  GITHUB_CONFIG_MISSING:
    "set GITHUB_TOKEN (pull-requests: write), pass --github-repo owner/name when the remote's URL is not GitHub's, and --github-api-url (or GITHUB_API_URL) for GitHub Enterprise; or use --push.",
  REGISTRY_REQUEST_FAILED:
    "check the image names and the network; log in to the registry (docker login or podman login) if it needs credentials; or promote without --pin-digest.",
  IMAGE_NOT_IN_REGISTRY:
    "push the image (or correct its tag in the source overlay) before promoting it with --pin-digest.",
  SOURCE_UNHEALTHY:
    "wait until the source is Healthy and serves the images being promoted, or pass --skip-health-check to promote anyway.",
  APPROVAL_MISSING:
    "once QA has approved this release, QA records it with rollway promote-env approve --env <from>; or pass --force to promote without approval.",
};

async function withCliHints<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const problem = (error as { problem?: unknown }).problem;
    const hint = typeof code === "string" ? CLI_HINTS[code] : undefined;
    if (hint && typeof problem === "string") {
      throw new CliError(`${problem}\n  Fix: ${hint}`, ExitCode.failed, { cause: error });
    }
    throw error;
  }
}

export async function promoteEnvCommand(options: PromoteEnvOptions, output: Output): Promise<void> {
  const { formatPromotion, promoteEnvironment } = await import("@rollway/env-promotion");
  const credentials = options.pinDigest ? await registryCredentials() : undefined;
  const wait = waitOptions(options);
  const source = await sourceChecks(options);
  const result = await withCliHints(() =>
    promoteEnvironment({
      sourceChecks: source.checks,
      skipHealthCheck: Boolean(options.skipHealthCheck),
      ...wait,
      repo: options.repo,
      from: options.from,
      to: options.to,
      delivery: options.push ? "push" : "pull-request",
      force: Boolean(options.force),
      dryRun: Boolean(options.dryRun),
      ...(options.branch ? { branch: options.branch } : {}),
      trust: {
        ...(options.allowedSigners ? { allowedSignersFile: options.allowedSigners } : {}),
        ...(options.gpgHome ? { gpgHome: options.gpgHome } : {}),
      },
      ...github(options),
      ...(credentials ? { pinDigest: true, registry: { credentials } } : {}),
    }),
  ).finally(() => source.close());
  if (output.json) printJson(output, { ok: !result.wouldRefuse, ...result });
  else output.out(`${formatPromotion(result)}\n`);
  // The change is shown; the exit code still tells a script the real run would be refused.
  if (result.wouldRefuse) {
    throw new CliError(
      `dry run: the promotion would be refused [${result.wouldRefuse.code}]; see above`,
      ExitCode.failed,
    );
  }
}

export async function promoteEnvApproveCommand(
  options: { repo: string; env: string; commit?: string; note?: string },
  output: Output,
): Promise<void> {
  const { formatApproval, recordApproval } = await import("@rollway/env-promotion");
  const approval = await recordApproval({
    repo: options.repo,
    env: options.env,
    ...(options.commit ? { commit: options.commit } : {}),
    ...(options.note ? { note: options.note } : {}),
  });
  if (output.json) printJson(output, { ok: true, ...approval });
  else output.out(`${formatApproval(approval)}\n`);
}

export async function promoteEnvRevertCommand(
  options: { repo: string; to: string; commit?: string; push?: boolean },
  output: Output,
): Promise<void> {
  const { formatPromotion, revertPromotion } = await import("@rollway/env-promotion");
  const result = await revertPromotion({
    repo: options.repo,
    to: options.to,
    delivery: options.push ? "push" : "pull-request",
    ...(options.commit ? { commit: options.commit } : {}),
    ...github(),
  });
  if (output.json) printJson(output, { ok: true, ...result });
  else output.out(`${formatPromotion(result)}\n`);
}
