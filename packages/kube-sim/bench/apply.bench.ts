// Server-side apply against the strategic merge patch it is built on: the same image change to a Deployment, through
// the store (no HTTP), so the figure is what field sets, conflict checks and managedFields add to a write.
import { afterAll, bench, describe } from "vitest";
import { ManualClock } from "../src/clock.js";
import { startKubeSim } from "../src/sim.js";

const sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
const deployments = sim.store.types.get("apps", "deployments");
if (!deployments) throw new Error("no deployments type");
const config = (name: string, image: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name, tier: "web" }, annotations: { "example.com/owner": "team" } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          {
            name: "web",
            image,
            env: Array.from({ length: 10 }, (_, i) => ({ name: `VAR_${i}`, value: String(i) })),
            ports: [{ containerPort: 8080 }],
          },
          { name: "proxy", image: "envoy:1", ports: [{ containerPort: 9901 }] },
        ],
      },
    },
  },
});
sim.store.apply(deployments, "default", "ssa", config("ssa", "web:0"), { manager: "rollway" });
sim.store.create(deployments, "default", config("smp", "web:0"));
let n = 0;
afterAll(() => sim.close());

describe("one image change to a Deployment (2 containers, 10 env vars)", () => {
  bench("server-side apply of the whole configuration", () => {
    n++;
    sim.store.apply(deployments, "default", "ssa", config("ssa", `web:${n}`), { manager: "rollway" });
  });
  bench("baseline: strategic merge patch of the whole configuration", () => {
    n++;
    sim.store.patch(deployments, "default", "smp", "strategic", config("smp", `web:${n}`));
  });
});
