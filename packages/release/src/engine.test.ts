import { EXAMPLE_PAYLOAD_TEXT, parseDeployPayload } from "@rollway/payload-schema";
import { isHealthy } from "@rollway/rollout-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseEnvironment } from "./environment.js";
import { ReleaseError } from "./errors.js";
import { type ReleaseEvent, releaseEventChannel } from "./events.js";
import {
  BACKENDS,
  configMapsPath,
  demoEnvironmentInput,
  jobsPath,
  loadTester,
  NS,
  type Obj,
  OLD,
  podsPath,
  podTemplate,
  recordWatches,
  releaseSimResource,
  replayServing,
  rolloutsPath,
  servicesPath,
} from "./test-helpers/release-sim.js";

const NEW = {
  frontend: "my-registry/image-for-frontend:tag",
  "backend-1": "my-registry/image-for-backend-1:tag",
  other: "my-registry/image-for-other-backends:tag",
};
const seedPayload = (extra: Record<string, unknown> = {}) =>
  parseDeployPayload({ ...JSON.parse(EXAMPLE_PAYLOAD_TEXT), ...extra });
const expectedImage = (b: string) => (b === "backend-1" ? NEW["backend-1"] : NEW.other);
const oldImage = (b: string) => (b === "backend-1" ? OLD["backend-1"] : OLD.other);

/** Collects events and resolves waiters for a given event type. */
function eventLog() {
  const events: ReleaseEvent[] = [];
  const waiters: { type: string; resolve: (e: ReleaseEvent) => void }[] = [];
  return {
    events,
    onEvent(e: ReleaseEvent) {
      events.push(e);
      for (const w of waiters.filter((x) => x.type === e.type)) w.resolve(e);
    },
    next(type: ReleaseEvent["type"]): Promise<ReleaseEvent> {
      const seen = events.find((e) => e.type === type);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ type, resolve }));
    },
    types: () => events.map((e) => e.type),
  };
}

describe("apply against kube-sim", () => {
  it("releases 1 frontend + 5 backends + code as data routed by the seed's deploy rules, auto promotion", async () => {
    const k = await releaseSimResource();
    const log = eventLog();
    const plan = await k.engine.plan(
      seedPayload({ noDowntime: { promotionMode: "auto" }, extraArgs: ["--force-sync"] }),
      k.environment,
    );
    const record = await k.engine.apply(plan, { onEvent: log.onEvent });

    expect(record.state).toBe("promoted");
    expect(await k.serving("frontend")).toMatchObject({ image: NEW.frontend });
    for (const b of BACKENDS) expect((await k.serving(b)).image).toBe(expectedImage(b));
    const orchestrator = await k.get(`/apis/apps/v1/namespaces/${NS}/deployments/orchestrator`);
    expect(orchestrator.spec.template.spec.containers[0].image).toBe("olympeio/orchestrator:2.9.1");

    const job = await k.get(`${jobsPath}/${record.id}-code-as-data`);
    expect(job.spec.template.spec.containers[0]).toMatchObject({
      image: "my-registry/image-for-codeasdata:tag",
      args: ["sync", "--force-sync"],
    });
    expect(job.status.succeeded).toBe(1);

    const types = log.types();
    expect(types[0]).toBe("started");
    expect(types.indexOf("previews-ready")).toBeLessThan(types.indexOf("code-as-data-started"));
    expect(types.indexOf("code-as-data-done")).toBeLessThan(types.indexOf("promoting"));
    expect(types.at(-1)).toBe("upgrade-done");
    expect(types.filter((t) => t === "component-promoted")).toHaveLength(7);

    // The record is in the cluster, readable by any other process.
    const other = await k.otherEngine();
    const stored = await other.get(record.id, NS);
    expect(stored).toMatchObject({
      state: "promoted",
      payloadDigest: plan.payloadDigest,
      oConfigCurrent: { "backend-1": "v2" },
    });
    expect((await other.history("demo", NS)).map((r) => r.id)).toEqual([record.id]);
    // The Lease is let go.
    expect((await k.get(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`)).items).toEqual([]);
  });

  it("waits for a manual promotion that another process approves, old version serving until then", async () => {
    const k = await releaseSimResource();
    const log = eventLog();
    const plan = await k.engine.plan(seedPayload(), k.environment);
    expect(plan.promotion.mode).toBe("manual");
    const applying = k.engine.apply(plan, { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    expect(waiting.message).toContain("https://preview.demo.example.com/");

    for (const b of BACKENDS) expect((await k.serving(b)).image).toBe(oldImage(b));
    const other = await k.otherEngine();
    expect((await other.get(waiting.release, NS)).state).toBe("waiting-for-approval");
    await other.promote(waiting.release, { by: "alice", namespace: NS });

    const record = await applying;
    expect(record.state).toBe("promoted");
    expect(record.approvals).toMatchObject([{ gate: "promotion", by: "alice" }]);
    for (const b of BACKENDS) expect((await k.serving(b)).image).toBe(expectedImage(b));
    expect(log.types()).toContain("approved");
  });

  it("waits for a code-as-data approval when its updateMode is manual", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const log = eventLog();
    const payload = seedPayload({
      codeAsData: { image: "my-registry/image-for-codeasdata:tag", updateMode: "manual" },
      noDowntime: { promotionMode: "auto" },
      backends: undefined,
    });
    const applying = k.engine.apply(await k.engine.plan(payload, k.environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    expect(waiting.gate).toBe("code-as-data");
    expect((await k.get(jobsPath)).items).toEqual([]);
    await k.engine.approve(waiting.release, { by: "bob", gate: "code-as-data", namespace: NS });
    expect((await applying).state).toBe("promoted");
  });

  it("aborts every component back to stable when one backend never becomes ready, no user request reaching an unready pod", async () => {
    const k = await releaseSimResource({ readyTimeoutSeconds: 3 });
    // Record, from the start, every change to Services and Pods.
    const watched = await recordWatches(k.sim.url, { Service: servicesPath, Pod: podsPath });
    const stableHashes = new Map<string, string>();
    for (const name of ["frontend", ...BACKENDS])
      stableHashes.set(name, (await k.get(`${servicesPath}/${name}`)).spec.selector["rollouts-pod-template-hash"]);

    k.sim.faults.neverReady({ image: NEW.other, namespace: NS, namePrefix: "backend-3" });
    const log = eventLog();
    const plan = await k.engine.plan(seedPayload({ noDowntime: { promotionMode: "auto" } }), k.environment);
    const error = await k.engine.apply(plan, { onEvent: log.onEvent }).catch((e: unknown) => e);
    watched.stop();

    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).code).toBe("FAILED");
    expect((error as ReleaseError).message).toContain("backend-3: preview ready not reached within 3 s");
    const stored = await k.engine.get((error as ReleaseError).release as string, NS);
    expect(stored.state).toBe("failed");
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
    for (const b of BACKENDS) expect((await k.serving(b)).image).toBe(oldImage(b));
    for (const name of ["frontend", ...BACKENDS]) {
      const ro = await k.get(`${rolloutsPath}/${name}`);
      expect(ro.status.phase).toBe("Healthy");
    }
    expect(log.types()).not.toContain("promoting");
    expect(log.types().filter((t) => t === "component-aborted")).toHaveLength(7);

    // Users reach pods through the active Services: they never selected anything but the stable pods...
    const activeSelectors = watched.events
      .filter((e) => e.kind === "Service" && stableHashes.has(e.object.metadata.name))
      .map((e) => [e.object.metadata.name, e.object.spec.selector["rollouts-pod-template-hash"]]);
    expect(activeSelectors.length).toBeGreaterThanOrEqual(6);
    for (const [name, hash] of activeSelectors) expect(hash).toBe(stableHashes.get(name));
    expect(replayServing(watched.events, ["frontend", ...BACKENDS]).gaps).toEqual([]);
    // ...and those stable pods were Ready in every state the watch saw.
    const stablePods = watched.events.filter(
      (e) =>
        e.kind === "Pod" &&
        [...stableHashes.values()].includes(e.object.metadata.labels?.["rollouts-pod-template-hash"]),
    );
    expect(stablePods.length).toBeGreaterThan(0);
    for (const e of stablePods) {
      if (e.type === "DELETED") continue;
      expect(e.object.status.conditions.find((c: Obj) => c.type === "Ready")?.status, e.object.metadata.name).toBe(
        "True",
      );
    }
  });

  it("refuses a second release to the same environment naming the running one, or runs it after with waitForLock", async () => {
    const k = await releaseSimResource({ backends: ["backend-1", "backend-2"] });
    const log = eventLog();
    const first = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");

    const other = await k.otherEngine();
    const second = await other.plan(
      seedPayload({
        frontend: { image: "my-registry/image-for-frontend:tag2" },
        noDowntime: { promotionMode: "auto" },
      }),
      k.environment,
    );
    const refused = await other.apply(second).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ReleaseError);
    expect(refused).toMatchObject({ code: "LOCKED", holder: waiting.release });
    expect((refused as Error).message).toContain(
      `environment "demo" is being released by release "${waiting.release}"`,
    );

    const otherLog = eventLog();
    const queued = other.apply(second, { waitForLock: true, onEvent: otherLog.onEvent });
    await otherLog.next("waiting-for-lock");
    await k.engine.promote(waiting.release, { by: "alice", namespace: NS });
    expect((await first).state).toBe("promoted");
    expect((await queued).state).toBe("promoted");
    expect(await k.serving("frontend")).toMatchObject({ image: "my-registry/image-for-frontend:tag2" });
  });

  it("rolls a promoted release back: images and oConfig return, the new version serving until the old is ready", async () => {
    const k = await releaseSimResource({ backends: ["backend-1", "backend-2"] });
    const plan = await k.engine.plan(seedPayload({ noDowntime: { promotionMode: "auto" } }), k.environment);
    expect(plan.components.find((c) => c.name === "backend-1")?.config).toMatchObject({
      from: { version: "v1" },
      to: { version: "v2" },
      changed: true,
    });
    const released = await k.engine.apply(plan);
    const v2 = plan.configMaps[1]?.metadata.name;
    const v1 = plan.configMaps[0]?.metadata.name;
    expect(await k.serving("backend-1")).toEqual({ image: NEW["backend-1"], configMap: v2 });
    expect((await k.get(`${configMapsPath}/${v2}`)).data["oConfig.json"]).toContain('"param2": "a new value"');

    const watched = await recordWatches(k.sim.url, { Service: servicesPath, Pod: podsPath });
    const log = eventLog();
    const undo = await k.engine.rollback(released.id, { namespace: NS, onEvent: log.onEvent });
    watched.stop();
    // Every active Service switched once, from the new version to the old, and always had a Ready pod behind it.
    const replay = replayServing(watched.events, ["frontend", "backend-1", "backend-2"]);
    expect(replay.gaps).toEqual([]);
    for (const service of ["frontend", "backend-1", "backend-2"]) expect(replay.selected[service]).toHaveLength(2);
    expect(undo).toMatchObject({ state: "promoted", rollbackOf: released.id, oConfigCurrent: { "backend-1": "v1" } });
    expect(await k.serving("backend-1")).toEqual({ image: OLD["backend-1"], configMap: v1 });
    expect((await k.serving("backend-2")).image).toBe(OLD.other);
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
    expect((await k.engine.get(released.id, NS)).state).toBe("rolled-back");
    expect((await k.engine.history("demo", NS)).map((r) => r.id)).toEqual([undo.id, released.id]);
  });

  it("refuses to roll back a release that was not promoted", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const log = eventLog();
    const applying = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    const error = await k.engine.rollback(waiting.release, { namespace: NS }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_STATE" });
    await k.engine.abort(waiting.release, { by: "carol", namespace: NS });
    await expect(applying).rejects.toMatchObject({
      code: "ABORTED",
      message: expect.stringContaining("aborted by carol"),
    });
    expect((await k.serving("backend-1")).image).toBe(OLD["backend-1"]);
    expect((await k.engine.get(waiting.release, NS)).state).toBe("aborted");
  });

  it("stops a recreate Deployment, runs its migration Job with the new image, then starts the new version (seed 001)", async () => {
    const k = await releaseSimResource({ backends: [] });
    const deployments = `/apis/apps/v1/namespaces/${NS}/deployments`;
    await fetch(`${k.sim.url}${deployments}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "db-api" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "db-api" } },
          strategy: { type: "Recreate" },
          template: podTemplate("db-api", "api", "my-registry/db-api:1"),
        },
      }),
    });
    const environment = parseEnvironment({
      ...demoEnvironmentInput({ backends: [] }),
      backends: {
        "db-api": {
          workload: { kind: "Deployment", name: "db-api" },
          container: "api",
          strategy: { type: "recreate" },
        },
      },
      hooks: {
        migration: [
          {
            name: "migrate",
            for: "db-api",
            imageFrom: "db-api",
            job: {
              spec: {
                backoffLimit: 0,
                template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", args: ["migrate"] }] } },
              },
            },
          },
        ],
      },
    });
    const watched = await recordWatches(k.sim.url, { Pod: podsPath });
    const log = eventLog();
    const payload = parseDeployPayload({
      backends: {
        images: ["my-registry/db-api:2"],
        deployRules: [{ source: "^my-registry/db-api:.*$", target: "^db-api$" }],
      },
      noDowntime: { promotionMode: "auto" },
    });
    const record = await k.engine.apply(await k.engine.plan(payload, environment), { onEvent: log.onEvent });

    expect(record.state).toBe("promoted");
    const dbApi = log.events.filter((e) => e.component === "db-api").map((e) => e.type);
    expect(dbApi).toEqual(["hook-started", "hook-done", "component-updated", "preview-ready", "component-promoted"]);
    const job = await k.get(`${jobsPath}/${record.id}-migrate`);
    expect(job.spec.template.spec.containers[0].image).toBe("my-registry/db-api:2");
    const deployment = await k.get(`${deployments}/db-api`);
    expect(deployment.spec).toMatchObject({
      replicas: 2,
      template: { spec: { containers: [{ image: "my-registry/db-api:2" }] } },
    });
    // Replay the pods the watch saw: when the migration pod appeared, no pod of the old version was left.
    watched.stop();
    const alive = new Map<string, Obj>();
    let checked = false;
    for (const e of watched.events) {
      if (e.type === "DELETED") alive.delete(e.object.metadata.name);
      else alive.set(e.object.metadata.name, e.object);
      if (e.type === "ADDED" && e.object.metadata.labels?.["job-name"] === job.metadata.name) {
        const old = [...alive.values()].filter((p) => p.spec.containers[0].image === "my-registry/db-api:1");
        expect(old.map((p) => p.metadata.name)).toEqual([]);
        checked = true;
      }
    }
    expect(checked).toBe(true);
  });

  it("deletes oConfig ConfigMaps that no recent release and no ReplicaSet uses", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const orphan = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "backend-1-oconfig-0123456789",
        labels: {
          "app.kubernetes.io/managed-by": "rollway",
          "rollway.dev/service": "backend-1",
          "rollway.dev/oconfig-version": "v0",
        },
      },
      data: { "oConfig.json": "{}" },
    };
    await fetch(`${k.sim.url}${configMapsPath}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(orphan),
    });
    const log = eventLog();
    const plan = await k.engine.plan(seedPayload({ noDowntime: { promotionMode: "auto" } }), k.environment);
    await k.engine.apply(plan, { onEvent: log.onEvent });
    const names = ((await k.get(`${configMapsPath}?labelSelector=rollway.dev/service`)).items as Obj[])
      .map((c) => c.metadata.name)
      .sort();
    expect(names).toEqual(plan.configMaps.map((c) => c.metadata.name).sort());
    expect((await log.next("configs-collected")).message).toBe(
      "deleted 1 old oConfig ConfigMap(s): backend-1-oconfig-0123456789",
    );
  });

  it("releases a canary Rollout: waits at its pause step, then promotes it fully", async () => {
    const k = await releaseSimResource({ backends: [] });
    const http = (method: string, path: string, body: unknown) =>
      fetch(`${k.sim.url}${path}`, {
        method,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    for (const name of ["search", "search-canary"]) {
      await http("POST", servicesPath, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name },
        spec: { selector: { app: "search" }, ports: [{ port: 80 }] },
      });
    }
    const steps = [{ setWeight: 20 }, { pause: {} }];
    await http("POST", rolloutsPath, {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name: "search" },
      spec: {
        replicas: 5,
        selector: { matchLabels: { app: "search" } },
        template: podTemplate("search", "backend", "my-registry/search:1"),
        strategy: { canary: { stableService: "search", canaryService: "search-canary", steps } },
      },
    });
    const environment = parseEnvironment({
      ...demoEnvironmentInput({ backends: [] }),
      backends: {
        search: {
          workload: { kind: "Rollout", name: "search" },
          container: "backend",
          strategy: { type: "canary", steps, stableService: "search", canaryService: "search-canary" },
        },
      },
      platform: [],
    });
    const log = eventLog();
    const payload = parseDeployPayload({
      backends: {
        images: ["my-registry/search:2"],
        deployRules: [{ source: "^my-registry/search:", target: "^search$" }],
      },
    });
    const releasing = k.engine.apply(await k.engine.plan(payload, environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    const atPause = await k.get(`${rolloutsPath}/search`);
    expect(atPause.status).toMatchObject({ phase: "Paused", currentStepIndex: 1 });
    await k.engine.promote(waiting.release, { by: "dana", namespace: NS });
    expect((await releasing).state).toBe("promoted");
    const done = await k.get(`${rolloutsPath}/search`);
    expect(done.status).toMatchObject({ phase: "Healthy" });
    expect(done.status.stableRS).toBe(done.status.currentPodHash);
    expect(done.spec.template.spec.containers[0].image).toBe("my-registry/search:2");
  });

  it("streams events as an async iterable, and a caller's abort signal rolls every component back", async () => {
    const k = await releaseSimResource({ backends: ["backend-1", "backend-2"] });
    const channel = releaseEventChannel();
    const cancel = new AbortController();
    const applying = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), {
      onEvent: channel.onEvent,
      signal: cancel.signal,
    });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of channel.events) {
        seen.push(event.type);
        if (event.type === "waiting-for-approval") cancel.abort();
      }
    })();
    const error = await applying.catch((e: unknown) => e);
    channel.end();
    await reading;
    expect(error).toMatchObject({ code: "ABORTED", message: expect.stringContaining("cancelled by its caller") });
    expect(seen.slice(-2)).toEqual(["component-aborted", "aborted"]);
    expect(seen.filter((t) => t === "component-aborted")).toHaveLength(4);
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
    expect((await k.serving("backend-2")).image).toBe(OLD.other);
    expect(await k.serving("backend-1")).toMatchObject({ image: OLD["backend-1"] });
  });

  it("fails and rolls back when nobody approves within approvalTimeoutSeconds", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const environment = parseEnvironment({
      ...demoEnvironmentInput({ backends: ["backend-1"] }),
      promotion: { mode: "manual", readyTimeoutSeconds: 20, approvalTimeoutSeconds: 1 },
    });
    const error = await k.engine.apply(await k.engine.plan(seedPayload(), environment)).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "FAILED",
      message: expect.stringContaining("nobody approved promotion within 1 s"),
    });
    expect((await k.serving("backend-1")).image).toBe(OLD["backend-1"]);
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
  });

  it("stops without touching anything when another engine took its Lease over", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const log = eventLog();
    const applying = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    // What an engine that found the Lease expired writes (this one stalled, e.g. a long GC pause or a partition).
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/rollway-release-demo`;
    const lease = await k.get(leasePath);
    lease.spec.holderIdentity = "engine-b";
    const put = await fetch(`${k.sim.url}${leasePath}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(lease),
    });
    expect(put.status).toBe(200);
    await k.engine.promote(waiting.release, { by: "alice", namespace: NS });
    await expect(applying).rejects.toMatchObject({
      code: "LOCKED",
      message: expect.stringContaining("lost the Lease"),
    });
    expect((await k.engine.get(waiting.release, NS)).state).toBe("waiting-for-approval");
    expect(log.types()).not.toContain("aborting");
    expect((await k.get(`${rolloutsPath}/backend-1`)).status.phase).toBe("Paused");
  });

  describe("a Flagger Canary (blue/green, kubernetes provider)", () => {
    async function flaggerWorld() {
      const k = await releaseSimResource({ backends: [], fastClock: true, readyTimeoutSeconds: 600 });
      const tester = await loadTester();
      onTestFinished(() => tester.close());
      const http = (path: string, body: unknown) =>
        fetch(`${k.sim.url}${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
      await http(`/apis/apps/v1/namespaces/${NS}/deployments`, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "podinfo" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "podinfo" } },
          template: podTemplate("podinfo", "podinfo", "my-registry/podinfo:1"),
        },
      });
      await http(`/apis/flagger.app/v1beta1/namespaces/${NS}/canaries`, {
        apiVersion: "flagger.app/v1beta1",
        kind: "Canary",
        metadata: { name: "podinfo" },
        spec: {
          provider: "kubernetes",
          targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
          service: { port: 9898 },
          analysis: {
            interval: "1s",
            threshold: 2,
            iterations: 1,
            webhooks: [
              { name: "approval", type: "confirm-promotion", url: `${tester.url}/gate/check` },
              { name: "abort", type: "rollback", url: `${tester.url}/rollback/check` },
            ],
          },
        },
      });
      const environment = parseEnvironment({
        ...demoEnvironmentInput({ backends: [], readyTimeoutSeconds: 600 }),
        backends: {
          podinfo: {
            workload: { kind: "Canary", name: "podinfo" },
            container: "podinfo",
            strategy: { type: "blueGreen", activeService: "podinfo", previewService: "podinfo-canary" },
          },
        },
        platform: [],
      });
      // Flagger initialises the primary at its first interval.
      await k.client.waitFor(await k.client.target("podinfo", NS), isHealthy, { timeout: 120_000 });
      const payload = parseDeployPayload({
        backends: {
          images: ["my-registry/podinfo:2"],
          deployRules: [{ source: "^my-registry/podinfo:", target: "^podinfo$" }],
        },
      });
      return { k, plan: await k.engine.plan(payload, environment) };
    }
    const primaryImage = async (k: Awaited<ReturnType<typeof releaseSimResource>>) =>
      (await k.get(`/apis/apps/v1/namespaces/${NS}/deployments/podinfo-primary`)).spec.template.spec.containers[0]
        .image;

    it("waits at confirm-promotion, then the approval opens the gate and the primary runs the new image", async () => {
      const { k, plan } = await flaggerWorld();
      expect(plan.components.find((c) => c.name === "podinfo")).toMatchObject({
        target: { kind: "Canary", strategy: "flaggerBlueGreen" },
        workload: { kind: "Deployment", name: "podinfo" },
      });
      const log = eventLog();
      const releasing = k.engine.apply(plan, { onEvent: log.onEvent });
      const waiting = await log.next("waiting-for-approval");
      expect((await k.get(`/apis/flagger.app/v1beta1/namespaces/${NS}/canaries/podinfo`)).status.phase).toBe(
        "WaitingPromotion",
      );
      expect(await primaryImage(k)).toBe("my-registry/podinfo:1");
      await k.engine.promote(waiting.release, { by: "erin", namespace: NS });
      expect((await releasing).state).toBe("promoted");
      expect(await primaryImage(k)).toBe("my-registry/podinfo:2");
    });

    it("is rolled back by Flagger when the release is aborted, the primary keeping the old image", async () => {
      const { k, plan } = await flaggerWorld();
      const log = eventLog();
      const releasing = k.engine.apply(plan, { onEvent: log.onEvent });
      const waiting = await log.next("waiting-for-approval");
      await k.engine.abort(waiting.release, { by: "frank", namespace: NS });
      await expect(releasing).rejects.toMatchObject({ code: "ABORTED" });
      expect((await k.get(`/apis/flagger.app/v1beta1/namespaces/${NS}/canaries/podinfo`)).status.phase).toBe("Failed");
      expect(await primaryImage(k)).toBe("my-registry/podinfo:1");
      expect(log.events.find((e) => e.type === "component-aborted")?.message).toBe(
        "podinfo: rolled back by Flagger, the primary serves my-registry/podinfo:1",
      );
    });
  });
});
