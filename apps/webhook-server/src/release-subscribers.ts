/**
 * Subscribers of the release engine's events in the server: notifications (@rollway/notifications, per environment
 * from its notifications file) and Kubernetes Events on each component's workload. They are attached where the
 * server receives engine events today, by wrapping the engine's `onEvent` callbacks (apply, rollback, recover), so
 * the release lifecycle code is untouched; once the lifecycle lives in @rollway/release, this becomes one
 * subscription to its event bus. Both only queue: a slow receiver or API server never delays a release.
 */
import { readFileSync } from "node:fs";
import {
  KubeEventWriter,
  type NotificationsConfig,
  Notifier,
  parseNotifications,
  workloadsOf,
} from "@rollway/notifications";
import type { KubeApi, OnReleaseEvent, ReleaseEngine, ReleaseEvent } from "@rollway/release";
import type { Logger } from "pino";
import { Counter } from "prom-client";
import { ConfigError, type ServerConfig } from "./config.js";
import type { Environments } from "./environments.js";
import type { Metrics } from "./metrics.js";

export type ReleaseSubscriber = (event: ReleaseEvent, context: { rollbackOf?: string }) => void;

/** The engine, with every event of apply, rollback and recover also given to `subscriber`. */
export function observeEngine(engine: ReleaseEngine, subscriber: ReleaseSubscriber): ReleaseEngine {
  const tee = (onEvent: OnReleaseEvent | undefined, context: { rollbackOf?: string }) => (event: ReleaseEvent) => {
    onEvent?.(event);
    try {
      subscriber(event, context);
    } catch {
      // A subscriber never breaks a release.
    }
  };
  return Object.assign(Object.create(engine) as ReleaseEngine, {
    identity: engine.identity,
    apply: (plan, options = {}) => engine.apply(plan, { ...options, onEvent: tee(options.onEvent, {}) }),
    rollback: (release, options = {}) =>
      engine.rollback(release, { ...options, onEvent: tee(options.onEvent, { rollbackOf: release }) }),
    recover: (environment, options = {}) =>
      engine.recover(environment, { ...options, onEvent: tee(options.onEvent, {}) }),
  } satisfies Partial<ReleaseEngine>);
}

/** Reads the configured notifications files; a bad file stops the server with its problems. */
export function loadNotifications(sources: ServerConfig["notifications"]): NotificationsConfig[] {
  return sources.map((source) => {
    let text: string;
    try {
      text = readFileSync(source.file, "utf8");
    } catch (error) {
      throw new ConfigError(`notifications: cannot read ${source.file}: ${(error as NodeJS.ErrnoException).code}`, {
        cause: error,
      });
    }
    try {
      return parseNotifications(text, source.file);
    } catch (error) {
      throw new ConfigError((error as Error).message, { cause: error });
    }
  });
}

export function releaseSubscribers(input: {
  config: ServerConfig;
  api: KubeApi;
  environments: Environments;
  identity: string;
  logger: Logger;
  metrics: Metrics;
}): { subscriber: ReleaseSubscriber; close(): Promise<void> } {
  const { api, environments, identity, logger } = input;
  const outcomes = new Counter({
    name: "rollway_notifications_total",
    help: "Notifications by destination, kind and outcome (sent, gave-up, duplicate, dropped)",
    labelNames: ["destination", "type", "outcome"] as const,
    registers: [input.metrics.registry],
  });
  const places = () => environments.list();
  const notifiers = new Map<string, Notifier>();
  const previewHosts = new Map<string, string>();
  for (const config of loadNotifications(input.config.notifications)) {
    const place = places().find((p) => p.name === config.environment);
    if (!place) throw new ConfigError(`notifications for "${config.environment}": no such environment is configured`);
    notifiers.set(
      config.environment,
      new Notifier({
        config,
        namespace: place.namespace,
        api,
        holder: identity,
        logger: logger.child({ component: "notifications" }),
        onOutcome: (o) => outcomes.inc({ destination: o.destination, type: o.type, outcome: o.outcome }),
      }),
    );
    // For the preview link of `waiting-for-approval` (the engine's event does not carry it).
    void environments
      .resolve(place.project, place.environment)
      .then((env) => env?.previewHost && previewHosts.set(config.environment, env.previewHost))
      .catch(() => undefined);
  }
  const writers = new Map<string, Promise<KubeEventWriter | undefined>>();
  const writerFor = (environment: string) => {
    let writer = writers.get(environment);
    if (!writer) {
      const place = places().find((p) => p.name === environment);
      writer = place
        ? environments.resolve(place.project, place.environment).then((env) =>
            env
              ? new KubeEventWriter({
                  api,
                  namespace: env.namespace,
                  instance: identity,
                  workloads: workloadsOf(env),
                  logger,
                })
              : undefined,
          )
        : Promise.resolve(undefined);
      writers.set(environment, writer);
    }
    return writer;
  };
  return {
    subscriber(event, context) {
      if (input.config.kubernetesEvents)
        void writerFor(event.environment)
          .then((w) => w?.write(event))
          .catch(() => undefined);
      const notifier = notifiers.get(event.environment);
      if (!notifier) return;
      const previewHost = previewHosts.get(event.environment);
      notifier.notify(event, {
        ...context,
        ...(previewHost ? { previewHost } : {}),
      });
    },
    async close() {
      await Promise.all([...notifiers.values()].map((n) => n.close()));
      for (const w of writers.values()) await (await w.catch(() => undefined))?.flushed();
    },
  };
}
