import { describe, expect, it } from "vitest";
import { parseEnvironment } from "./environment.js";
import { ReleaseError } from "./errors.js";
import { releaseEventChannel } from "./events.js";
import {
  BACKENDS,
  demoEnvironmentInput,
  eventLog,
  NEW,
  NS,
  type Obj,
  OLD,
  oldImage,
  podsPath,
  recordWatches,
  releaseSimResource,
  replayServing,
  rolloutsPath,
  seedPayload,
  servicesPath,
} from "./test-helpers/release-sim.js";

describe("a release that cannot finish goes back to stable", () => {
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
});
