// Findings 1, 2 and 7 of issue #13: "from" is what serves users, and abort and rollback bring exactly that back.
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import { describe, expect, it } from "vitest";
import { parseEnvironment } from "./environment.js";
import { ReleaseError } from "./errors.js";
import { BACKENDS_USED, crashingEngine, killed } from "./test-helpers/crashing-engine.js";
import {
  autoPayload,
  demoEnvironmentInput,
  eventLog,
  NS,
  OCONFIG,
  OLD,
  oldImage,
  releaseSimResource,
  rolloutsPath,
  seedPayload,
} from "./test-helpers/release-sim.js";

const NEVER_APPROVED = "my-registry/image-for-frontend:tag";

describe("finding 1: from is what users are served, never the spec", () => {
  it("finding 1: after an engine died waiting for approval, the next release records the approved version as from and its rollback puts it back", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const y = crashingEngine(k.sim.kubeconfigPath, JSON.parse(EXAMPLE_PAYLOAD_TEXT));
    const waiting = await y.reached("waiting-for-approval");
    await killed(y.child);
    // Y's preview is in every Rollout's spec now; users are still served the old version.
    expect((await k.get(`${rolloutsPath}/frontend`)).spec.template.spec.containers[0].image).toBe(NEVER_APPROVED);

    const plan = await k.engine.plan(autoPayload("z"), k.environment);
    expect(plan.components.find((c) => c.name === "frontend")?.image.from).toBe(OLD.frontend);

    const z = await k.engine.apply(plan, { waitForLock: true });
    expect(z.state).toBe("promoted");
    expect(z.plan.components.find((c) => c.name === "frontend")?.image.from).toBe(OLD.frontend);
    for (const b of BACKENDS_USED) {
      const c = z.plan.components.find((x) => x.name === b);
      if (c?.changed) expect(c.image.from).toBe(oldImage(b));
    }
    expect((await k.engine.get(waiting.release, NS)).state).toBe("aborted");

    const back = await k.engine.rollback(z.id, { namespace: NS });
    expect(back.state).toBe("promoted");
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
    for (const b of BACKENDS_USED) expect((await k.serving(b)).image).toBe(oldImage(b));
  });
});

describe("finding 2: a queued release does not take the running one's preview as from", () => {
  it("finding 2: abort the running release, then the queued one: both end aborted, every Rollout Healthy on the old version", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const envB = eventLog();
    const b = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: envB.onEvent });
    const bWaiting = await envB.next("waiting-for-approval");

    const envC = eventLog();
    const other = await k.otherEngine();
    const cPlan = await other.plan(autoPayload("c"), k.environment);
    expect(cPlan.components.find((c) => c.name === "frontend")?.image.from).toBe(OLD.frontend);
    const c = other.apply(
      { ...cPlan, promotion: { ...cPlan.promotion, mode: "manual" } },
      {
        onEvent: envC.onEvent,
        waitForLock: true,
      },
    );

    await k.engine.abort(bWaiting.release, { by: "alice", namespace: NS });
    expect(await b.catch((e: ReleaseError) => e.code)).toBe("ABORTED");
    const cWaiting = await envC.next("waiting-for-approval");
    await other.abort(cWaiting.release, { by: "alice", namespace: NS });
    expect(await c.catch((e: ReleaseError) => e.code)).toBe("ABORTED");

    expect((await k.engine.get(cWaiting.release, NS)).state).toBe("aborted");
    for (const name of ["frontend", ...BACKENDS_USED]) {
      expect((await k.get(`${rolloutsPath}/${name}`)).status.phase, name).toBe("Healthy");
      expect((await k.serving(name)).image, name).toBe(name === "frontend" ? OLD.frontend : oldImage(name));
    }
  });
});

describe("finding 7: abort reaches the old state exactly", () => {
  it("finding 7: a component that had no oConfig gets none back after an abort, promoted back without a waiting preview", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const input = demoEnvironmentInput({ backends: BACKENDS_USED });
    const environment = parseEnvironment({
      ...input,
      backends: { ...input.backends, "backend-2": { ...input.backends?.["backend-2"], oConfig: OCONFIG } },
    } as never);
    const log = eventLog();
    const before = await k.serving("backend-2");
    expect(before.configMap).toBeUndefined();
    const applying = k.engine.apply(await k.engine.plan(seedPayload(), environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    await k.engine.abort(waiting.release, { by: "bob", namespace: NS });
    expect(await applying.catch((e: ReleaseError) => e.code)).toBe("ABORTED");

    const rollout = await k.get(`${rolloutsPath}/backend-2`);
    expect(rollout.status.phase).toBe("Healthy");
    expect(rollout.spec.template.spec.volumes ?? []).toEqual([]);
    expect(await k.serving("backend-2")).toEqual(before);
    expect((await k.engine.get(waiting.release, NS)).state).toBe("aborted");
  });

  it("finding 7: one backend's writes refused (RBAC) after the others were promoted: they come back, the release ends failed naming what is left and the command that finishes it", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    // Promote and abort patch the status subresource; the template write (a patch of the resource) passes.
    const denied = k.sim.faults.deny({ verb: "patch", resource: "rollouts", subresource: "status", name: "backend-3" });
    const error = await k.engine.apply(await k.engine.plan(autoPayload("x"), k.environment)).then(
      () => undefined,
      (e: unknown) => e as ReleaseError,
    );
    expect(error).toBeInstanceOf(ReleaseError);
    expect(error?.code).toBe("FAILED");
    const record = await k.engine.get(error?.release as string, NS);
    expect(record.state).toBe("failed");
    expect(record.leftover).toEqual(["backend-3"]);
    expect(record.message).toContain(`rollway rollback ${record.id}`);
    // Every other component serves exactly what it did before, nothing Paused.
    for (const name of ["frontend", "backend-1", "backend-2"]) {
      expect((await k.get(`${rolloutsPath}/${name}`)).status.phase, name).toBe("Healthy");
      expect((await k.serving(name)).image, name).toBe(name === "frontend" ? OLD.frontend : oldImage(name));
    }
    // Once the cluster accepts the writes, the command named finishes it.
    denied.clear();
    const finish = await k.engine.rollback(record.id, { namespace: NS });
    expect(finish.state).toBe("promoted");
    expect((await k.get(`${rolloutsPath}/backend-3`)).status.phase).toBe("Healthy");
    expect((await k.serving("backend-3")).image).toBe(oldImage("backend-3"));
  });
});

describe("a component that is not settled", () => {
  it("refuses the release as NOT_STABLE naming the component and what it is doing (a version in preview made by hand), changing nothing", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const [backend] = BACKENDS_USED;
    const rollout = await k.get(`${rolloutsPath}/${backend}`);
    rollout.spec.template.spec.containers[0].image = "my-registry/image-for-other-backends:by-hand";
    await fetch(`${k.sim.url}${rolloutsPath}/${backend}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(rollout),
    });
    await k.client.waitFor(await k.client.target(backend as string, NS), (s) => s.phase === "Paused", {
      timeout: 10_000,
    });
    const refused = await k.engine.apply(await k.engine.plan(autoPayload("z"), k.environment)).catch((e) => e);
    expect(refused).toBeInstanceOf(ReleaseError);
    expect(refused).toMatchObject({
      code: "NOT_STABLE",
      component: backend,
      detail: `Rollout "${backend}" is Paused with another version in preview`,
    });
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
    expect((await k.get(`${rolloutsPath}/frontend`)).spec.template.spec.containers[0].image).toBe(OLD.frontend);
  });
});
