// Findings 5 and 6 of issue #13: rollback never silently overrides newer releases; timeouts are recorded as such.
import { describe, expect, it } from "vitest";
import type { ReleaseError } from "./errors.js";
import { autoPayload, NS, OLD, releaseSimResource, rolloutsPath, seedPayload } from "./test-helpers/release-sim.js";

const frontend = (tag: string) => `my-registry/image-for-frontend:${tag}`;
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: ReleaseError) => e.code,
  );

describe("finding 5: rollback undoes the newest promoted release", () => {
  it("finding 5: refuses to roll back v3 while v4 is live (NOT_NEWEST, naming v4, nothing changed); naming v4 too goes back before v3 and marks both rolled-back", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    const v3 = await k.engine.apply(await k.engine.plan(autoPayload("v3"), k.environment));
    const v4 = await k.engine.apply(await k.engine.plan(autoPayload("v4"), k.environment));
    expect((await k.serving("frontend")).image).toBe(frontend("v4"));

    const refused = await k.engine.rollback(v3.id, { namespace: NS }).catch((e: ReleaseError) => e);
    expect((refused as ReleaseError).code).toBe("NOT_NEWEST");
    expect((refused as ReleaseError).message).toContain(v4.id);
    expect((await k.serving("frontend")).image).toBe(frontend("v4"));
    expect((await k.engine.get(v4.id, NS)).state).toBe("promoted");

    const back = await k.engine.rollback(v3.id, { namespace: NS, undoing: [v4.id] });
    expect(back.state).toBe("promoted");
    expect((await k.serving("frontend")).image).toBe(OLD.frontend);
    expect((await k.engine.get(v3.id, NS)).state).toBe("rolled-back");
    expect((await k.engine.get(v4.id, NS)).state).toBe("rolled-back");
    expect(await codeOf(k.engine.rollback(v4.id, { namespace: NS }))).toBe("INVALID_STATE");
  });
});

describe("finding 6: a timeout is recorded as a timeout", () => {
  it("finding 6: a release past its time limit fails with TIMEOUT, its record says timed out, every component back and Healthy", async () => {
    const k = await releaseSimResource({ backends: ["backend-1", "backend-2"] });
    const error = await k.engine.apply(await k.engine.plan(seedPayload(), k.environment), { timeoutSeconds: 2 }).then(
      () => undefined,
      (e: unknown) => e as ReleaseError,
    );
    expect(error?.code).toBe("TIMEOUT");
    const record = await k.engine.get(error?.release as string, NS);
    expect(record.state).toBe("failed");
    expect(record.message).toMatch(/^timed out: the release did not finish within 2 s/);
    for (const name of ["frontend", "backend-1", "backend-2"]) {
      const rollout = await k.get(`${rolloutsPath}/${name}`);
      expect(rollout.status.phase, name).toBe("Healthy");
    }
    expect((await k.serving("frontend")).image).toBe(OLD.frontend);
  });
});
