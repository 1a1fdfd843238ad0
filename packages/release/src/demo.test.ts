import { readFileSync } from "node:fs";
import { defaultCrdSources, startKubeSim } from "@rollway/kube-sim";
import { describe, expect, it } from "vitest";
import { DEMO_ENVIRONMENT_YAML, demoEnvironment, demoStartImage, seedDemoWorld } from "./demo.js";
import { listComponents } from "./environment-components.js";

const exampleFile = new URL("../examples/demo-environment.yaml", import.meta.url);

describe("the demo world", () => {
  it("is examples/demo-environment.yaml, byte for byte, oConfig included", () => {
    expect(DEMO_ENVIRONMENT_YAML).toBe(readFileSync(exampleFile, "utf8"));
    const env = demoEnvironment();
    expect(listComponents(env).map((c) => c.name)).toEqual([
      "frontend",
      "backend-1",
      "backend-2",
      "backend-3",
      "backend-4",
      "backend-5",
    ]);
    expect(env.previewHost).toBe("preview.demo.example.com");
    expect(env.frontend?.oConfig).toBeDefined();
    expect(env.backends["backend-1"]?.oConfig).toBeDefined();
  });

  it("lays out every component of the file in a simulated cluster, on its start image, with its current oConfig", async () => {
    const env = demoEnvironment();
    await using sim = await startKubeSim({ namespace: env.namespace, readyDelayMs: 10, crds: defaultCrdSources() });
    await seedDemoWorld(sim.url, env);
    // biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects as read over the wire
    const get = async (path: string) => (await (await fetch(`${sim.url}${path}`)).json()) as { items: any[] };
    const rollouts = await get(`/apis/argoproj.io/v1alpha1/namespaces/${env.namespace}/rollouts`);
    const configMaps = await get(`/api/v1/namespaces/${env.namespace}/configmaps`);
    const services = await get(`/api/v1/namespaces/${env.namespace}/services`);
    for (const { name, component } of listComponents(env)) {
      const rollout = rollouts.items.find((r) => r.metadata.name === component.workload.name);
      const container = rollout.spec.template.spec.containers.find(
        (c: { name: string }) => c.name === component.container,
      );
      expect(container.image).toBe(demoStartImage(name, component.container));
      expect(services.items.map((s) => s.metadata.name)).toEqual(
        expect.arrayContaining([`${name}`, `${name}-preview`]),
      );
      const volume = rollout.spec.template.spec.volumes?.find((v: { configMap?: unknown }) => v.configMap);
      if (component.oConfig === undefined) expect(volume).toBeUndefined();
      else expect(configMaps.items.map((c) => c.metadata.name)).toContain(volume.configMap.name);
    }
    const backend1 = configMaps.items.find((c) => c.metadata.name.startsWith("backend-1"));
    expect(JSON.stringify(backend1.data)).toContain("a value");
  });
});
