import { describe, expect, it } from "vitest";
import { RolloutClientError } from "./errors.js";
import { deploymentManifest, kubeSimResource, NAMESPACE } from "./test-helpers/kube-sim.js";

const CM = { apiVersion: "v1", kind: "ConfigMap" } as const;
const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;

describe("the generic object API (any apiVersion, kind, namespace and name)", () => {
  it("creates, gets, lists, replaces, patches (merge, strategic, json) and deletes", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const { objects } = env.client.connection;
    const created = await objects.create({ ...CM, metadata: { name: "cfg", labels: { app: "x" } }, data: { a: "1" } });
    expect(created.metadata?.namespace).toBe(NAMESPACE);
    const read = await objects.get<{ data: Record<string, string>; metadata: { resourceVersion: string } }>({
      ...CM,
      name: "cfg",
    });
    expect(read.data).toEqual({ a: "1" });
    const replaced = await objects.replace({ ...CM, metadata: { ...read.metadata, name: "cfg" }, data: { a: "2" } });
    expect(replaced).toMatchObject({ data: { a: "2" } });
    const stale = await objects
      .replace({ ...CM, metadata: { ...read.metadata, name: "cfg" }, data: { a: "3" } })
      .catch((e: unknown) => e);
    expect(stale).toMatchObject({ code: "CONFLICT", httpStatus: 409, reason: "Conflict" });
    await objects.patch({ ...CM, name: "cfg" }, { data: { b: "1" } }, "merge");
    await objects.patch({ ...CM, name: "cfg" }, [{ op: "add", path: "/data/c", value: "1" }], "json");
    await objects.create(deploymentManifest("web", "web:1"));
    await objects.patch(
      { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      { spec: { template: { spec: { containers: [{ name: "web", image: "web:2" }] } } } },
      "strategic",
    );
    const list = await objects.list<{ data: Record<string, string> }>(CM, { labelSelector: "app=x" });
    expect(list.items.map((i) => i.data)).toEqual([{ a: "2", b: "1", c: "1" }]);
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);
    await objects.delete({ ...CM, name: "cfg" });
    await expect(objects.get({ ...CM, name: "cfg" })).rejects.toMatchObject({ code: "NOT_FOUND", httpStatus: 404 });
    const deployment = await objects.get<{ spec: { template: { spec: { containers: { image: string }[] } } } }>({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "web",
    });
    expect(deployment.spec.template.spec.containers[0]?.image).toBe("web:2");
  });

  it("reads and writes subresources: status and scale", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const { objects } = env.conn;
    await objects.create(deploymentManifest("web", "web:1"));
    const ref = { apiVersion: "apps/v1", kind: "Deployment", name: "web" } as const;
    const scale = await objects.get<{ kind: string; spec: { replicas: number } }>(ref, { subresource: "scale" });
    expect(scale).toMatchObject({ kind: "Scale", spec: { replicas: 2 } });
    await objects.patch(ref, { spec: { replicas: 5 } }, "merge", { subresource: "scale" });
    await objects.patch(ref, { status: { observedGeneration: 7 } }, "merge", { subresource: "status" });
    const after = await objects.get<{ spec: { replicas: number }; status: { observedGeneration: number } }>(ref);
    expect(after.spec.replicas).toBe(5);
    expect(after.status.observedGeneration).toBe(7);
  });

  it("finds the path of a kind it does not know through discovery, once, and says when none serves it", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const { objects } = env.client.connection;
    const ingress = { apiVersion: "networking.k8s.io/v1", kind: "Ingress" } as const;
    expect(await objects.path({ ...ingress, name: "web" })).toBe(
      `/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/ingresses/web`,
    );
    await objects.create({ ...ingress, metadata: { name: "web" }, spec: {} });
    await objects.get({ ...ingress, name: "web" });
    expect(env.requests.filter((r) => r.path === "/apis/networking.k8s.io/v1")).toHaveLength(1);
    expect(await objects.path({ apiVersion: "v1", kind: "Namespace", name: "shop" })).toBe("/api/v1/namespaces/shop");
    await expect(objects.get({ apiVersion: "networking.k8s.io/v1", kind: "Gadget", name: "x" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});

describe("one error class: the Kubernetes Status reason, the HTTP code and the object", () => {
  it("a 403 is FORBIDDEN with its reason and names the namespace of the request made, not the kubeconfig's", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.conn.objects.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } });
    env.sim.faults.deny({ verb: "create", resource: "leases" });
    const error = await env.client.connection.objects
      .create({ ...LEASE, metadata: { name: "rollway-release-demo", namespace: "other" }, spec: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutClientError);
    expect(error).toMatchObject({
      code: "FORBIDDEN",
      httpStatus: 403,
      reason: "Forbidden",
      method: "POST",
      resource: { kind: "Lease", name: "rollway-release-demo", namespace: "other" },
    });
    expect((error as Error).message).toMatch(
      /^POST Lease "rollway-release-demo" in namespace "other": .*forbidden.* \(check the RBAC rules/,
    );
    expect(env.client.connection.namespace).toBe(NAMESPACE);
  });
});
