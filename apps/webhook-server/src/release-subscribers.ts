/**
 * Subscribers of the release runner's events in the server: notifications (@rollway/notifications, per environment
 * from its notifications file) and Kubernetes Events on each component's workload, one `runner.subscribe` each.
 * The runner gives each event its context from the release record (`rollbackOf`, also for a rollback resumed by
 * recovery). Both only queue: a slow receiver or API server never delays a release.
 *
 * The notifications part of the package (its config schemas, templates, nodemailer) is loaded only when a
 * notifications file is configured: a server without one never builds it (about 9 MiB of heap, and start-up garbage
 * that V8's memory reducer later compacts on the event loop). Kubernetes Events come from the package's light
 * `kube-events` entry.
 */
import { readFileSync } from "node:fs";
import type { NotificationsConfig, Notifier } from "@rollway/notifications";
import { KubeEventWriter, workloadsOf } from "@rollway/notifications/kube-events";
import type { ReleaseListener } from "@rollway/release";
import type { Connection } from "@rollway/rollout-client";
import type { Logger } from "pino";
import { Counter } from "prom-client";
import { ConfigError, type ServerConfig } from "./config.js";
import type { Environments } from "./environments.js";
import type { Metrics } from "./metrics.js";

/** A subscriber of @rollway/release's runner: every event of every run, with what the record says (`rollbackOf`). */
export type ReleaseSubscriber = ReleaseListener;

/** Reads the configured notifications files; a bad file stops the server with its problems. */
async function loadNotifications(
  sources: ServerConfig["notifications"],
): Promise<{ configs: NotificationsConfig[]; Notifier: typeof Notifier } | undefined> {
  if (sources.length === 0) return undefined;
  const { parseNotifications, Notifier } = await import("@rollway/notifications");
  const configs = sources.map((source) => {
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
  return { configs, Notifier };
}

export async function releaseSubscribers(input: {
  config: ServerConfig;
  api: Connection;
  environments: Environments;
  identity: string;
  logger: Logger;
  metrics: Metrics;
}): Promise<{ subscriber: ReleaseSubscriber; close(): Promise<void> }> {
  const { api, environments, identity, logger } = input;
  const outcomes = new Counter({
    name: "rollway_notifications_total",
    help: "Notifications by destination, kind and outcome (sent, gave-up, duplicate, dropped)",
    labelNames: ["destination", "type", "outcome"] as const,
    registers: [input.metrics.registry],
  });
  const places = () => environments.list();
  const notifiers = new Map<string, Notifier>();
  const notifications = await loadNotifications(input.config.notifications);
  for (const config of notifications?.configs ?? []) {
    const place = places().find((p) => p.name === config.environment);
    if (!place) throw new ConfigError(`notifications for "${config.environment}": no such environment is configured`);
    notifiers.set(
      config.environment,
      new (notifications as NonNullable<typeof notifications>).Notifier({
        config,
        namespace: place.namespace,
        api,
        holder: identity,
        logger: logger.child({ component: "notifications" }),
        onOutcome: (o) => outcomes.inc({ destination: o.destination, type: o.type, outcome: o.outcome }),
      }),
    );
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
      // The preview link comes with the event (`previewUrl`).
      notifier.notify(event, context);
    },
    async close() {
      await Promise.all([...notifiers.values()].map((n) => n.close()));
      for (const w of writers.values()) await (await w.catch(() => undefined))?.flushed();
    },
  };
}
