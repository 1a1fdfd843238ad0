// Findings 3 and 4 of issue #13: orphaned releases are decided plainly, and no engine twins a live release.
import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import { describe, expect, it } from "vitest";
import type { ReleaseError } from "./errors.js";
import { leaseName } from "./lock.js";
import { BACKENDS_USED, crashingEngine, killed } from "./test-helpers/crashing-engine.js";
import { autoPayload, eventLog, NS, OLD, releaseSimResource, seedPayload } from "./test-helpers/release-sim.js";

const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${leaseName("demo")}`;
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: ReleaseError) => e.code,
  );

describe("finding 3: a release whose engine died", () => {
  it("finding 3: promote and abort say NOT_RUNNING and change nothing; the next deploy takes the expired Lease over as an event in the record", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const y = crashingEngine(k.sim.kubeconfigPath, JSON.parse(EXAMPLE_PAYLOAD_TEXT));
    const waiting = await y.reached("waiting-for-approval");
    await killed(y.child);
    // The crashed engine's Lease lasts 1 s.
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    expect(await codeOf(k.engine.promote(waiting.release, { by: "alice", namespace: NS }))).toBe("NOT_RUNNING");
    const error = await k.engine.abort(waiting.release, { by: "alice", namespace: NS }).catch((e: ReleaseError) => e);
    expect((error as ReleaseError).message).toContain("rollway recover demo");
    const untouched = await k.engine.get(waiting.release, NS);
    expect(untouched.approvals).toEqual([]);
    expect(untouched.abortRequested).toBeUndefined();

    const z = await k.engine.apply(await k.engine.plan(autoPayload("z"), k.environment));
    expect(z.state).toBe("promoted");
    const y2 = await k.engine.get(waiting.release, NS);
    expect(y2.state).toBe("aborted");
    expect(y2.takeovers?.[0]).toMatchObject({ from: "engine-that-crashes", by: k.engine.identity });
    // The Lease was let go, not deleted under anyone: free, naming no holder.
    const lease = await k.get(leasePath);
    expect(lease.spec.holderIdentity).toBeUndefined();
    expect(await k.serving("frontend")).toMatchObject({ image: "my-registry/image-for-frontend:z" });
  });
});

describe("finding 4: no twin engine for a live release", () => {
  it("finding 4: recover() in the same process and in another leaves a live release alone; it promotes once", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED, leaseDurationSeconds: 1 });
    const log = eventLog();
    const running = k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { onEvent: log.onEvent });
    const waiting = await log.next("waiting-for-approval");
    const lease = await k.get(leasePath);
    expect(lease.spec.holderIdentity).toBe(k.engine.identity);
    expect(k.engine.identity).toMatch(/\(started \d{4}-\d\d-\d\dT/);

    // Several Lease durations pass while it waits: the Lease is renewed, and recovery finds nothing to take.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await k.engine.recover("demo", { namespace: NS, onEvent: log.onEvent })).toEqual([]);
      expect(await (await k.otherEngine()).recover("demo", { namespace: NS })).toEqual([]);
    }
    await k.engine.promote(waiting.release, { by: "alice", namespace: NS });
    expect((await running).state).toBe("promoted");
    expect(log.types().filter((t) => t === "resumed" || t === "taken-over")).toEqual([]);
    expect(log.types().filter((t) => t === "upgrade-done")).toHaveLength(1);
    expect((await k.engine.get(waiting.release, NS)).takeovers).toBeUndefined();
    expect(await k.serving("frontend")).not.toMatchObject({ image: OLD.frontend });
  });
});
