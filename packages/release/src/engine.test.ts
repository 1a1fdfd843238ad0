import { describe, expect, it } from "vitest";
import { ReleaseError } from "./errors.js";
import {
  autoPayload,
  BACKENDS,
  configMapsPath,
  eventLog,
  expectedImage,
  jobsPath,
  NEW,
  NS,
  OLD,
  oldImage,
  podsPath,
  recordWatches,
  releaseSimResource,
  replayServing,
  seedPayload,
  servicesPath,
} from "./test-helpers/release-sim.js";

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
    // The Lease is let go: it names no holder and no release.
    const [lease] = (await k.get(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`)).items;
    expect(lease.spec.holderIdentity).toBeUndefined();
    expect(lease.metadata.annotations?.["rollway.dev/release"]).toBeUndefined();
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

    const status = await k.engine.status(k.environment);
    expect(status).toMatchObject({ environment: "demo", namespace: NS, release: { id: undo.id, state: "promoted" } });
    expect(status.components.map((c) => [c.component, c.phase, c.images[0]?.image])).toEqual([
      ["frontend", "Healthy", OLD.frontend],
      ["backend-1", "Healthy", OLD["backend-1"]],
      ["backend-2", "Healthy", OLD.other],
    ]);
  });

  it("reports the newest promoted release, then each promotion as it happens, from a watch (the onUpgradeDone feed)", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const first = await k.engine.apply(await k.engine.plan(autoPayload("tag"), k.environment));
    const controller = new AbortController();
    const feed = k.engine.promotions(k.environment, { signal: controller.signal })[Symbol.asyncIterator]();
    try {
      expect((await feed.next()).value).toMatchObject({ type: "current", record: { id: first.id, state: "promoted" } });
      const second = await k.engine.apply(await k.engine.plan(autoPayload("tag2"), k.environment));
      expect((await feed.next()).value).toMatchObject({
        type: "promoted",
        record: { id: second.id, state: "promoted" },
      });
      // A release that is rolled back is a promotion too (of the old images): running frontends must reload.
      const undo = await k.engine.rollback(second.id, { namespace: NS });
      expect((await feed.next()).value).toMatchObject({ type: "promoted", record: { id: undo.id } });
    } finally {
      controller.abort();
      await feed.return?.();
    }
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
});
