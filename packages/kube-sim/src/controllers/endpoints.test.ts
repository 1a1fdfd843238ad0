// Endpoints as the endpoints controller writes them (concepts/services-networking/service: "Endpoints"):
// ready pods under addresses, not-ready ones under notReadyAddresses, named target ports resolved per pod.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { ResourceType } from "../resources.js";
import { startKubeSim } from "../sim.js";
import { endpointsController } from "./endpoints.js";
import { podController } from "./pod.js";
import type { Obj } from "./workload.js";

describe("Endpoints controller", () => {
  it("lists the selected pods' IPs, moving them to addresses once ready, and follows a selector change", async () => {
    await using sim = await startKubeSim({
      clock: new ManualClock(),
      readyDelayMs: 1_000,
      controllers: [podController, endpointsController],
    });
    const t = (r: string) => sim.store.types.get("", r) as ResourceType;
    for (const [name, version] of [
      ["blue-1", "blue"],
      ["green-1", "green"],
    ]) {
      sim.store.create(t("pods"), "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: "web", version } },
        spec: { containers: [{ name: "app", image: "web:1", ports: [{ name: "http", containerPort: 8080 }] }] },
      });
    }
    sim.store.create(t("services"), "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web", version: "blue" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
    await sim.settle();
    const endpoints = () => sim.store.get(t("endpoints"), "default", "web") as Obj;
    const names = (list: Obj[] | undefined) => (list ?? []).map((a) => a.targetRef.name);
    expect(names(endpoints().subsets[0].notReadyAddresses)).toEqual(["blue-1"]);
    expect(endpoints().subsets[0].ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    await sim.advance(1_000);
    expect(names(endpoints().subsets[0].addresses)).toEqual(["blue-1"]);
    expect(endpoints().subsets[0].addresses[0].ip).toMatch(/^10\.244\./);
    sim.store.patch(t("services"), "default", "web", "merge", { spec: { selector: { version: "green" } } });
    await sim.settle();
    expect(names(endpoints().subsets[0].addresses)).toEqual(["green-1"]);
    sim.store.delete(t("services"), "default", "web");
    await sim.settle();
    expect(sim.store.peek(t("endpoints"), "default", "web")).toBeUndefined();
  });
});
