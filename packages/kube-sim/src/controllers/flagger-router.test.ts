// Flagger's mesh routers (fluxcd/flagger@15bd6ad5 pkg/router, scheduler.go advance): a Canary whose provider needs an
// Ingress or a mesh object does not progress without it, with Flagger's warning; once it is there, the router
// creates what upstream creates and the Canary initializes. Replayed over HTTP on kube-sim's manual clock, in the
// order of Flagger's own e2e scripts (test/nginx/test-canary.sh applies the Ingress, then the Canary).
import { describe, expect, it } from "vitest";
import {
  deployment,
  installMeshCrds,
  type Obj,
  PATHS,
  podinfoCanary,
  type SimResource,
  simResource,
} from "./rollout-test-kit.js";

const INGRESSES = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
const VIRTUAL_SERVICES = "/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices";
const DESTINATION_RULES = "/apis/networking.istio.io/v1beta1/namespaces/default/destinationrules";
const INTERVAL_MS = 15_000;

/** Flagger's podinfo with `spec` (the provider, always given here, and its references) over the kit's Canary. */
async function podinfo(k: SimResource, spec: Obj): Promise<void> {
  await k.create(PATHS.deployments, deployment("podinfo", 2, "podinfo:6.0.0"));
  await k.create(PATHS.canaries, podinfoCanary({ maxWeight: 50, stepWeight: 10 }, spec));
}

/** test/nginx/test-canary.sh's podinfo Ingress (backend: the apex Service). */
function ingress(): Obj {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "podinfo", annotations: { "kubernetes.io/ingress.class": "nginx" } },
    spec: {
      rules: [
        {
          host: "app.example.com",
          http: {
            paths: [
              { pathType: "Prefix", path: "/", backend: { service: { name: "podinfo", port: { number: 9898 } } } },
            ],
          },
        },
      ],
    },
  };
}

async function warnings(k: SimResource): Promise<string[]> {
  return (await k.list(PATHS.events))
    .filter((e: Obj) => e.involvedObject.kind === "Canary" && e.type === "Warning")
    .map((e: Obj) => e.message);
}

async function phase(k: SimResource): Promise<string | undefined> {
  return (await k.get(`${PATHS.canaries}/podinfo`)).status?.phase;
}

describe("Flagger mesh routers: no Ingress or mesh object, no progress", () => {
  it("nginx: without the Ingress it names, the Canary stays Initializing; with it, podinfo-canary is created and it initializes", async () => {
    await using k = await simResource();
    await podinfo(k, {
      provider: "nginx",
      ingressRef: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "podinfo" },
    });
    await k.advance(4 * INTERVAL_MS);
    expect(await phase(k)).toBe("Initializing");
    expect(await warnings(k)).toContain(
      'ingress podinfo.default get query error: ingresses.networking.k8s.io "podinfo" not found',
    );
    expect((await k.get(`${PATHS.deployments}/podinfo`)).spec.replicas).toBe(2);

    await k.create(INGRESSES, ingress());
    await k.until("Initialized", async () => (await phase(k)) === "Initialized", 120_000, INTERVAL_MS);
    const canaryIngress = await k.get(`${INGRESSES}/podinfo-canary`);
    expect(canaryIngress.metadata.annotations).toMatchObject({
      "kubernetes.io/ingress.class": "nginx",
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-weight": "0",
    });
    expect(canaryIngress.spec.rules[0].http.paths[0].backend.service.name).toBe("podinfo-canary");
    expect(canaryIngress.metadata.ownerReferences[0]).toMatchObject({ kind: "Canary", name: "podinfo" });
  });

  it("nginx: no ingressRef, or an Ingress without the apex backend, keeps the Canary Initializing", async () => {
    await using k = await simResource();
    const other = ingress();
    other.spec.rules[0].http.paths[0].backend.service.name = "frontend";
    await k.create(INGRESSES, other);
    await podinfo(k, { provider: "nginx" });
    await k.advance(3 * INTERVAL_MS);
    expect(await phase(k)).toBe("Initializing");
    expect(await warnings(k)).toContain("ingress selector is empty");
    await k.mergePatch(`${PATHS.canaries}/podinfo`, {
      spec: { ingressRef: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "podinfo" } },
    });
    await k.advance(3 * INTERVAL_MS);
    expect(await phase(k)).toBe("Initializing");
    expect(await warnings(k)).toContain("backend podinfo not found in ingress podinfo");
  });

  it("istio: without Istio's CRDs the DestinationRule cannot be created and nothing progresses; with them it is", async () => {
    await using k = await simResource();
    await podinfo(k, { provider: "istio" });
    await k.advance(4 * INTERVAL_MS);
    expect(await phase(k)).toBe("Initializing");
    expect(await warnings(k)).toContain(
      "reconcileDestinationRule failed: DestinationRule podinfo-canary.default create error: the server could not find the requested resource (post destinationrules.networking.istio.io)",
    );

    await installMeshCrds(k);
    await k.until("Initialized", async () => (await phase(k)) === "Initialized", 120_000, INTERVAL_MS);
    expect((await k.list(DESTINATION_RULES)).map((d: Obj) => d.metadata.name).sort()).toEqual([
      "podinfo-canary",
      "podinfo-primary",
    ]);
    const [vs] = await k.list(VIRTUAL_SERVICES);
    expect(vs.metadata.name).toBe("podinfo");
    expect(vs.spec.hosts).toEqual(["podinfo"]);
  });

  it("contour and gateway-api: no HTTPProxy/HTTPRoute kind served, no progress", async () => {
    for (const [provider, message] of [
      [
        "contour",
        "HTTPProxy podinfo.default create error: the server could not find the requested resource (post httpproxies.projectcontour.io)",
      ],
      [
        "gatewayapi:v1",
        "HTTPRoute podinfo.default create error: the server could not find the requested resource (post httproutes.gateway.networking.k8s.io)",
      ],
    ] as const) {
      await using k = await simResource();
      await podinfo(k, { provider });
      await k.advance(3 * INTERVAL_MS);
      expect(await phase(k)).toBe("Initializing");
      expect(await warnings(k)).toContain(message);
      await installMeshCrds(k);
      await k.until(`${provider} Initialized`, async () => (await phase(k)) === "Initialized", 120_000, INTERVAL_MS);
    }
  });
});
