import { describe, expect, it } from "vitest";
import { DEMO_IMAGES } from "./sim.js";
import { DEPLOY_TOKEN, simServerResource } from "./test-server.js";

describe("environments discovered from cluster labels", () => {
  it("releases to the workloads labelled rollway.dev/component in the namespace, read at each deploy", async () => {
    const server = await simServerResource({
      config: {
        environments: [
          { project: "demo", environment: "demo", discover: { namespace: "demo", host: "demo.example.com" } },
        ],
      },
    });
    const deploy = () =>
      fetch(`${server.base}/deploy`, {
        method: "POST",
        headers: { Authorization: `Bearer ${DEPLOY_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ frontend: { image: "my-registry/image-for-frontend:9.0" } }),
      });
    // No labelled workload yet: the plan has no frontend to release, and says so.
    const before = await deploy();
    expect(before.status).toBe(400);

    const label = (name: string, strategy: unknown = {}) =>
      fetch(`${server.cluster.sim.url}/apis/argoproj.io/v1alpha1/namespaces/demo/rollouts/${name}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/merge-patch+json" },
        body: JSON.stringify({
          metadata: { labels: { "rollway.dev/component": name === "frontend" ? "frontend" : "backend" } },
          spec: { strategy },
        }),
      });
    // The release engine's schema refuses scaleDownDelaySeconds 0 (the demo's): a 409 says what is wrong where.
    expect((await label("frontend")).status).toBe(200);
    const invalid = await deploy();
    expect(invalid.status).toBe(409);
    expect(await invalid.json()).toMatchObject({
      code: "INVALID_ENVIRONMENT",
      message: expect.stringContaining("frontend.strategy.scaleDownDelaySeconds"),
    });
    for (const name of Object.keys(DEMO_IMAGES)) {
      expect((await label(name, { blueGreen: { scaleDownDelaySeconds: 1 } })).status).toBe(200);
    }
    const after = await deploy();
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ message: "success", releaseId: expect.stringMatching(/^demo-/) });
  });
});
