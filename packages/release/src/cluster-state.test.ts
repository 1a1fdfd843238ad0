import { describe, expect, it } from "vitest";
import { autoPayload, releaseSimResource } from "./test-helpers/release-sim.js";

/** The requests a plan sends, by method and path without names: `GET /apis/argoproj.io/v1alpha1/…/rollouts`. */
async function planRequests(backends: string[]) {
  const k = await releaseSimResource({ backends });
  k.requests.length = 0;
  const plan = await k.engine.plan(autoPayload("2.0"), k.environment);
  expect(plan.components.map((c) => c.name)).toEqual(expect.arrayContaining(backends));
  return k.requests.map((r) => `${r.method} ${r.path}`).sort();
}

describe("readClusterState: what a plan reads", () => {
  it("reads the environment with one list per kind: as many requests for 20 backends as for 2, none per Rollout", async () => {
    const two = await planRequests(["backend-1", "backend-2"]);
    const twenty = await planRequests(Array.from({ length: 20 }, (_, i) => `backend-${i + 1}`));
    expect(twenty).toEqual(two);
    expect(twenty.filter((r) => /\/rollouts\/backend/.test(r))).toEqual([]);
    expect(twenty.filter((r) => r.startsWith("GET /apis/argoproj.io/v1alpha1/namespaces/demo/rollouts"))).toHaveLength(
      1,
    );
  });
});
