// The official Python client (Debian's python3-kubernetes) sends `?watch=True`; apimachinery reads any value but
// "0"/"false" as true, so its watches must stream events (they used to get a List and silently see nothing).
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { ResourceType } from "../resources.js";
import { startKubeSim } from "../sim.js";
import { python } from "./run-python.js";

describe("python3-kubernetes against kube-sim", () => {
  it("watch.Watch().stream() sees the ConfigMaps that exist and the ones created while it runs", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const cms = sim.store.types.get("", "configmaps") as ResourceType;
    sim.store.create(cms, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "before" } });
    const script = `
import sys
from kubernetes import client, config, watch
config.load_kube_config()
v1 = client.CoreV1Api()
w = watch.Watch()
for event in w.stream(v1.list_namespaced_config_map, "default", timeout_seconds=20):
    print(event["type"], event["object"].metadata.name, flush=True)
    if event["object"].metadata.name == "during":
        w.stop()
`;
    const run = python(sim, script);
    // Created once the client is watching; the watch ends on its own after 20 s if it never arrives.
    const timer = setInterval(() => {
      if (!sim.store.peek(cms, "default", "during"))
        sim.store.create(cms, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "during" } });
    }, 300);
    const result = await run;
    clearInterval(timer);
    expect(result.stderr).toBe("");
    expect(result.stdout.split("\n").filter(Boolean)).toEqual(["ADDED before", "ADDED during"]);
  });

  it("a watch resuming from a forgotten resourceVersion raises ApiException 410 instead of hanging", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const cms = sim.store.types.get("", "configmaps") as ResourceType;
    const old = sim.store.resourceVersion();
    sim.store.create(cms, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } });
    sim.faults.expireWatchHistory();
    const script = `
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
config.load_kube_config()
v1 = client.CoreV1Api()
try:
    for event in watch.Watch().stream(v1.list_namespaced_config_map, "default", resource_version="${old}", timeout_seconds=20):
        print("EVENT", event["type"])
except ApiException as e:
    print("STATUS", e.status)
`;
    const result = await python(sim, script);
    expect(result.stdout.trim()).toBe("STATUS 410");
  });
});
