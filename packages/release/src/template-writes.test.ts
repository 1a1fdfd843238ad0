import { describe, expect, it } from "vitest";
import { autoPayload, expectedImage, releaseSimResource } from "./test-helpers/release-sim.js";

describe("the engine's template write (rollout-client's setTemplate)", () => {
  it("reads again and decides again after a 409 on its patch, and rides out a 503 in the transport", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    // The template write is the only whole-resource patch of a blue-green Rollout (promote and abort patch status).
    k.sim.faults.failRequests({ verb: "patch", resource: "rollouts", name: "backend-1", code: 409, times: 1 });
    k.sim.faults.failRequests({ verb: "patch", resource: "rollouts", name: "backend-1", code: 503, times: 1 });
    const release = await k.engine.apply(await k.engine.plan(autoPayload("tag"), k.environment));
    expect(release.state).toBe("promoted");
    expect(await k.serving("backend-1")).toMatchObject({ image: expectedImage("backend-1") });
    const patches = k.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/rollouts/backend-1"));
    // The write refused with 409, the write again after a fresh read refused with 503, then the retry that passed.
    expect(patches).toHaveLength(3);
    expect(k.requests.filter((r) => r.method === "PUT" && r.path.includes("/rollouts/"))).toEqual([]);
  });
});
