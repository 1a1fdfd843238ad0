// End-to-end tests of the Flagger controller over HTTP, written from Flagger's docs (usage/how-it-works,
// usage/webhooks, usage/deployment-strategies "Blue/Green" with the kubernetes provider). Webhooks are answered by
// a real HTTP server; analysis ticks come from the simulator's manual clock.
import { describe, expect, it } from "vitest";
import {
  deployment,
  type HookServer,
  hookServer,
  installMeshCrds,
  type Obj,
  PATHS,
  podinfoCanary,
  podTemplate,
  type SimResource,
  simResource,
} from "./rollout-test-kit.js";

const INTERVAL_MS = 15_000;
const canaryPath = `${PATHS.canaries}/podinfo`;

async function setup(k: SimResource, hooks: HookServer, webhooks: Obj[], analysis: Obj = {}): Promise<void> {
  await k.create(PATHS.deployments, deployment("podinfo", 2, "podinfo:6.0.0"));
  await k.create(
    PATHS.canaries,
    podinfoCanary({
      iterations: 2,
      webhooks: webhooks.map((w) => ({ ...w, url: w.url.startsWith("http") ? w.url : `${hooks.url}${w.url}` })),
      ...analysis,
    }),
  );
}

async function canary(k: SimResource): Promise<Obj> {
  return k.get(canaryPath);
}

async function phase(k: SimResource, wanted: string): Promise<Obj | undefined> {
  const c = await canary(k);
  return c.status?.phase === wanted ? c : undefined;
}

async function waitPhase(k: SimResource, wanted: string, maxMs = 300_000): Promise<Obj> {
  return k.until(`phase ${wanted}`, () => phase(k, wanted), maxMs, INTERVAL_MS);
}

async function image(k: SimResource, deployment: string): Promise<string> {
  return (await k.get(`${PATHS.deployments}/${deployment}`)).spec.template.spec.containers[0].image;
}

async function newRevision(k: SimResource): Promise<void> {
  await k.mergePatch(`${PATHS.deployments}/podinfo`, { spec: { template: podTemplate("podinfo", "podinfo:6.0.1") } });
}

/**
 * With the istio provider, rolls out a new revision and follows it to Succeeded: each change of the phase and of
 * `status[field]` as one line (`Progressing 20`).
 */
async function meshRevisionSteps(k: SimResource, field: "canaryWeight" | "iterations"): Promise<string[]> {
  await installMeshCrds(k);
  await k.mergePatch(canaryPath, { spec: { provider: "istio" } });
  await waitPhase(k, "Initialized");
  await newRevision(k);
  await waitPhase(k, "Progressing");
  const seen: string[] = [];
  await k.until(
    "succeeded",
    async () => {
      const c = await canary(k);
      const now = `${c.status.phase} ${c.status[field]}`;
      if (seen.at(-1) !== now) seen.push(now);
      return c.status.phase === "Succeeded" ? c : undefined;
    },
    300_000,
    INTERVAL_MS,
  );
  return seen;
}

describe("Flagger Canary (kubernetes provider, blue/green)", () => {
  it("reports a Canary without a spec (the CRD allows it) as an event instead of failing the controller", async () => {
    await using k = await simResource();
    const res = await fetch(`${k.sim.url}${PATHS.canaries}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ apiVersion: "flagger.app/v1beta1", kind: "Canary", metadata: { name: "bare" } }),
    });
    expect(res.status).toBe(201);
    // No analysis block: Flagger's default interval, one minute.
    await k.sim.advance(2 * 60_000);
    const messages = (await k.list(PATHS.events)).map((e: Obj) => e.message as string);
    expect(messages).toContain("spec.targetRef.name is required");
  });

  it("initialises: a primary Deployment, the three Services, the target scaled to zero", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    await setup(k, hooks, []);
    await k.sim.settle();
    expect((await canary(k)).status).toMatchObject({
      phase: "Initializing",
      conditions: [
        {
          type: "Promoted",
          status: "Unknown",
          reason: "Initializing",
          message: "New Deployment detected, starting initialization.",
        },
      ],
    });

    const ready = await waitPhase(k, "Initialized");
    expect(ready.status).toMatchObject({ canaryWeight: 0, failedChecks: 0, iterations: 0 });
    expect(ready.status.lastAppliedSpec).toEqual(expect.any(String));
    expect(ready.status.conditions).toEqual([
      expect.objectContaining({
        type: "Promoted",
        status: "True",
        reason: "Initialized",
        message: "Deployment initialization completed.",
      }),
    ]);
    const primary = await k.get(`${PATHS.deployments}/podinfo-primary`);
    expect(primary.spec.selector.matchLabels).toEqual({ app: "podinfo-primary" });
    expect(primary.spec.template.metadata.labels.app).toBe("podinfo-primary");
    expect(primary.spec.replicas).toBe(2);
    expect(primary.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Canary", name: "podinfo", controller: true }),
    ]);
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(0);
    const selectors = Object.fromEntries(
      (await k.list(PATHS.services))
        .filter((s: Obj) => s.metadata.name.startsWith("podinfo"))
        .map((s: Obj) => [s.metadata.name, s.spec.selector]),
    );
    expect(selectors).toEqual({
      podinfo: { app: "podinfo-primary" },
      "podinfo-primary": { app: "podinfo-primary" },
      "podinfo-canary": { app: "podinfo" },
    });
    expect((await k.get(`${PATHS.services}/podinfo`)).spec.ports[0]).toMatchObject({
      name: "http",
      port: 9898,
      targetPort: 9898,
    });
  });

  it("holds at WaitingPromotion while confirm-promotion answers 403, then promotes when it answers 200", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    hooks.respond("/gate/halt", 403);
    await setup(k, hooks, [
      { name: "promotion gate", type: "confirm-promotion", url: "/gate/halt" },
      { name: "load test", type: "rollout", url: "/load", metadata: { cmd: "hey -z 1m http://podinfo-canary:9898/" } },
      { name: "notify", type: "event", url: "/events" },
      { name: "done", type: "post-rollout", url: "/post" },
    ]);
    await waitPhase(k, "Initialized");
    await newRevision(k);
    const progressing = await waitPhase(k, "Progressing");
    expect(progressing.status.conditions[0]).toMatchObject({
      reason: "Progressing",
      message: "New revision detected, progressing canary analysis.",
    });
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(2);

    const waiting = await waitPhase(k, "WaitingPromotion");
    expect(waiting.status.conditions[0]).toMatchObject({
      status: "Unknown",
      reason: "WaitingPromotion",
      message: "Waiting for approval.",
    });
    for (let i = 0; i < 4; i++) {
      await k.advance(INTERVAL_MS);
      expect((await canary(k)).status.phase).toBe("WaitingPromotion");
    }
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.0");

    const gateCalls = hooks.calls.filter((c) => c.path === "/gate/halt");
    expect(gateCalls.length).toBeGreaterThanOrEqual(3);
    expect(gateCalls[0]?.body).toEqual({
      name: "podinfo",
      namespace: "default",
      phase: "Progressing",
      checksum: expect.any(String),
    });
    const load = hooks.calls.find((c) => c.path === "/load");
    expect(load?.body.metadata).toEqual({ cmd: "hey -z 1m http://podinfo-canary:9898/" });

    hooks.respond("/gate/halt", 200);
    await waitPhase(k, "Promoting");
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.1");
    await waitPhase(k, "Finalising");
    const done = await waitPhase(k, "Succeeded");
    expect(done.status.conditions[0]).toMatchObject({
      status: "True",
      reason: "Succeeded",
      message: "Canary analysis completed successfully, promotion finished.",
    });
    expect(done.status.lastPromotedSpec).toBe(done.status.lastAppliedSpec);
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(0);
    expect(hooks.calls.filter((c) => c.path === "/post").map((c) => c.body.phase)).toEqual(["Succeeded"]);

    const events = hooks.calls.filter((c) => c.path === "/events").map((c) => c.body);
    expect(events.map((e) => e.metadata.eventMessage)).toEqual(
      expect.arrayContaining([
        "Initialization done! podinfo.default",
        "New revision detected! Scaling up podinfo.default",
        "Halt podinfo.default advancement waiting for promotion approval promotion gate",
        "Copying podinfo.default template spec to podinfo-primary.default",
        "Promotion completed! Scaling down podinfo.default",
      ]),
    );
    expect(events[0]).toMatchObject({
      name: "podinfo",
      namespace: "default",
      metadata: { eventType: expect.stringMatching(/Normal|Warning/), timestamp: expect.any(String) },
    });
  });

  it("rolls back when the rollback webhook answers 200", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    hooks.respond("/rollback", 404);
    await setup(
      k,
      hooks,
      [
        { name: "rollback", type: "rollback", url: "/rollback" },
        { name: "done", type: "post-rollout", url: "/post" },
      ],
      { iterations: 10 },
    );
    await waitPhase(k, "Initialized");
    await newRevision(k);
    await waitPhase(k, "Progressing");
    await k.advance(2 * INTERVAL_MS);
    expect((await canary(k)).status.phase).toBe("Progressing");

    hooks.respond("/rollback", 200);
    const failed = await waitPhase(k, "Failed");
    expect(failed.status).toMatchObject({ canaryWeight: 0, iterations: 0, failedChecks: 0 });
    expect(failed.status.conditions[0]).toMatchObject({
      status: "False",
      reason: "Failed",
      message: "Canary analysis failed, Deployment scaled to zero.",
    });
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(0);
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.0");
    expect(hooks.calls.find((c) => c.path === "/rollback")?.body.phase).toBe("Progressing");
    expect(hooks.calls.filter((c) => c.path === "/post").map((c) => c.body.phase)).toEqual(["Failed"]);

    // The failed revision is not retried; a newer one is.
    await k.advance(3 * INTERVAL_MS);
    expect((await canary(k)).status.phase).toBe("Failed");
  });

  it("analyses a later image again after a Failed canary (Flagger's shouldAdvance syncs a copy of the status)", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    hooks.respond("/rollback", 200);
    await setup(
      k,
      hooks,
      [
        { name: "rollback", type: "rollback", url: "/rollback" },
        { name: "done", type: "post-rollout", url: "/post" },
      ],
      { iterations: 2 },
    );
    await waitPhase(k, "Initialized");
    await newRevision(k);
    await waitPhase(k, "Failed");
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.0");

    // A fix-forward: the new image is detected, scaled up, analysed and promoted.
    hooks.respond("/rollback", 404);
    await k.mergePatch(`${PATHS.deployments}/podinfo`, { spec: { template: podTemplate("podinfo", "podinfo:6.0.2") } });
    const progressing = await waitPhase(k, "Progressing", 60_000);
    expect(progressing.status.lastAppliedSpec).not.toBe(progressing.status.lastPromotedSpec);
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(2);
    await waitPhase(k, "Succeeded");
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.2");
    expect(hooks.calls.filter((c) => c.path === "/post").map((c) => c.body.phase)).toEqual(["Failed", "Succeeded"]);
  });

  it("counts failed pre-rollout checks toward the threshold, then fails", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    hooks.respond("/pre", 500);
    await setup(k, hooks, [{ name: "smoke", type: "pre-rollout", url: "/pre" }]);
    await waitPhase(k, "Initialized");
    await newRevision(k);
    await waitPhase(k, "Progressing");
    const checks = await k.until(
      "one failed check",
      async () => {
        const c = await canary(k);
        return c.status.failedChecks === 1 ? c : undefined;
      },
      120_000,
      INTERVAL_MS,
    );
    expect(checks.status.phase).toBe("Progressing");
    await waitPhase(k, "Failed");
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.0");
  });

  it("rolls back when the canary is not ready within progressDeadlineSeconds", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    await setup(k, hooks, [{ name: "done", type: "post-rollout", url: "/post" }]);
    await k.mergePatch(canaryPath, { spec: { progressDeadlineSeconds: 60 } });
    await waitPhase(k, "Initialized");
    k.sim.faults.neverReady({ image: "podinfo:6.0.1" });
    await newRevision(k);
    await waitPhase(k, "Progressing");
    await k.advance(3 * INTERVAL_MS);
    expect((await canary(k)).status.phase).toBe("Progressing");
    const failed = await waitPhase(k, "Failed", 120_000);
    expect(failed.status.conditions[0]).toMatchObject({ status: "False", reason: "Failed" });
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.0");
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(0);
    expect(hooks.calls.filter((c) => c.path === "/post").map((c) => c.body.phase)).toEqual(["Failed"]);
  });

  it("with a mesh provider, steps status.canaryWeight by stepWeight up to maxWeight, then by stepWeightPromotion", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    await setup(k, hooks, [], { iterations: undefined, stepWeight: 20, maxWeight: 60, stepWeightPromotion: 30 });
    expect(await meshRevisionSteps(k, "canaryWeight")).toEqual([
      "Progressing 0",
      "Progressing 20",
      "Progressing 40",
      "Progressing 60",
      "Promoting 60",
      "Promoting 30",
      "Finalising 0",
      "Succeeded 0",
    ]);
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.1");
  });

  it("runs A/B testing (iterations with match conditions) without the extra blue/green iteration", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    await setup(k, hooks, [], { iterations: 2, match: [{ headers: { "x-canary": { exact: "insider" } } }] });
    expect(await meshRevisionSteps(k, "iterations")).toEqual([
      "Progressing 0",
      "Progressing 1",
      "Progressing 2",
      "Promoting 2",
      "Finalising 0",
      "Succeeded 0",
    ]);
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.1");
  });

  it("sends URL credentials as Basic auth and never shows them in events", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    const withSecret = hooks.url.replace("http://", "http://flagger:s3cret@");
    await setup(k, hooks, [
      { name: "auth", type: "pre-rollout", url: `${withSecret}/auth` },
      { name: "down", type: "pre-rollout", url: "http://flagger:s3cret@127.0.0.1:1/down" },
      { name: "notify", type: "event", url: "/events" },
    ]);
    await waitPhase(k, "Initialized");
    await newRevision(k);
    await waitPhase(k, "Failed");
    const auth = hooks.calls.find((c) => c.path === "/auth");
    expect(auth?.authorization).toBe(`Basic ${Buffer.from("flagger:s3cret").toString("base64")}`);
    const messages = [
      ...hooks.calls.filter((c) => c.path === "/events").map((c) => c.body.metadata.eventMessage as string),
      ...(await k.list(PATHS.events)).map((e: Obj) => e.message as string),
    ];
    expect(messages).toContain(
      'Halt podinfo.default advancement pre-rollout check down failed POST http://127.0.0.1:1/down giving up after 1 attempt(s): Post "http://127.0.0.1:1/down": connection failed',
    );
    expect(messages.filter((m) => m.includes("s3cret"))).toEqual([]);
  });

  it("waits in Waiting while confirm-rollout is closed", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    hooks.respond("/approve", 403);
    await setup(k, hooks, [{ name: "approve", type: "confirm-rollout", url: "/approve" }]);
    await waitPhase(k, "Initialized");
    await newRevision(k);
    const waiting = await waitPhase(k, "Waiting");
    expect(waiting.status.conditions[0]).toMatchObject({ reason: "Waiting", message: "Waiting for approval." });
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(0);
    hooks.respond("/approve", 200);
    await waitPhase(k, "Progressing");
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(2);
    await waitPhase(k, "Succeeded");
    expect(await image(k, "podinfo-primary")).toBe("podinfo:6.0.1");
  });

  it("tells each webhook gate as Flagger's scheduler_hooks.go does: a closed gate halts once, an open one passes, a failed post-rollout hook is reported", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    // Each hook at /<its name>; the gates closed at first, the post-rollout hook failing throughout.
    const webhooks = {
      approve: "confirm-rollout",
      smoke: "pre-rollout",
      traffic: "confirm-traffic-increase",
      load: "rollout",
      report: "post-rollout",
      notify: "event",
    };
    for (const closed of ["/approve", "/traffic", "/report"]) hooks.respond(closed, 403);
    const analysis = { iterations: undefined, stepWeight: 50, maxWeight: 50 };
    await setup(
      k,
      hooks,
      Object.entries(webhooks).map(([name, type]) => ({ name, type, url: `/${name}` })),
      analysis,
    );
    await installMeshCrds(k);
    await k.mergePatch(canaryPath, { spec: { provider: "istio" } });
    const told = () => hooks.calls.filter((c) => c.path === "/notify").map((c) => c.body.metadata.eventMessage);
    await waitPhase(k, "Initialized");
    await newRevision(k);
    await waitPhase(k, "Waiting");
    hooks.respond("/approve", 200);
    await waitPhase(k, "Progressing");
    const trafficHalt = "Halt podinfo.default advancement waiting for traffic increase approval traffic";
    await k.until(
      "the traffic gate halts",
      async () => told().includes(trafficHalt) || undefined,
      300_000,
      INTERVAL_MS,
    );
    hooks.respond("/traffic", 200);
    await waitPhase(k, "Succeeded");
    await k.until(
      "the post-rollout hook is reported",
      async () => told().includes("Post-rollout hook report failed gate closed") || undefined,
      300_000,
      INTERVAL_MS,
    );
    const messages = told();
    expect(messages.filter((m) => m === "Halt podinfo.default advancement waiting for approval approve")).toHaveLength(
      1,
    );
    expect(messages).toEqual(
      expect.arrayContaining([
        "Confirm-rollout check approve passed",
        "Pre-rollout check smoke passed",
        trafficHalt,
        "Confirm-traffic-increase check traffic passed",
      ]),
    );
    expect(messages.filter((m) => m.startsWith("Post-rollout check"))).toEqual([]);
    expect(hooks.calls.filter((c) => c.path === "/load").length).toBeGreaterThan(0);
  });

  it("retries webhooks as go-retryablehttp does: 429 and 500 are retried (1 s apart), 501 is not; the 5xx error text", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    hooks.respond("/busy", 429);
    hooks.respond("/broken", 500);
    hooks.respond("/unimplemented", 501);
    await setup(k, hooks, [{ name: "unimplemented", type: "rollout", url: "/unimplemented", retries: 2 }]);
    await k.mergePatch(canaryPath, {
      spec: {
        analysis: {
          webhooks: [
            { name: "busy", type: "pre-rollout", url: `${hooks.url}/busy`, retries: 1 },
            { name: "broken", type: "pre-rollout", url: `${hooks.url}/broken`, retries: 1 },
          ],
        },
      },
    });
    await waitPhase(k, "Initialized");
    await newRevision(k);
    await waitPhase(k, "Progressing");
    await k.until(
      "one failed check",
      async () => ((await canary(k)).status.failedChecks === 1 ? true : undefined),
      60_000,
      INTERVAL_MS,
    );
    const busy = hooks.calls.filter((c) => c.path === "/busy");
    expect(busy).toHaveLength(2);
    const messages = (await k.list(PATHS.events)).map((e: Obj) => e.message as string);
    expect(messages).toContain(
      `Halt podinfo.default advancement pre-rollout check busy failed POST ${hooks.url}/busy giving up after 2 attempt(s)`,
    );
    hooks.respond("/busy", 200);
    await k.until(
      "broken called twice",
      async () => (hooks.calls.filter((c) => c.path === "/broken").length >= 2 ? true : undefined),
      60_000,
      INTERVAL_MS,
    );
    const after = (await k.list(PATHS.events)).map((e: Obj) => e.message as string);
    expect(after).toContain(
      `Halt podinfo.default advancement pre-rollout check broken failed POST ${hooks.url}/broken giving up after 2 attempt(s): unexpected HTTP status 500 Internal Server Error`,
    );
    expect(hooks.calls.filter((c) => c.path === "/unimplemented")).toHaveLength(0);
  });

  it("a 501 is not retried and its body is the error; the failure event is sent with phase Failed", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    hooks.respond("/unimplemented", 501);
    await setup(k, hooks, [
      { name: "unimplemented", type: "pre-rollout", url: "/unimplemented", retries: 3 },
      { name: "notify", type: "event", url: "/events" },
    ]);
    await waitPhase(k, "Initialized");
    await newRevision(k);
    await waitPhase(k, "Failed");
    expect(hooks.calls.filter((c) => c.path === "/unimplemented")).toHaveLength(2);
    const events = hooks.calls
      .filter((c) => c.path === "/events")
      .map((c) => [c.body.phase, c.body.metadata.eventMessage]);
    expect(events).toContainEqual(["Failed", "Canary failed! Scaling down podinfo.default"]);
    expect(events).toContainEqual(["Progressing", "Starting canary analysis for podinfo.default"]);
    expect(events).toContainEqual([
      "Progressing",
      "Halt podinfo.default advancement pre-rollout check unimplemented failed gate closed",
    ]);
  });

  it("primary Deployment and Services carry what Flagger writes (test-deployment.sh checks): Flux annotations, flagger-id, deadlines, portDiscovery", async () => {
    await using k = await simResource();
    await k.create(PATHS.deployments, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: "podinfo",
        annotations: { "test-annotation-prefix/x": "1", "kustomize.toolkit.fluxcd.io/name": "apps" },
      },
      spec: {
        replicas: 1,
        progressDeadlineSeconds: 120,
        revisionHistoryLimit: 3,
        selector: { matchLabels: { app: "podinfo" } },
        template: {
          metadata: { labels: { app: "podinfo" }, annotations: { "prometheus.io/scrape": "true" } },
          spec: {
            containers: [
              {
                name: "podinfo",
                image: "podinfo:6.0.0",
                ports: [
                  { name: "http", containerPort: 9898 },
                  { name: "http-metrics", containerPort: 9797 },
                  { containerPort: 9999 },
                ],
              },
            ],
          },
        },
      },
    });
    await k.create(
      PATHS.canaries,
      podinfoCanary(
        { iterations: 2 },
        {
          service: {
            port: 80,
            targetPort: 9898,
            name: "podinfo-svc",
            portDiscovery: true,
            apex: { annotations: { team: "a" } },
          },
        },
      ),
    );
    await waitPhase(k, "Initialized");
    const primary = await k.get(`${PATHS.deployments}/podinfo-primary`);
    expect(primary.spec).toMatchObject({ progressDeadlineSeconds: 120, revisionHistoryLimit: 3 });
    // The target's annotations minus the Flux toolkit ones (the revision is the Deployment controller's).
    expect(primary.metadata.annotations).toEqual({
      "test-annotation-prefix/x": "1",
      "deployment.kubernetes.io/revision": "1",
    });
    expect(primary.spec.template.metadata.annotations).toEqual({
      "prometheus.io/scrape": "true",
      "flagger-id": expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    });
    const apex = await k.get(`${PATHS.services}/podinfo-svc`);
    expect(apex.metadata.annotations).toEqual({
      team: "a",
      "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
      "helm.toolkit.fluxcd.io/driftDetection": "disabled",
    });
    expect(apex.spec.ports).toEqual([
      { name: "http", protocol: "TCP", port: 80, targetPort: 9898 },
      { name: "http-metrics", protocol: "TCP", port: 9797, targetPort: 9797 },
      { name: "tcp-podinfo-2", protocol: "TCP", port: 9999, targetPort: 9999 },
    ]);
  });

  it("runs the first analysis tick at the next control-loop tick (10 s), not one analysis interval later", async () => {
    await using k = await simResource();
    await using hooks = await hookServer();
    await setup(k, hooks, [], { interval: "1m" });
    await k.advance(9_000);
    await expect(k.get(`${PATHS.deployments}/podinfo-primary`)).rejects.toThrow("HTTP 404");
    await k.advance(2_000);
    expect((await k.get(`${PATHS.deployments}/podinfo-primary`)).spec.replicas).toBe(2);
    // The next tick is one interval later: the primary is ready by then and the Canary is Initialized.
    await k.advance(50_000);
    expect((await canary(k)).status.phase).toBe("Initializing");
    await k.advance(10_000);
    expect((await canary(k)).status.phase).toBe("Initialized");
  });
});
