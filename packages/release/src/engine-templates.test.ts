/**
 * The engine's template writes go through rollout-client's `setTemplate` (finding 11): the write lands on the object
 * that holds the pod template, mapped by rollout-client (a Rollout's workloadRef → that Deployment), as one
 * optimistic merge patch; an abort puts that template back byte for byte. Against kube-sim.
 */
import { parseDeployPayload } from "@rollway/payload-schema";
import { isHealthy } from "@rollway/rollout-client";
import { describe, expect, it } from "vitest";
import { parseEnvironment } from "./environment.js";
import {
  demoEnvironmentInput,
  eventLog,
  NS,
  podTemplate,
  releaseSimResource,
  servicesPath,
} from "./test-helpers/release-sim.js";

const deploymentsPath = `/apis/apps/v1/namespaces/${NS}/deployments`;
const rolloutsPath = `/apis/argoproj.io/v1alpha1/namespaces/${NS}/rollouts`;

async function workloadRefWorld() {
  const k = await releaseSimResource({ backends: [] });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${k.sim.url}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.text()).toBe(201);
  };
  for (const name of ["cart", "cart-preview"])
    await post(servicesPath, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name },
      spec: { selector: { app: "cart" }, ports: [{ port: 80 }] },
    });
  await post(deploymentsPath, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "cart" },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "cart" } },
      template: {
        ...podTemplate("cart", "backend", "my-registry/cart:1"),
        metadata: { labels: { app: "cart" }, annotations: { "example.com/kept": "yes" } },
      },
    },
  });
  await post(rolloutsPath, {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    metadata: { name: "cart" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "cart" } },
      workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "cart" },
      strategy: { blueGreen: { activeService: "cart", previewService: "cart-preview", autoPromotionEnabled: false } },
    },
  });
  await k.client.waitFor(await k.client.target("cart", NS), isHealthy, { timeout: 30_000 });
  const environment = parseEnvironment({
    ...demoEnvironmentInput({ backends: [] }),
    backends: {
      cart: {
        workload: { kind: "Rollout", name: "cart" },
        container: "backend",
        strategy: { type: "blueGreen", activeService: "cart", previewService: "cart-preview" },
      },
    },
    platform: [],
  });
  const payload = parseDeployPayload({
    backends: { images: ["my-registry/cart:2"], deployRules: [{ source: "^my-registry/cart:", target: "^cart$" }] },
  });
  return { k, plan: await k.engine.plan(payload, environment) };
}

describe("template writes through rollout-client's setTemplate", () => {
  it("writes a workloadRef Rollout's image into the referenced Deployment with one PATCH, and an abort puts that template back byte for byte", async () => {
    const { k, plan } = await workloadRefWorld();
    expect(plan.components.find((c) => c.name === "cart")).toMatchObject({
      target: { kind: "Rollout", name: "cart" },
      workload: { kind: "Deployment", name: "cart" },
    });
    const before = (await k.get(`${deploymentsPath}/cart`)).spec.template;
    k.requests.length = 0;
    const log = eventLog();
    const releasing = k.engine.apply(plan, { onEvent: log.onEvent }).catch((e: unknown) => e);
    const waiting = await log.next("waiting-for-approval");
    const during = await k.get(`${deploymentsPath}/cart`);
    expect(during.spec.template.spec.containers[0].image).toBe("my-registry/cart:2");
    expect(during.spec.template.metadata.annotations).toEqual({ "example.com/kept": "yes" });
    // The Rollout holds no template of its own: nothing was written there.
    expect((await k.get(`${rolloutsPath}/cart`)).spec.template).toBeUndefined();
    // One merge patch on the Deployment, no full-object PUT anywhere.
    const writes = k.requests.filter((r) => r.path.includes("/deployments/cart") || r.path.includes("/rollouts/cart"));
    expect(writes.filter((r) => r.method === "PUT")).toEqual([]);
    expect(writes.filter((r) => r.method === "PATCH" && r.path === `${deploymentsPath}/cart`)).toHaveLength(1);

    await k.engine.abort(waiting.release, { by: "gina", namespace: NS });
    expect(await releasing).toMatchObject({ code: "ABORTED" });
    expect((await k.get(`${deploymentsPath}/cart`)).spec.template).toEqual(before);
    const status = await k.client.status(await k.client.target("cart", NS));
    expect(status.phase).toBe("Healthy");
    expect(status.stableImages).toEqual([{ container: "backend", image: "my-registry/cart:1" }]);
  });
});
