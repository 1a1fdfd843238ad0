/** Starts the app on Node's HTTP server, and stops it gracefully: not ready first, then drain, then close. */

import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { closeSafetyCheckers, warmSafetyCheckers } from "@rollway/deploy-rules";
import { EXAMPLE_PAYLOAD_TEXT, parseDeployPayloadAsync } from "@rollway/payload-schema";
import { cacheNamespace, createReleaseEngine, createReleaseRunner, type StatusCache } from "@rollway/release";
import { connect, type KubeconfigSource } from "@rollway/rollout-client";
import type pino from "pino";
import { createApp } from "./app.js";
import { ClusterState } from "./cluster-state.js";
import { loadConfig, type ServerConfig } from "./config.js";
import { loadEnvironments } from "./environments.js";
import { createLogger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { releaseSubscribers } from "./release-subscribers.js";
import { Releases } from "./releases.js";
import type { ReleaseRoutesDeps } from "./routes/index.js";
import { keepTickObjectShape } from "./tick-shape.js";

export interface RunningServer {
  url: string;
  config: ServerConfig;
  /** Requests being handled now (their headers have arrived). */
  readonly inFlight: number;
  /**
   * Stops accepting, ends event streams, lets in-flight requests and the releases this replica runs finish within
   * the grace period, then closes. Releases still running are handed over: their Lease expires and another replica
   * resumes them.
   */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartOptions {
  logDestination?: pino.DestinationStream;
  /** The cluster; default: `config.kubeconfig`, else in-cluster when KUBERNETES_SERVICE_HOST is set, else none. */
  kubeconfig?: KubeconfigSource;
  /** Abort (roll back) the releases still running at shutdown instead of handing them over (tests, the demo). */
  cancelReleasesOnShutdown?: boolean;
  /**
   * Take over the releases whose engine stopped (default true, as every server replica does). `rollway dashboard`
   * turns it off: a dashboard on someone's laptop must not become the engine of a release and then vanish with it.
   */
  recovery?: boolean;
}

/**
 * The payload parser's first use compiles zod's fast path of every object in the schema (`new Function`), and the
 * first invalid payload the positional JSON parser and the error formatting: 5 to 20 ms of this thread, once. Paid at
 * start, not by the first dry run (in bench/pattern-lag.ts, the request bringing the first never-seen pattern, where it
 * made the longest block on Node 24). Only the seed example's rule patterns, whose verdicts are precomputed
 * (PRECOMPUTED_SAFE_PATTERNS, server.test.ts checks it): no recheck worker starts. Nothing is counted in the metrics.
 */
async function warmPayloadParser(): Promise<void> {
  await parseDeployPayloadAsync(EXAMPLE_PAYLOAD_TEXT);
  const withOptions = JSON.parse(EXAMPLE_PAYLOAD_TEXT) as Record<string, unknown>;
  withOptions.noDowntime = { promotionMode: "auto" };
  await parseDeployPayloadAsync(JSON.stringify(withOptions));
  await parseDeployPayloadAsync(EXAMPLE_PAYLOAD_TEXT.replace('"frontend"', '"frontnd"')).catch(() => undefined);
}

/** Longest wait at start for the status caches' first lists; reads go to the cluster until they are in. */
const CACHE_SYNC_MS = 5000;

function clusterOf(config: ServerConfig, options: StartOptions): KubeconfigSource | undefined {
  if (options.kubeconfig) return options.kubeconfig;
  if (config.kubeconfig) return { file: config.kubeconfig };
  return process.env.KUBERNETES_SERVICE_HOST ? { inCluster: true } : undefined;
}

export async function startServer(
  config: ServerConfig = loadConfig(),
  options: StartOptions = {},
): Promise<RunningServer> {
  // The entrypoint did this first thing; a server started as a library (`rollway serve`) does it here.
  keepTickObjectShape();
  const logger = createLogger(config.logLevel, options.logDestination);
  const metrics = createMetrics();
  const stopping = new AbortController();
  const kubeconfig = clusterOf(config, options);
  let deps: ReleaseRoutesDeps | undefined;
  const closers: (() => void)[] = [];
  if (kubeconfig) {
    const client = await connect({ kubeconfig });
    // One connection for the engine, the records, the gates and the status caches (rollout-client's).
    const api = client.connection;
    closers.push(() => client.close());
    const environments = loadEnvironments(config.environments, api);
    const state = new ClusterState(api);
    const bare = createReleaseEngine({ client, leaseDurationSeconds: config.leaseDurationSeconds });
    // Notifications and Kubernetes Events follow every release this replica runs.
    const subscribers = await releaseSubscribers({
      config,
      api,
      environments,
      identity: bare.identity,
      logger,
      metrics,
    });
    // First among the closers: queued notifications get their last chance while the cluster client is open.
    closers.unshift(() => void subscribers.close());
    // The package's lifecycle (event log, delivery claims, recovery), as for the CLI and the Action.
    const runner = createReleaseRunner({
      engine: bare,
      api,
      onLogError: (release, err) => logger.warn({ release, err: (err as Error).message }, "events not recorded"),
    });
    runner.subscribe(subscribers.subscriber);
    const releases = new Releases({ runner, logger, metrics, leaseDurationSeconds: config.leaseDurationSeconds });
    if (options.recovery !== false) releases.startRecovery(environments.list());
    // One informer per namespace (release records and workloads, one list-then-watch per kind) for status reads.
    const caches = new Map<string, StatusCache>();
    const cache = (namespace: string) => {
      let found = caches.get(namespace);
      if (!found) {
        found = cacheNamespace(client.connection, namespace, { signal: stopping.signal });
        caches.set(namespace, found);
      }
      return found;
    };
    // Warm the caches of the configured environments, so that the first reads are served from them too: a few
    // lists, awaited (as a controller waits for its caches to sync) for at most CACHE_SYNC_MS before listening.
    const warming = environments.list().map((place) => cache(place.namespace).synced);
    await Promise.race([Promise.all(warming), new Promise((r) => setTimeout(r, CACHE_SYNC_MS).unref())]);
    deps = { releases, state, environments, stopping: stopping.signal, streams: { open: 0 }, cache };
  }
  // The process's first worker thread costs ~10 ms of this thread: paid now, not by the first request that brings a
  // never-seen rule pattern (its check starts a recheck worker while the event loop serves others).
  await warmSafetyCheckers();
  await warmPayloadParser();
  const { app, state, dryRun } = createApp({
    config,
    logger,
    metrics,
    ...(deps ? { releases: deps } : {}),
    remoteAddress: (_raw, env) => (env as { incoming?: IncomingMessage }).incoming?.socket.remoteAddress ?? "unknown",
  });
  const server = await new Promise<Server>((resolve, reject) => {
    // The dry run is answered on Node's request before Hono (see createApp's dryRun); everything else goes to Hono.
    const withDryRun = ((options: ServerOptions, hono: RequestListener) =>
      createServer(options, (req, res) => {
        if (!dryRun(req, res)) hono(req, res);
      })) as typeof createServer;
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host, createServer: withDryRun }, () =>
      resolve(s as Server),
    );
    (s as Server).once("error", reject);
  });
  // Slow or stalled clients are cut off by Node's own timers (no per-request timer in the app).
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(config.requestTimeoutMs, 60_000);
  const { port } = server.address() as AddressInfo;
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info({ url, tokens: config.tokens.length, cluster: kubeconfig !== undefined }, "listening");

  let stopped: Promise<void> | undefined;
  const shutdown = () => {
    stopped ??= (async () => {
      state.ready = false;
      logger.info({ inFlight: state.inFlight, releases: deps?.releases.runningCount ?? 0 }, "shutting down");
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Event streams end now: their clients reconnect to another replica with Last-Event-ID.
      stopping.abort();
      server.closeIdleConnections();
      const deadline = Date.now() + config.shutdownGraceMs;
      const busy = () => state.inFlight > 0 || (deps?.streams.open ?? 0) > 0;
      while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await closed;
      await deps?.releases.stop(deadline, { cancel: options.cancelReleasesOnShutdown ?? false });
      for (const close of closers) close();
      // The pattern checker's workers (recheck), if a check started one.
      await closeSafetyCheckers();
      logger.info("stopped");
    })();
    return stopped;
  };
  return {
    url,
    config,
    get inFlight() {
      return state.inFlight;
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
