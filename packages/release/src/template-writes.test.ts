import { describe, expect, it } from "vitest";
import { autoPayload, expectedImage, releaseSimResource } from "./test-helpers/release-sim.js";

describe("the engine's template write", () => {
  it("reads again and decides again after a 409 on its PUT, and rides out a 503 in the transport", async () => {
    const k = await releaseSimResource({ backends: ["backend-1"] });
    k.sim.faults.failRequests({ verb: "update", resource: "rollouts", name: "backend-1", code: 409, times: 1 });
    k.sim.faults.failRequests({ verb: "update", resource: "rollouts", name: "backend-1", code: 503, times: 1 });
    const release = await k.engine.apply(await k.engine.plan(autoPayload("tag"), k.environment));
    expect(release.state).toBe("promoted");
    expect(await k.serving("backend-1")).toMatchObject({ image: expectedImage("backend-1") });
  });
});
