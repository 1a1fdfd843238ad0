import { describe, expect, it } from "vitest";
import { APPROVE_TOKEN, DEPLOY_TOKEN, readEvents, replicaResource, simServerResource } from "../test-server.js";

const deployHeaders = { Authorization: `Bearer ${DEPLOY_TOKEN}`, "Content-Type": "application/json" };
const approveHeaders = { Authorization: `Bearer ${APPROVE_TOKEN}` };
const payloadFor = (tag: string) =>
  JSON.stringify({
    frontend: { image: `my-registry/image-for-frontend:${tag}` },
    backends: {
      images: [`my-registry/image-for-backend-1:${tag}`],
      deployRules: [{ source: "^my-registry/image-for-backend-1:.*$", target: "^backend-1$" }],
    },
  });

interface Accepted {
  message: string;
  releaseId: string;
  statusUrl: string;
  eventsUrl: string;
  duplicate?: boolean;
}

const deploy = (base: string, body: string, headers: Record<string, string> = {}, query = "") =>
  fetch(`${base}/deploy${query}`, { method: "POST", body, headers: { ...deployHeaders, ...headers } });

async function status(base: string, id: string): Promise<{ state: string; approvals?: unknown[] }> {
  const res = await fetch(`${base}/releases/${id}`, { headers: deployHeaders });
  return ((await res.json()) as { release: { state: string } }).release;
}

/** Follows the release's own event stream until the event arrives (no polling). */
const waitForEvent = (base: string, id: string, type: string) =>
  readEvents(`${base}/releases/${id}/events`, deployHeaders, (events) => events.some((e) => e.event === type));

async function rolloutImage(sim: { url: string }, name: string): Promise<string> {
  const ro = (await (await fetch(`${sim.url}/apis/argoproj.io/v1alpha1/namespaces/demo/rollouts/${name}`)).json()) as {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  return ro.spec.template.spec.containers[0]?.image as string;
}

describe("deploy, as seed 004 describes it", () => {
  it("accepts a payload with 200 success, waits for approval, promotes on an approve token and streams upgrade-done", async () => {
    const server = await simServerResource();
    const res = await deploy(server.base, payloadFor("2.0"));
    expect(res.status).toBe(200);
    const accepted = (await res.json()) as Accepted;
    expect(accepted).toEqual({
      message: "success",
      releaseId: expect.stringMatching(/^demo-/),
      statusUrl: `/v1/projects/demo/environments/demo/releases/${accepted.releaseId}`,
      eventsUrl: `/v1/projects/demo/environments/demo/releases/${accepted.releaseId}/events`,
    });
    await waitForEvent(server.base, accepted.releaseId, "waiting-for-approval");
    expect(await status(server.base, accepted.releaseId)).toMatchObject({ state: "waiting-for-approval" });
    expect(await rolloutImage(server.cluster.sim, "frontend")).toBe("my-registry/image-for-frontend:2.0");

    // The environment's status: every workload, the new version ready in preview, and this release.
    const env = await fetch(`${server.base}/status`, { headers: deployHeaders });
    expect(env.status).toBe(200);
    const envStatus = (await env.json()) as {
      release: { id: string; state: string };
      components: { component: string; phase: string; updatedReadyReplicas?: number; desiredReplicas: number }[];
    };
    expect(envStatus.release).toMatchObject({ id: accepted.releaseId, state: "waiting-for-approval" });
    expect(envStatus.components[0]).toMatchObject({ component: "frontend", phase: "Paused" });
    expect(envStatus.components[0]?.updatedReadyReplicas).toBe(envStatus.components[0]?.desiredReplicas);
    expect(envStatus.components.map((c) => c.component)).toContain("backend-1");

    // A deploy token may not promote; an approve token may.
    const denied = await fetch(`${server.url}${accepted.statusUrl}/promote`, {
      method: "POST",
      headers: deployHeaders,
    });
    expect(denied.status).toBe(403);
    const promoted = await fetch(`${server.url}${accepted.statusUrl}/promote`, {
      method: "POST",
      headers: { ...approveHeaders, "Content-Type": "application/json" },
      body: JSON.stringify({ by: "alice" }),
    });
    expect(promoted.status).toBe(200);

    const events = await readEvents(`${server.url}${accepted.eventsUrl}`, deployHeaders);
    const types = events.map((e) => e.event);
    expect(types).toEqual(
      expect.arrayContaining(["started", "preview-ready", "waiting-for-approval", "approved", "upgrade-done"]),
    );
    expect(types.indexOf("upgrade-done")).toBeGreaterThan(types.indexOf("approved"));
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_e, i) => i + 1));
    expect(events.find((e) => e.event === "approved")?.data.message).toContain("alice");

    const history = (await (await fetch(`${server.base}/releases`, { headers: approveHeaders })).json()) as {
      releases: { id: string; state: string; components: { name: string; to: string }[] }[];
    };
    expect(history.releases).toEqual([
      expect.objectContaining({
        id: accepted.releaseId,
        state: "promoted",
        components: expect.arrayContaining([
          { name: "frontend", from: "my-registry/image-for-frontend:1.0", to: "my-registry/image-for-frontend:2.0" },
        ]),
      }),
    ]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/rollway_releases_total\{environment="demo",outcome="promoted"\} 1/);
    expect(metrics).toMatch(/rollway_release_time_to_promote_seconds_count\{environment="demo"\} 1/);
  });

  it("answers 400 with every problem for a payload the environment cannot take, and deploys nothing", async () => {
    const server = await simServerResource();
    const cases: [string, string, string][] = [
      ["the seed's trailing comma", '{"codeAsData": {"image": "r/cad:1",}}', "(payload)"],
      [
        "an image no deploy rule routes",
        JSON.stringify({
          backends: { images: ["r/unknown:1"], deployRules: [{ source: "^nothing$", target: ".*" }] },
        }),
        "",
      ],
    ];
    for (const [, body, path] of cases) {
      const res = await deploy(server.base, body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as { problems: { path: string; message: string }[] };
      expect(json.problems.length).toBeGreaterThan(0);
      if (path) expect(json.problems[0]?.path).toBe(path);
      for (const p of json.problems) expect(p.message.length).toBeGreaterThan(5);
    }
    const bad = await deploy(server.base, payloadFor("2.0"), { "Idempotency-Key": "with space" });
    expect(bad.status).toBe(400);
    const history = (await (await fetch(`${server.base}/releases`, { headers: deployHeaders })).json()) as {
      releases: unknown[];
    };
    expect(history.releases).toEqual([]);
    expect(await rolloutImage(server.cluster.sim, "frontend")).toBe("my-registry/image-for-frontend:1.0");
  });

  it("answers 502 with the cluster's code FORBIDDEN, not 500 internal error, when RBAC denies reading the history", async () => {
    const server = await simServerResource();
    server.cluster.sim.faults.deny({ verb: "list", resource: "configmaps" });
    const res = await fetch(`${server.base}/releases`, { headers: deployHeaders });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("FORBIDDEN");
    expect(body.message).toMatch(/in namespace "demo": .*forbidden/);
  });

  it("answers 404 for a project or environment that is not configured, 401/403 before that", async () => {
    const server = await simServerResource({
      config: {
        tokens: [{ scope: "deploy", project: "demo", environment: "*", tokens: [DEPLOY_TOKEN] }],
      },
    });
    const other = `${server.url}/v1/projects/demo/environments/nowhere`;
    expect((await deploy(other, payloadFor("2.0"))).status).toBe(404);
    expect((await deploy(other, payloadFor("2.0"), { Authorization: "Bearer nope-nope-nope-nope" })).status).toBe(401);
  });
});

describe("a delivery retried by CI is the same release", () => {
  it("gives the same release for the same Idempotency-Key, on any replica, even at the same moment", async () => {
    const server = await simServerResource();
    const replica = await replicaResource(server);
    const body = payloadFor("3.0");
    const key = { "Idempotency-Key": "ci-run-42" };
    const answers = await Promise.all([
      deploy(server.base, body, key),
      deploy(replica.base, body, key),
      deploy(server.base, body, key),
    ]);
    const json = (await Promise.all(answers.map((a) => a.json()))) as Accepted[];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const ids = new Set(json.map((j) => j.releaseId));
    expect(ids.size).toBe(1);
    expect(json.filter((j) => j.duplicate).length).toBe(2);

    // A later retry too, and the key with another payload is refused.
    const later = (await (await deploy(replica.base, body, key)).json()) as Accepted;
    expect(later).toMatchObject({ releaseId: json[0]?.releaseId, duplicate: true });
    const reused = await deploy(server.base, payloadFor("3.1"), key);
    expect(reused.status).toBe(422);
    expect(((await reused.json()) as { message: string }).message).toContain("Idempotency-Key");

    // Without a key, the same payload while its release runs is that release.
    const again = (await (await deploy(server.base, body)).json()) as Accepted;
    expect(again).toMatchObject({ releaseId: json[0]?.releaseId, duplicate: true });

    const history = (await (await fetch(`${server.base}/releases`, { headers: deployHeaders })).json()) as {
      releases: unknown[];
    };
    expect(history.releases).toHaveLength(1);
  });
});

describe("duplicate deliveries without an Idempotency-Key", () => {
  it("finding 9: simultaneous deliveries of one payload without a key, on two replicas, are one release", async () => {
    const server = await simServerResource();
    const replica = await replicaResource(server);
    const body = payloadFor("3.5");
    const answers = await Promise.all([
      deploy(server.base, body),
      deploy(replica.base, body),
      deploy(server.base, body),
    ]);
    const json = (await Promise.all(answers.map((a) => a.json()))) as Accepted[];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(json.map((j) => j.releaseId)).size).toBe(1);
    expect(json.filter((j) => j.duplicate).length).toBe(2);
    const history = (await (await fetch(`${server.base}/releases`, { headers: deployHeaders })).json()) as {
      releases: unknown[];
    };
    expect(history.releases).toHaveLength(1);
  });
});

describe("two deploys to one environment", () => {
  it("answers 409 naming the running release when the caller asked not to queue, and queues otherwise", async () => {
    const server = await simServerResource();
    const replica = await replicaResource(server);
    const [a, b] = await Promise.all([
      deploy(server.base, payloadFor("4.0"), {}, "?queue=false"),
      deploy(replica.base, payloadFor("4.1"), {}, "?queue=false"),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 409]);
    const [won, lost] = a.status === 200 ? [a, b] : [b, a];
    const running = ((await won.json()) as Accepted).releaseId;
    expect(await lost.json()).toMatchObject({
      runningRelease: running,
      message: expect.stringContaining(`release "${running}"`),
    });

    // Queued: accepted now, started once the running release is aborted (every component back to stable).
    const queued = (await (await deploy(replica.base, payloadFor("4.2"))).json()) as Accepted;
    expect(queued.message).toBe("success");
    expect(queued.releaseId).not.toBe(running);
    expect(await status(server.base, queued.releaseId)).toEqual({ id: queued.releaseId, state: "queued" });
    const abort = await fetch(`${replica.base}/releases/${running}/abort`, { method: "POST", headers: approveHeaders });
    expect(abort.status).toBe(200);
    await waitForEvent(server.base, running, "aborted");
    await waitForEvent(server.base, queued.releaseId, "waiting-for-approval");
    expect(await status(replica.base, running)).toMatchObject({ state: "aborted" });
    expect(await rolloutImage(server.cluster.sim, "frontend")).toBe("my-registry/image-for-frontend:4.2");
    // A finished release cannot be promoted: 409 with the reason.
    const late = await fetch(`${server.base}/releases/${running}/promote`, { method: "POST", headers: approveHeaders });
    expect(late.status).toBe(409);
  });
});

describe("events as Server-Sent Events", () => {
  it("resumes after Last-Event-ID on another replica, with nothing lost or repeated", async () => {
    const server = await simServerResource();
    const replica = await replicaResource(server);
    const { releaseId } = (await (await deploy(server.base, payloadFor("5.0"))).json()) as Accepted;
    const first = await readEvents(`${server.base}/releases/${releaseId}/events`, deployHeaders, (e) => e.length >= 3);
    expect(first.map((e) => e.id)).toEqual(["1", "2", "3"]);
    await waitForEvent(server.base, releaseId, "waiting-for-approval");
    await fetch(`${replica.base}/releases/${releaseId}/promote`, { method: "POST", headers: approveHeaders });
    const rest = await readEvents(`${replica.base}/releases/${releaseId}/events`, {
      ...deployHeaders,
      "Last-Event-ID": "3",
    });
    const whole = await readEvents(`${server.base}/releases/${releaseId}/events`, deployHeaders);
    expect([...first, ...rest]).toEqual(whole);
    expect(rest.at(-1)?.event === "upgrade-done" || rest.some((e) => e.event === "upgrade-done")).toBe(true);
  });
});

describe("rollback", () => {
  it("rolls a promoted release back as a new release, with the approve scope", async () => {
    const server = await simServerResource();
    const { releaseId } = (await (await deploy(server.base, payloadFor("6.0"), {}, "")).json()) as Accepted;
    await waitForEvent(server.base, releaseId, "waiting-for-approval");
    await fetch(`${server.base}/releases/${releaseId}/promote`, { method: "POST", headers: approveHeaders });
    await waitForEvent(server.base, releaseId, "upgrade-done");
    const res = await fetch(`${server.base}/releases/${releaseId}/rollback`, {
      method: "POST",
      headers: approveHeaders,
    });
    expect(res.status).toBe(200);
    const back = (await res.json()) as Accepted & { rollbackOf: string };
    expect(back.rollbackOf).toBe(releaseId);
    await waitForEvent(server.base, back.releaseId, "upgrade-done");
    expect(await status(server.base, releaseId)).toMatchObject({ state: "rolled-back" });
    expect(await rolloutImage(server.cluster.sim, "frontend")).toBe("my-registry/image-for-frontend:1.0");
    const unknown = await fetch(`${server.base}/releases/demo-nope/rollback`, {
      method: "POST",
      headers: approveHeaders,
    });
    expect(unknown.status).toBe(404);
  });
});

describe("the public upgrade stream (seed 000's onUpgradeDone for running frontends)", () => {
  it("is off unless the frontends' origins are configured", async () => {
    const server = await simServerResource();
    const res = await fetch(`${server.base}/upgrades`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toContain("ROLLWAY_PUBLIC_UPGRADE_ORIGINS");
  });

  it("tells a page of an allowed origin, without a token, what serves now and each promotion", async () => {
    const app = "https://app.example.com";
    const server = await simServerResource({ config: { publicUpgradeOrigins: [app] } });
    const refused = await fetch(`${server.base}/upgrades`, { headers: { Origin: "https://elsewhere.example.com" } });
    expect(refused.status).toBe(403);

    const stop = new AbortController();
    const opened = await fetch(`${server.base}/upgrades`, { headers: { Origin: app }, signal: stop.signal });
    expect(opened.status).toBe(200);
    expect(opened.headers.get("Access-Control-Allow-Origin")).toBe(app);
    expect(opened.headers.get("Content-Type")).toContain("text/event-stream");
    stop.abort();

    let sawCurrent: () => void = () => undefined;
    const current = new Promise<void>((resolve) => {
      sawCurrent = resolve;
    });
    const feed = readEvents(`${server.base}/upgrades`, { Origin: app }, (events) => {
      if (events.some((e) => e.event === "current")) sawCurrent();
      return events.some((e) => e.event === "upgrade-done");
    });
    await current;
    const accepted = (await (await deploy(server.base, payloadFor("3.0"))).json()) as Accepted;
    await waitForEvent(server.base, accepted.releaseId, "waiting-for-approval");
    const promoted = await fetch(`${server.url}${accepted.statusUrl}/promote`, {
      method: "POST",
      headers: { ...approveHeaders, "Content-Type": "application/json" },
      body: "{}",
    });
    expect(promoted.status).toBe(200);
    const events = await feed;
    expect(events[0]).toEqual({ id: "", event: "current", data: { release: null, environment: "demo" } });
    expect(events.at(-1)).toEqual({
      id: accepted.releaseId,
      event: "upgrade-done",
      data: { release: accepted.releaseId, environment: "demo", at: expect.any(String) },
    });
    // Nothing else is public: no images, no approvals, no payload.
    expect(JSON.stringify(events)).not.toContain("my-registry");
  });
});
