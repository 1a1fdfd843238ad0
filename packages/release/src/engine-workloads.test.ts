import { parseDeployPayload } from "@rollway/payload-schema";
import { isHealthy } from "@rollway/rollout-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { parseEnvironment } from "./environment.js";
import {
  configMapsPath,
  demoEnvironmentInput,
  eventLog,
  jobsPath,
  loadTester,
  NS,
  type Obj,
  podsPath,
  podTemplate,
  recordWatches,
  releaseSimResource,
  rolloutsPath,
  seedPayload,
  servicesPath,
} from "./test-helpers/release-sim.js";

describe("each kind of workload", () => {
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

  it("runs the pre-release backup Job first, and releases nothing when it fails", async () => {
    const backup = {
      name: "db-backup",
      job: {
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: "Never" as const,
              containers: [{ name: "backup", image: "my-registry/backup:1", args: ["dump"] }],
            },
          },
        },
      },
    };
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const environment = parseEnvironment({
      ...demoEnvironmentInput({ backends: ["backend-1"] }),
      hooks: { preRelease: [backup] },
    });
    const payload = seedPayload({ noDowntime: { promotionMode: "auto" }, codeAsData: undefined });

    const log = eventLog();
    const done = await k.engine.apply(await k.engine.plan(payload, environment), { onEvent: log.onEvent });
    // The oConfig ConfigMaps (immutable, content-named) exist before the record, so a resumed release finds them.
    expect(log.types().slice(0, 4)).toEqual(["started", "config-created", "hook-started", "hook-done"]);
    expect((await k.get(`${jobsPath}/${done.id}-db-backup`)).status.succeeded).toBe(1);

    // A second release whose backup fails changes nothing.
    k.sim.faults.failJobPods({ image: "my-registry/backup:1" });
    const again = seedPayload({
      noDowntime: { promotionMode: "auto" },
      codeAsData: undefined,
      frontend: { image: "my-registry/image-for-frontend:tag3" },
    });
    const failedLog = eventLog();
    const error = await k.engine
      .apply(await k.engine.plan(again, environment), { onEvent: failedLog.onEvent })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "FAILED", message: expect.stringContaining('-db-backup" failed') });
    expect(failedLog.types()).not.toContain("component-updated");
    expect(await k.serving("frontend")).toMatchObject({ image: "my-registry/image-for-frontend:tag" });
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
