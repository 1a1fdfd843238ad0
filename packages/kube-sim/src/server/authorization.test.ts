// RBAC refusals (faults.deny) and SelfSubjectAccessReview, as a client without the permission sees them.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { call } from "./test-http.js";

const SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const review = (resourceAttributes: Record<string, string>) => ({
  apiVersion: "authorization.k8s.io/v1",
  kind: "SelfSubjectAccessReview",
  spec: { resourceAttributes },
});

async function simWithDeployment() {
  const sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
  await call(sim.url, "POST", "/api/v1/namespaces", { metadata: { name: "demo" } });
  const created = await call(sim.url, "POST", "/apis/apps/v1/namespaces/demo/deployments", {
    metadata: { name: "x" },
    spec: {
      selector: { matchLabels: { app: "x" } },
      template: { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "x", image: "x:1" }] } },
    },
  });
  expect(created.status).toBe(201);
  return sim;
}

describe("faults.deny", () => {
  it("answers a denied verb with the real 403 Forbidden Status and leaves other verbs alone", async () => {
    await using sim = await simWithDeployment();
    const handle = sim.faults.deny({ verb: "patch", group: "apps", resource: "deployments", namespace: "demo" });
    const patched = await call(
      sim.url,
      "PATCH",
      "/apis/apps/v1/namespaces/demo/deployments/x",
      { spec: { replicas: 5 } },
      "application/merge-patch+json",
    );
    expect(patched.status).toBe(403);
    expect(patched.body).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        'deployments.apps "x" is forbidden: User "kube-sim-admin" cannot patch resource "deployments" in API group "apps" in the namespace "demo"',
      reason: "Forbidden",
      details: { name: "x", group: "apps", kind: "deployments" },
      code: 403,
    });
    const after = await call(sim.url, "GET", "/apis/apps/v1/namespaces/demo/deployments/x");
    expect(after.status).toBe(200);
    expect(after.body.spec.replicas).toBe(1);
    handle.clear();
    const again = await call(
      sim.url,
      "PATCH",
      "/apis/apps/v1/namespaces/demo/deployments/x",
      { spec: { replicas: 5 } },
      "application/merge-patch+json",
    );
    expect(again.status).toBe(200);
  });

  it("words a collection refusal without a name and a cluster-scoped one 'at the cluster scope'", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    sim.faults.deny({ verb: "list", resource: "configmaps" });
    sim.faults.deny({ verb: "create", resource: "namespaces" });
    const list = await call(sim.url, "GET", "/api/v1/namespaces/default/configmaps");
    expect(list.status).toBe(403);
    expect(list.body.message).toBe(
      'configmaps is forbidden: User "kube-sim-admin" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    const ns = await call(sim.url, "POST", "/api/v1/namespaces", { metadata: { name: "n" } });
    expect(ns.body.message).toBe(
      'namespaces is forbidden: User "kube-sim-admin" cannot create resource "namespaces" in API group "" at the cluster scope',
    );
  });
});

describe("SelfSubjectAccessReview", () => {
  it("answers allowed: true, and allowed: false for what a deny rule refuses, storing nothing", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    sim.faults.deny({ verb: "patch", group: "apps", resource: "deployments", namespace: "demo" });
    const attrs = { verb: "patch", group: "apps", resource: "deployments", namespace: "demo" };
    const denied = await call(sim.url, "POST", SSAR, review(attrs));
    expect(denied.status).toBe(201);
    expect(denied.body).toMatchObject({
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      spec: { resourceAttributes: attrs },
      status: { allowed: false },
    });
    const other = await call(sim.url, "POST", SSAR, review({ ...attrs, namespace: "prod" }));
    expect(other.body.status.allowed).toBe(true);
    const get = await call(sim.url, "POST", SSAR, review({ ...attrs, verb: "get" }));
    expect(get.body.status.allowed).toBe(true);
  });

  it("is create-only: list is 405 MethodNotAllowed, a named GET is 404, an empty spec is 422", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const list = await call(sim.url, "GET", SSAR);
    expect(list.status).toBe(405);
    expect(list.body.reason).toBe("MethodNotAllowed");
    expect((await call(sim.url, "GET", `${SSAR}/x`)).status).toBe(404);
    const empty = await call(sim.url, "POST", SSAR, { kind: "SelfSubjectAccessReview", spec: {} });
    expect(empty.status).toBe(422);
    expect(empty.body.message).toContain(
      "exactly one of nonResourceAttributes or resourceAttributes must be specified",
    );
    const discovery = await call(sim.url, "GET", "/apis/authorization.k8s.io/v1");
    expect(discovery.body.resources).toEqual([
      expect.objectContaining({ name: "selfsubjectaccessreviews", namespaced: false, verbs: ["create"] }),
    ]);
  });
});
