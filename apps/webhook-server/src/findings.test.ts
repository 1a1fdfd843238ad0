/**
 * Issue #13's findings as a client of the server meets them: over HTTP, against `rollway serve --sim`'s pieces (the
 * demo environment in kube-sim, the server in this process). One cluster and one server for the whole file, so each
 * test starts from what the previous one left (and says what it expects to find). The environment gives backend-2 an
 * oConfig holding secrets, as finding 9 needs; the Lease lasts 2 s, so recovery ticks every 2 s (finding 4).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDeployPayload } from "@rollway/payload-schema";
import { createReleaseEngine, parseEnvironmentYaml, type ReleaseEvent } from "@rollway/release";
import { connect } from "@rollway/rollout-client";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { clusterProxyResource } from "../../../packages/release/src/test-helpers/cluster-proxy.js";
import { ServerConfigSchema } from "./config.js";
import { startServer } from "./server.js";
import { DEMO_ENVIRONMENT_YAML, type SimServer, startDemoCluster, startSimServer } from "./sim.js";
import { APPROVE_TOKEN, DEPLOY_TOKEN, readEvents, type SseEvent } from "./test-server.js";

const LEASE_SECONDS = 2;
const SECRETS = { dbPassword: "db-pa55-never-in-a-record", apiKey: "ak-live-never-in-an-event" };
const COMPONENTS = ["frontend", "backend-1", "backend-2", "backend-3", "backend-4", "backend-5"];
const BACKEND2_LINE = "strategy: { type: blueGreen, activeService: backend-2, previewService: backend-2-preview }";

const dir = mkdtempSync(join(tmpdir(), "rollway-findings-"));
let server: SimServer;
beforeAll(async () => {
  // The demo environment, with an oConfig for backend-2 (which has none in the cluster yet) holding secrets.
  expect(DEMO_ENVIRONMENT_YAML).toContain(BACKEND2_LINE);
  const environment = join(dir, "demo.yaml");
  writeFileSync(
    environment,
    DEMO_ENVIRONMENT_YAML.replace(
      BACKEND2_LINE,
      `${BACKEND2_LINE}\n    oConfig: '${JSON.stringify({ "sc.production": true, ...SECRETS })}'`,
    ),
  );
  server = await startSimServer({
    config: {
      port: 0,
      rateLimitPerMinute: 100_000,
      shutdownGraceMs: 5000,
      leaseDurationSeconds: LEASE_SECONDS,
      environments: [{ project: "demo", environment: "demo", file: environment }],
    },
    readyDelayMs: 30,
    tokens: { deploy: DEPLOY_TOKEN, approve: APPROVE_TOKEN },
    logDestination: { write: () => true } as never,
  });
}, 60_000);
afterAll(async () => {
  await server?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const deployHeaders = { Authorization: `Bearer ${DEPLOY_TOKEN}`, "Content-Type": "application/json" };
const approveHeaders = { Authorization: `Bearer ${APPROVE_TOKEN}`, "Content-Type": "application/json" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every component gets an image with this tag (the other backends' shared image included). */
const payloadFor = (tag: string, mode: "manual" | "auto" = "manual") =>
  JSON.stringify({
    frontend: { image: `my-registry/image-for-frontend:${tag}` },
    backends: {
      images: [`my-registry/image-for-backend-1:${tag}`, `my-registry/image-for-other-backends:${tag}`],
      deployRules: [
        { source: "^my-registry/image-for-backend-1:", target: "^backend-1$" },
        { source: "^my-registry/image-for-other-backends:", target: "^(?!backend-1$)" },
      ],
    },
    noDowntime: { promotionMode: mode },
  });
const imageOf = (component: string, tag: string) =>
  component === "frontend"
    ? `my-registry/image-for-frontend:${tag}`
    : component === "backend-1"
      ? `my-registry/image-for-backend-1:${tag}`
      : `my-registry/image-for-other-backends:${tag}`;

async function deploy(tag: string, mode: "manual" | "auto" = "manual"): Promise<string> {
  const res = await fetch(`${server.base}/deploy`, {
    method: "POST",
    headers: deployHeaders,
    body: payloadFor(tag, mode),
  });
  const body = (await res.json()) as { releaseId: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.releaseId;
}

async function decide(id: string, decision: "promote" | "abort" | "rollback"): Promise<Response> {
  return fetch(`${server.base}/releases/${id}/${decision}`, {
    method: "POST",
    headers: approveHeaders,
    body: JSON.stringify({ by: "alice" }),
  });
}

interface Summary {
  id: string;
  state: string;
  reason?: string;
  approvals: unknown[];
  components: { name: string; from?: string; to: string }[];
}
async function release(id: string): Promise<Summary> {
  const res = await fetch(`${server.base}/releases/${id}?fresh=1`, { headers: deployHeaders });
  return ((await res.json()) as { release: Summary }).release;
}

/** The release's own event stream, read until the event arrives (or, with no type, until the stream ends). */
const eventsUntil = (id: string, type?: string): Promise<SseEvent[]> =>
  readEvents(
    `${server.base}/releases/${id}/events`,
    deployHeaders,
    type ? (events) => events.some((e) => e.event === type) : undefined,
  );

/** What each component serves users (its stable ReplicaSet's image) and its phase, fresh from the cluster. */
async function serving(): Promise<Record<string, { phase: string; image: string | undefined }>> {
  const res = await fetch(`${server.base}/status?fresh=1`, { headers: deployHeaders });
  const body = (await res.json()) as {
    components: { component: string; phase: string; stableImages?: { image: string }[] }[];
  };
  return Object.fromEntries(
    body.components.map((c) => [c.component, { phase: c.phase, image: c.stableImages?.[0]?.image }]),
  );
}
/** Whether every injected fault matching this request was used up (by the server: the test sends nothing else). */
const spent = (match: { verb: string; resource: string; name?: string; group?: string }) =>
  server.cluster.sim.faults.forRequest({ namespace: "demo", ...match }).error === undefined;
const allOn = (tag: string) =>
  Object.fromEntries(COMPONENTS.map((c) => [c, { phase: "Healthy", image: imageOf(c, tag) }]));

describe("issue #13 findings, over HTTP", () => {
  it("finding 2: abort the running release, then the one queued behind it: both end aborted, and every Rollout is Healthy on what it served before", async () => {
    expect(await serving()).toEqual(allOn("1.0"));
    const b = await deploy("b2");
    await eventsUntil(b, "waiting-for-approval");
    const c = await deploy("c2");
    expect(await release(c)).toMatchObject({ state: "queued" });

    expect((await decide(b, "abort")).status).toBe(200);
    await eventsUntil(b, "aborted");
    await eventsUntil(c, "waiting-for-approval");
    // C's "from" is what users were served, never B's preview.
    for (const component of (await release(c)).components)
      expect(component.from, component.name).toBe(imageOf(component.name, "1.0"));

    expect((await decide(c, "abort")).status).toBe(200);
    await eventsUntil(c, "aborted");
    expect(await release(b)).toMatchObject({ state: "aborted" });
    expect(await release(c)).toMatchObject({ state: "aborted" });
    expect(await serving()).toEqual(allOn("1.0"));
  }, 120_000);

  it("finding 3: a promote answers 200 only once the engine running the release acknowledged it, and the answer shows the acknowledgement", async () => {
    const a = await deploy("a3");
    await eventsUntil(a, "waiting-for-approval");
    const res = await decide(a, "promote");
    const body = (await res.json()) as { release: Summary & { approvals: { ackedBy?: string; ackedAt?: string }[] } };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.release.approvals).toEqual([
      expect.objectContaining({ gate: "promotion", ackedBy: expect.any(String), ackedAt: expect.any(String) }),
    ]);
    const types = (await eventsUntil(a)).map((e) => e.event);
    expect(types.filter((t) => t === "upgrade-done")).toHaveLength(1);
    expect(await release(a)).toMatchObject({ state: "promoted" });
  }, 120_000);

  it("finding 4: a release waiting across several recovery ticks gets no twin engine; it promotes once and stays promoted", async () => {
    const d = await deploy("d4");
    await eventsUntil(d, "waiting-for-approval");
    // Three Lease durations: the server's recovery loop runs on each, in the process that runs the release.
    await sleep(3 * LEASE_SECONDS * 1000 + 500);
    expect((await decide(d, "promote")).status).toBe(200);
    const events = await eventsUntil(d);
    const types = events.map((e) => e.event);
    expect(types).not.toContain("resumed");
    expect(types).not.toContain("taken-over");
    expect(types.filter((t) => t === "upgrade-done")).toHaveLength(1);
    expect(types.filter((t) => t === "promoting")).toHaveLength(1);
    // Two more ticks after it finished: nothing takes it over, aborts it, or writes an older version back.
    await sleep(2 * LEASE_SECONDS * 1000 + 500);
    expect(await release(d)).toMatchObject({ state: "promoted" });
    expect(await serving()).toEqual(allOn("d4"));
  }, 120_000);

  it("finding 4: a promotion slower than the Lease (each Rollout patch held 3 s) gets no twin either: it and the release queued behind it promote once each, and nothing rolls them back afterwards", async () => {
    const slow = server.cluster.sim.faults.delayRequests({ verb: "patch", resource: "rollouts", ms: 3000 });
    try {
      const s = await deploy("s4", "auto");
      const next = await deploy("t4", "auto");
      const first = (await eventsUntil(s)).map((e) => e.event);
      expect(first).not.toContain("resumed");
      expect(first).not.toContain("taken-over");
      expect(first.filter((t) => t === "upgrade-done")).toHaveLength(1);
      const second = (await eventsUntil(next)).map((e) => e.event);
      expect(second.filter((t) => t === "upgrade-done")).toHaveLength(1);
    } finally {
      slow.clear();
    }
    await sleep(2 * LEASE_SECONDS * 1000 + 500);
    const history = (await (await fetch(`${server.base}/releases?fresh=1`, { headers: deployHeaders })).json()) as {
      releases: { state: string }[];
    };
    expect(history.releases.slice(0, 2).map((r) => r.state)).toEqual(["promoted", "promoted"]);
    expect(await serving()).toEqual(allOn("t4"));
  }, 120_000);

  it("finding 9: the release's record, history, events and the cluster's record ConfigMaps hold no oConfig secret; the oConfig ConfigMap does", async () => {
    const history = await (await fetch(`${server.base}/releases`, { headers: deployHeaders })).text();
    const [last] = (JSON.parse(history) as { releases: { id: string }[] }).releases;
    const one = await (await fetch(`${server.base}/releases/${last?.id}`, { headers: deployHeaders })).text();
    const events = JSON.stringify(await eventsUntil(last?.id as string));
    const status = await (await fetch(`${server.base}/status`, { headers: deployHeaders })).text();
    const records = await (
      await fetch(`${server.cluster.sim.url}/api/v1/namespaces/demo/configmaps?labelSelector=rollway.dev/release`)
    ).text();
    expect(records).toContain("release.json");
    for (const secret of Object.values(SECRETS)) {
      for (const [where, text] of Object.entries({ history, one, events, status, records }))
        expect(text, where).not.toContain(secret);
    }
    const configs = await (await fetch(`${server.cluster.sim.url}/api/v1/namespaces/demo/configmaps`)).text();
    expect(configs).toContain(SECRETS.dbPassword);
  });

  it("finding 7: one 500 on a backend's promote patch is retried: every component promoted together, none left on the old version", async () => {
    const e = await deploy("e7");
    await eventsUntil(e, "waiting-for-approval");
    server.cluster.sim.faults.failRequests({
      verb: "patch",
      resource: "rollouts",
      name: "backend-4",
      code: 500,
      times: 1,
    });
    expect((await decide(e, "promote")).status).toBe(200);
    const types = (await eventsUntil(e)).map((x) => x.event);
    expect(types).toContain("upgrade-done");
    expect(types).not.toContain("aborting");
    expect(await release(e)).toMatchObject({ state: "promoted" });
    expect(await serving()).toEqual(allOn("e7"));
    expect(spent({ verb: "patch", resource: "rollouts", group: "argoproj.io", name: "backend-4" })).toBe(true);
  }, 120_000);

  it("finding 7: RBAC refusing one backend's writes at promotion: the others come back, the release ends failed (never aborting) naming what is left and the command that finishes it, and rollback finishes it", async () => {
    const f = await deploy("f7");
    await eventsUntil(f, "waiting-for-approval");
    const denied = [
      server.cluster.sim.faults.deny({ verb: "patch", resource: "rollouts", name: "backend-4" }),
      server.cluster.sim.faults.deny({ verb: "update", resource: "rollouts", name: "backend-4" }),
    ];
    expect((await decide(f, "promote")).status).toBe(200);
    const types = (await eventsUntil(f)).map((x) => x.event);
    expect(types).toContain("failed");
    const failed = await release(f);
    expect(failed.state).toBe("failed");
    expect(failed.reason).toContain("backend-4");
    expect(failed.reason).toContain(`rollway rollback ${f}`);
    // Every other component serves exactly what it did before, nothing left Paused or mixed.
    const now = await serving();
    for (const c of COMPONENTS.filter((x) => x !== "backend-4"))
      expect(now[c], c).toEqual({ phase: "Healthy", image: imageOf(c, "e7") });
    expect(now["backend-4"]?.image).toBe(imageOf("backend-4", "e7"));

    for (const d of denied) d.clear();
    const res = await decide(f, "rollback");
    const body = (await res.json()) as { releaseId: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    await eventsUntil(body.releaseId, "upgrade-done");
    expect(await serving()).toEqual(allOn("e7"));
  }, 120_000);

  it("finding 8: a 429 with Retry-After, 503s on reads and on ConfigMap creates, and a 500 on a patch are retried: the release is promoted", async () => {
    const faults = server.cluster.sim.faults;
    const getRollout = { verb: "get", resource: "rollouts", group: "argoproj.io", name: "frontend" };
    faults.failRequests({ ...getRollout, code: 429, times: 1 });
    faults.failRequests({ ...getRollout, code: 503, times: 1 });
    faults.failRequests({ verb: "create", resource: "configmaps", code: 503, times: 2 });
    faults.failRequests({ verb: "patch", resource: "rollouts", name: "backend-1", code: 500, times: 1 });
    const g = await deploy("g8", "auto");
    const types = (await eventsUntil(g)).map((x) => x.event);
    expect(types).toContain("upgrade-done");
    expect(types).not.toContain("aborting");
    expect(await release(g)).toMatchObject({ state: "promoted" });
    expect(await serving()).toEqual(allOn("g8"));
    expect(spent(getRollout)).toBe(true);
    expect(spent({ verb: "create", resource: "configmaps" })).toBe(true);
    expect(spent({ verb: "patch", resource: "rollouts", group: "argoproj.io", name: "backend-1" })).toBe(true);
  }, 120_000);

  it("finding 8: an approval given after the watch history expired and every watch was cut is acted on; the history reads through a 503", async () => {
    const faults = server.cluster.sim.faults;
    const h = await deploy("h8");
    await eventsUntil(h, "waiting-for-approval");
    faults.expireWatchHistory();
    faults.dropWatches();
    expect((await decide(h, "promote")).status).toBe(200);
    // Read, not followed: the release's SSE stream itself does not survive the 410 today (reported separately).
    let state = (await release(h)).state;
    while (!["promoted", "aborted", "failed"].includes(state)) {
      await sleep(250);
      state = (await release(h)).state;
    }
    expect(state).toBe("promoted");
    expect(await serving()).toEqual(allOn("h8"));

    faults.failRequests({ verb: "list", resource: "configmaps", code: 503, times: 1 });
    const history = await fetch(`${server.base}/releases?fresh=1`, { headers: deployHeaders });
    expect(history.status).toBe(200);
    expect(((await history.json()) as { releases: { id: string }[] }).releases[0]?.id).toBe(h);
    expect(spent({ verb: "list", resource: "configmaps" })).toBe(true);
  }, 120_000);
});

describe("issue #13 finding 3 over HTTP: a decision on a release whose engine just died", () => {
  it("finding 3: promote and abort POSTed right after the engine running the release died (its Lease still live) answer 409 NOT_RUNNING naming rollway recover once the Lease runs out, and leave nothing on the record", async () => {
    // A server that only decides (no recovery: as `rollway dashboard` runs it), and the release run by another
    // process's engine (a CLI's) whose every connection goes through a proxy that the test cuts: kill -9 as the
    // cluster sees it, its Lease (8 s) never let go.
    const cluster = await startDemoCluster({ readyDelayMs: 30 });
    onTestFinished(() => cluster.close());
    const config = ServerConfigSchema.parse({
      host: "127.0.0.1",
      port: 0,
      rateLimitPerMinute: 100_000,
      tokens: [
        { scope: "deploy", project: "demo", environment: "demo", tokens: [DEPLOY_TOKEN] },
        { scope: "approve", project: "demo", environment: "demo", tokens: [APPROVE_TOKEN] },
      ],
      environments: [{ project: "demo", environment: "demo", file: cluster.environmentFile }],
    });
    const decider = await startServer(config, {
      kubeconfig: { yaml: cluster.sim.kubeconfig },
      recovery: false,
      logDestination: { write: () => true } as never,
    });
    onTestFinished(() => decider.shutdown());
    const base = `${decider.url}/v1/projects/demo/environments/demo`;

    const proxy = await clusterProxyResource(cluster.sim);
    const client = await connect({ kubeconfig: { yaml: proxy.kubeconfig } });
    onTestFinished(() => client.close());
    const engine = createReleaseEngine({ client, leaseDurationSeconds: 8, identity: "cli-engine-that-dies" });
    const plan = await engine.plan(
      parseDeployPayload(payloadFor("k3")),
      parseEnvironmentYaml(readFileSync(cluster.environmentFile, "utf8")),
    );
    const waiting = new Promise<ReleaseEvent>((resolve) => {
      void engine
        .apply(plan, { onEvent: (e) => (e.type === "waiting-for-approval" ? resolve(e) : undefined) })
        .catch(() => undefined);
    });
    const { release: id } = await waiting;
    await proxy.cut();

    const post = (decision: string) =>
      fetch(`${base}/releases/${id}/${decision}`, {
        method: "POST",
        headers: approveHeaders,
        body: JSON.stringify({ by: "alice" }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as { code?: string; message: string } }));
    const [promote, abort] = await Promise.all([post("promote"), post("abort")]);
    for (const answer of [promote, abort]) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(409);
      expect(answer.body.code).toBe("NOT_RUNNING");
      expect(answer.body.message).toContain("rollway recover demo");
      expect(answer.body.message).toContain("nothing was decided");
    }
    const after = (await (await fetch(`${base}/releases/${id}?fresh=1`, { headers: deployHeaders })).json()) as {
      release: Summary & { abortRequested?: unknown };
    };
    expect(after.release).toMatchObject({ state: "waiting-for-approval", approvals: [] });
    expect(after.release.abortRequested).toBeUndefined();
  }, 120_000);
});
