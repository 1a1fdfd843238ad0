import { createHmac } from "node:crypto";
import type { ReleaseEvent } from "@rollway/release";
import { describe, expect, it } from "vitest";
import { claimName } from "./claim.js";
import { parseNotifications } from "./config.js";
import { NotificationError } from "./errors.js";
import { Notifier, type OutcomeReport } from "./notifier.js";
import { clusterResource, NS, receiverResource, secretFilesResource, smtpResource } from "./test-resources.js";

const RELEASE = "shop-20261206-101500-ab12";
const event = (type: ReleaseEvent["type"], extra: Partial<ReleaseEvent> = {}): ReleaseEvent => ({
  type,
  release: RELEASE,
  environment: "prod",
  at: "2026-12-06T10:15:00.000Z",
  message: `${type} <b>&</b>`,
  ...extra,
});

const base = (destinations: Record<string, unknown>, on: string[], delivery: Record<string, unknown> = {}) =>
  parseNotifications({
    apiVersion: "rollway.dev/v1alpha1",
    kind: "Notifications",
    environment: "prod",
    destinations,
    subscriptions: [{ on, to: Object.keys(destinations) }],
    delivery: { backoffMs: 5, maxBackoffMs: 50, ...delivery },
  });

const logSink = () => {
  const lines: string[] = [];
  const log = (level: string) => (fields: Record<string, unknown>, message: string) =>
    lines.push(JSON.stringify({ level, message, ...fields }));
  return { lines, logger: { info: log("info"), warn: log("warn") } };
};

async function putSecret(cluster: { url: string }, name: string, data: Record<string, string>) {
  const res = await fetch(`${cluster.url}/api/v1/namespaces/${NS}/secrets`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
    }),
  });
  expect(res.status).toBe(201);
}

describe("notifications", () => {
  it("delivers to Slack, Teams, a signed webhook and email, each in its receiver's format, secrets from a Secret or a file", async () => {
    const cluster = await clusterResource();
    const slack = await receiverResource();
    const teams = await receiverResource();
    const hook = await receiverResource();
    const smtp = await smtpResource({ user: "rollway", password: "smtp-password-123" });
    await putSecret(cluster, "notify", { slack: slack.url, smtp: "smtp-password-123" });
    const files = secretFilesResource({ teams: `${teams.url}\n`, hook: hook.url, key: "hmac-key-0123456789" });
    const config = parseNotifications({
      apiVersion: "rollway.dev/v1alpha1",
      kind: "Notifications",
      environment: "prod",
      destinations: {
        team: { type: "slack", url: { secret: { name: "notify", key: "slack" } } },
        ops: { type: "teams", url: { file: files.teams } },
        audit: { type: "webhook", url: { file: files.hook }, signingKey: { file: files.key } },
        mail: {
          type: "email",
          smtp: {
            host: "127.0.0.1",
            port: smtp.port,
            user: "rollway",
            password: { secret: { name: "notify", key: "smtp" } },
          },
          from: "rollway@example.com",
          to: ["releases@example.com"],
        },
      },
      subscriptions: [
        { on: ["waiting-for-approval", "promoted"], to: ["team", "ops", "audit"] },
        { on: ["failed"], to: ["mail"] },
      ],
      templates: { promoted: { title: "{{release}} is live", body: "on {{environment}}: {{message}}" } },
    });
    const { lines, logger } = logSink();
    const outcomes: OutcomeReport[] = [];
    const notifier = new Notifier({
      config,
      namespace: NS,
      api: cluster.api,
      holder: "replica-a",
      logger,
      onOutcome: (o) => outcomes.push(o),
    });
    notifier.notify(event("waiting-for-approval", { gate: "promotion" }), { previewHost: "preview.shop.example.com" });
    notifier.notify(event("upgrade-done"));
    notifier.notify(event("failed", { message: "backend-1: ImagePullBackOff" }));
    notifier.notify(event("component-updated"));
    await notifier.idle();

    expect(slack.received.map((r) => JSON.parse(r.body).text)).toEqual([
      `Release ${RELEASE} waits for approval in prod\nTry it at https://preview.shop.example.com/, then approve promotion. waiting-for-approval &lt;b&gt;&amp;&lt;/b&gt;`,
      `${RELEASE} is live\non prod: upgrade-done &lt;b&gt;&amp;&lt;/b&gt;`,
    ]);
    const card = JSON.parse(teams.received[0]?.body ?? "{}");
    expect(card.attachments[0].contentType).toBe("application/vnd.microsoft.card.adaptive");
    expect(card.attachments[0].content.body[0].text).toBe(`Release ${RELEASE} waits for approval in prod`);
    // The generic webhook: the HMAC of the exact body, the event and a delivery id receivers can deduplicate on.
    for (const r of hook.received) {
      const expected = createHmac("sha256", "hmac-key-0123456789").update(r.body).digest("hex");
      expect(r.headers["x-rollway-signature-256"]).toBe(`sha256=${expected}`);
    }
    expect(hook.received.map((r) => JSON.parse(r.body))).toEqual([
      expect.objectContaining({ event: "waiting-for-approval", release: RELEASE, gate: "promotion" }),
      expect.objectContaining({ event: "promoted", release: RELEASE, title: `${RELEASE} is live` }),
    ]);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]).toMatchObject({ from: "rollway@example.com", to: ["releases@example.com"], user: "rollway" });
    expect(smtp.mails[0]?.raw).toContain(`Subject: Release ${RELEASE} failed in prod`);
    expect(smtp.mails[0]?.raw).toContain("Why: backend-1: ImagePullBackOff");
    expect(outcomes.map((o) => `${o.destination}:${o.event}:${o.outcome}`).sort()).toEqual(
      [
        "audit:promoted:sent",
        "audit:waiting-for-approval:sent",
        "mail:failed:sent",
        "ops:promoted:sent",
        "ops:waiting-for-approval:sent",
        "team:promoted:sent",
        "team:waiting-for-approval:sent",
      ].sort(),
    );
    // No secret in any log line.
    const logs = lines.join("\n");
    for (const secret of [slack.url, teams.url, hook.url, "hmac-key-0123456789", "smtp-password-123"])
      expect(logs).not.toContain(secret);
  });

  it("retries a receiver that answers 429 with Retry-After then 500 then 200, and records the claim as sent", async () => {
    const cluster = await clusterResource();
    const hook = await receiverResource((n, _r, res) => {
      if (n === 0) res.writeHead(429, { "Retry-After": "2" }).end();
      else if (n === 1) res.writeHead(500).end();
      else res.writeHead(200).end();
      return undefined;
    });
    const files = secretFilesResource({ hook: hook.url, key: "k".repeat(20) });
    const delays: number[] = [];
    const outcomes: OutcomeReport[] = [];
    const notifier = new Notifier({
      config: base({ audit: { type: "webhook", url: { file: files.hook }, signingKey: { file: files.key } } }, [
        "promoted",
      ]),
      namespace: NS,
      api: cluster.api,
      holder: "replica-a",
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 1,
      onOutcome: (o) => outcomes.push(o),
    });
    notifier.notify(event("upgrade-done"));
    await notifier.idle();
    expect(hook.received).toHaveLength(3);
    // Retry-After: 2 s, capped by maxBackoffMs (50 ms in this config); then the exponential backoff (5 ms × 2).
    expect(delays).toEqual([50, 10]);
    expect(outcomes).toEqual([expect.objectContaining({ outcome: "sent", attempts: 3 })]);
    const claim = (await (
      await fetch(`${cluster.url}/api/v1/namespaces/${NS}/configmaps/${claimName(`${RELEASE}/promoted`, "audit")}`)
    ).json()) as { data: Record<string, string> };
    expect(claim.data).toMatchObject({ state: "sent", attempts: "3", holder: "replica-a" });
  });

  it("never makes the caller wait for a hanging receiver, and gives up after the bound with a report and a log line", async () => {
    const hook = await receiverResource(() => "hang");
    const files = secretFilesResource({ hook: hook.url, key: "k".repeat(20) });
    const { lines, logger } = logSink();
    const outcomes: OutcomeReport[] = [];
    const notifier = new Notifier({
      config: base(
        { audit: { type: "webhook", url: { file: files.hook }, signingKey: { file: files.key } } },
        ["promoted"],
        {
          maxAttempts: 2,
          attemptTimeoutMs: 200,
        },
      ),
      namespace: NS,
      holder: "replica-a",
      logger,
      onOutcome: (o) => outcomes.push(o),
    });
    // notify() returns before anything is sent: the release's own work never waits on a receiver.
    expect(notifier.notify(event("upgrade-done"))).toBeUndefined();
    expect(notifier.pending).toBe(1);
    expect(outcomes).toEqual([]);
    await notifier.idle();
    expect(hook.received).toHaveLength(2);
    expect(outcomes).toEqual([
      expect.objectContaining({ destination: "audit", outcome: "gave-up", attempts: 2, reason: "timed out" }),
    ]);
    const given = lines.map((l) => JSON.parse(l)).find((l) => l.message === "notification given up");
    expect(given).toMatchObject({ level: "warn", destination: "audit", attempts: 2, reason: "timed out" });
    expect(lines.join("\n")).not.toContain(hook.url);
  });

  it("notifies a stuck component once per component and reason, with the reason in the message", async () => {
    const hook = await receiverResource();
    const files = secretFilesResource({ hook: hook.url, key: "k".repeat(20) });
    const notifier = new Notifier({
      config: base({ audit: { type: "webhook", url: { file: files.hook }, signingKey: { file: files.key } } }, [
        "component-stuck",
      ]),
      namespace: NS,
      holder: "replica-a",
    });
    const stuck = (component: string, reason: string) =>
      event("component-stuck", { component, reason, message: `${component}: not getting ready: ${reason}` });
    notifier.notify(stuck("frontend", "CrashLoopBackOff"));
    notifier.notify(stuck("frontend", "CrashLoopBackOff")); // replayed, or seen by a second subscriber
    notifier.notify(stuck("frontend", "ImagePullBackOff"));
    notifier.notify(stuck("backend-1", "CrashLoopBackOff"));
    notifier.notify(event("warning", { component: "frontend" })); // a warning is not a stuck component
    await notifier.idle();
    const sent = hook.received.map((r) => JSON.parse(r.body) as Record<string, string>);
    // Sent concurrently: in any order.
    expect(sent.map((b) => [b.event, b.component, b.reason]).sort()).toEqual([
      ["component-stuck", "backend-1", "CrashLoopBackOff"],
      ["component-stuck", "frontend", "CrashLoopBackOff"],
      ["component-stuck", "frontend", "ImagePullBackOff"],
    ]);
    expect(sent.find((b) => b.component === "frontend" && b.reason === "CrashLoopBackOff")).toMatchObject({
      title: `frontend is stuck in release ${RELEASE} (CrashLoopBackOff)`,
      text: "frontend: not getting ready: CrashLoopBackOff",
    });
  });

  it("notifies a rollback as rolled-back, not promoted, when its context names the release it undoes", async () => {
    const hook = await receiverResource();
    const files = secretFilesResource({ hook: hook.url, key: "k".repeat(20) });
    const notifier = new Notifier({
      config: base({ audit: { type: "webhook", url: { file: files.hook }, signingKey: { file: files.key } } }, [
        "promoted",
        "rolled-back",
      ]),
      namespace: NS,
      holder: "replica-a",
    });
    notifier.notify(event("upgrade-done", { release: "rollback-1" }), { rollbackOf: RELEASE });
    await notifier.idle();
    expect(hook.received.map((r) => JSON.parse(r.body) as Record<string, string>)).toEqual([
      expect.objectContaining({ event: "rolled-back", release: "rollback-1", rollbackOf: RELEASE }),
    ]);
  });

  it("does not retry an answer that will not change (400), and gives up at once", async () => {
    const hook = await receiverResource((_n, _r, res) => {
      res.writeHead(400).end();
      return undefined;
    });
    const files = secretFilesResource({ hook: hook.url });
    const outcomes: OutcomeReport[] = [];
    const notifier = new Notifier({
      config: base({ team: { type: "slack", url: { file: files.hook } } }, ["aborted"]),
      namespace: NS,
      holder: "a",
      onOutcome: (o) => outcomes.push(o),
    });
    notifier.notify(event("aborted"));
    await notifier.idle();
    expect(hook.received).toHaveLength(1);
    expect(outcomes).toEqual([expect.objectContaining({ outcome: "gave-up", attempts: 1, reason: "HTTP 400" })]);
  });

  it("sends each notification once when two replicas see the same events at once", async () => {
    const cluster = await clusterResource();
    const hook = await receiverResource();
    const files = secretFilesResource({ hook: hook.url });
    const config = base({ team: { type: "slack", url: { file: files.hook } } }, [
      "release-started",
      "waiting-for-approval",
      "promoted",
    ]);
    const outcomes: OutcomeReport[] = [];
    const replicas = ["replica-a", "replica-b"].map(
      (holder) => new Notifier({ config, namespace: NS, api: cluster.api, holder, onOutcome: (o) => outcomes.push(o) }),
    );
    const events = [
      event("started"),
      event("waiting-for-approval", { gate: "code-as-data" }),
      event("waiting-for-approval", { gate: "promotion" }),
      event("upgrade-done"),
    ];
    for (const e of events) for (const r of replicas) r.notify(e);
    await Promise.all(replicas.map((r) => r.idle()));
    expect(hook.received).toHaveLength(4);
    expect(outcomes.filter((o) => o.outcome === "sent")).toHaveLength(4);
    expect(outcomes.filter((o) => o.outcome === "duplicate")).toHaveLength(4);
  });

  it("takes over a claim its replica left unfinished once it is stale, so the notification is still sent", async () => {
    const cluster = await clusterResource();
    const hook = await receiverResource();
    const files = secretFilesResource({ hook: hook.url });
    const config = base({ team: { type: "slack", url: { file: files.hook } } }, ["promoted"]);
    // A replica that claimed and died: its claim says "claimed", ten minutes ago.
    const name = claimName(`${RELEASE}/promoted`, "team");
    await fetch(`${cluster.url}/api/v1/namespaces/${NS}/configmaps`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name },
        data: { state: "claimed", holder: "dead-replica", claimedAt: new Date(Date.now() - 600_000).toISOString() },
      }),
    });
    const notifier = new Notifier({ config, namespace: NS, api: cluster.api, holder: "replica-b" });
    notifier.notify(event("upgrade-done"));
    await notifier.idle();
    expect(hook.received).toHaveLength(1);
  });

  it("refuses a file with a URL written inline or an unknown destination, naming the path", () => {
    const attempt =
      (destinations: unknown, to = ["team"]) =>
      () =>
        parseNotifications(
          {
            apiVersion: "rollway.dev/v1alpha1",
            kind: "Notifications",
            environment: "prod",
            destinations,
            subscriptions: [{ on: ["promoted"], to }],
          },
          "prod.notifications.yaml",
        );
    expect(attempt({ team: { type: "slack", url: "https://hooks.slack.com/services/T/B/SECRET" } })).toThrow(
      /prod\.notifications\.yaml: invalid notifications:\n {2}destinations\.team\.url: /,
    );
    expect(attempt({ team: { type: "slack", url: { file: "/x" } } }, ["nobody"])).toThrow(
      'subscriptions.0.to: no destination "nobody"',
    );
    try {
      attempt({ team: { type: "slack", url: "https://hooks.slack.com/services/T/B/SECRET" } })();
    } catch (error) {
      expect(error).toBeInstanceOf(NotificationError);
      expect((error as NotificationError).code).toBe("INVALID_CONFIG");
      expect((error as Error).message).not.toContain("SECRET");
    }
  });
});
