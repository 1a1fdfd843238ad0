// Store behaviour from the Kubernetes API conventions and concepts: finalizers and graceful deletion
// (api-concepts "Finalizers"), garbage collection propagation policies (concepts/architecture/garbage-collection),
// dry run (api-concepts "Dry-run"), the scale subresource, CRDs served once created.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";
import type { KubeObject } from "./crds.js";
import { KubeApiError } from "./errors.js";
import type { ResourceType } from "./resources.js";
import { formatSelector, matchesLabels, parseLabelSelector, type Selector } from "./selectors.js";
import { startKubeSim } from "./sim.js";

async function simResource() {
  const sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
  const type = (g: string, r: string) => sim.store.types.get(g, r) as ResourceType;
  return { sim, store: sim.store, type, [Symbol.asyncDispose]: () => sim.close() };
}

const cm = (name: string, meta: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...meta },
  data: { a: "1" },
});

function apiError(fn: () => unknown): KubeApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KubeApiError) return error;
    throw error;
  }
  throw new Error("expected a KubeApiError");
}

describe("store", () => {
  it("marks an object with finalizers for deletion and removes it when the last finalizer goes (api-concepts: Finalizers)", async () => {
    await using k = await simResource();
    const t = k.type("", "configmaps");
    k.store.create(t, "default", cm("f", { finalizers: ["example.com/keep"] }));
    const first = k.store.delete(t, "default", "f");
    expect(first.deleted).toBe(false);
    expect(first.object.metadata.deletionTimestamp).toBe("2026-01-01T00:00:00Z");
    expect(k.store.get(t, "default", "f").metadata.deletionTimestamp).toBeDefined();
    k.store.patch(t, "default", "f", "merge", { metadata: { finalizers: null } });
    expect(k.store.peek(t, "default", "f")).toBeUndefined();
  });

  it("deletes dependents in the background and orphans them with propagationPolicy=Orphan (garbage collection)", async () => {
    await using k = await simResource();
    const t = k.type("", "configmaps");
    const owner = k.store.create(t, "default", cm("owner")).object;
    const ref = {
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "owner",
      uid: owner.metadata.uid as string,
      controller: true,
    };
    k.store.create(t, "default", cm("child", { ownerReferences: [ref] }));
    k.store.delete(t, "default", "owner");
    expect(k.store.peek(t, "default", "child")).toBeUndefined();

    const owner2 = k.store.create(t, "default", cm("owner2")).object;
    k.store.create(
      t,
      "default",
      cm("child2", { ownerReferences: [{ ...ref, name: "owner2", uid: owner2.metadata.uid as string }] }),
    );
    k.store.delete(t, "default", "owner2", { propagationPolicy: "Orphan" });
    expect(k.store.get(t, "default", "child2").metadata.ownerReferences).toBeUndefined();
  });

  it("keeps nothing from a dry run (api-concepts: Dry-run)", async () => {
    await using k = await simResource();
    const t = k.type("", "configmaps");
    const rv = k.store.resourceVersion();
    const r = k.store.create(t, "default", cm("dry"), { dryRun: true });
    expect(r.object.metadata.name).toBe("dry");
    expect(k.store.peek(t, "default", "dry")).toBeUndefined();
    expect(k.store.resourceVersion()).toBe(rv);
  });

  it("refuses a delete whose uid precondition does not match with Conflict", async () => {
    await using k = await simResource();
    const t = k.type("", "configmaps");
    k.store.create(t, "default", cm("p"));
    const e = apiError(() => k.store.delete(t, "default", "p", { preconditions: { uid: "other" } }));
    expect(e.code).toBe(409);
    expect(e.message).toContain("Precondition failed: UID in precondition: other");
  });

  it("names generated objects from generateName with five characters of the apimachinery alphabet", async () => {
    await using k = await simResource();
    const t = k.type("", "configmaps");
    const o = k.store.create(t, "default", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { generateName: "web-" },
    }).object;
    expect(o.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it("serves a CRD's resource as soon as the CRD is created over the API, and stops when it is deleted", async () => {
    await using k = await simResource();
    const crds = k.type("apiextensions.k8s.io", "customresourcedefinitions");
    k.store.create(crds, undefined, {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: { spec: { type: "object", properties: { size: { type: "integer", minimum: 1 } } } },
              },
            },
          },
        ],
      },
    });
    const res = await fetch(`${k.sim.url}/apis/example.com/v1/namespaces/default/widgets`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "w" },
        spec: { size: 0 },
      }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toBe(
      'Widget.example.com "w" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1',
    );
    k.store.delete(crds, undefined, "widgets.example.com");
    expect((await fetch(`${k.sim.url}/apis/example.com/v1/namespaces/default/widgets`)).status).toBe(404);
  });

  it("reads and writes replicas through the scale subresource (autoscaling/v1 Scale)", async () => {
    await using k = await simResource();
    const d = k.type("apps", "deployments");
    k.store.create(d, "default", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "s" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "s" } },
        template: { metadata: { labels: { app: "s" } }, spec: { containers: [{ name: "c", image: "i" }] } },
      },
    });
    const path = `${k.sim.url}/apis/apps/v1/namespaces/default/deployments/s/scale`;
    const scale = (await (await fetch(path)).json()) as KubeObject & {
      spec: { replicas: number };
      status: { selector: string };
    };
    expect(scale.kind).toBe("Scale");
    expect(scale.spec.replicas).toBe(2);
    expect(scale.status.selector).toBe("app=s");
    const res = await fetch(path, {
      method: "PATCH",
      headers: { "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { replicas: 4 } }),
    });
    expect(res.status).toBe(200);
    expect((k.store.get(d, "default", "s").spec as { replicas: number }).replicas).toBe(4);
  });
});

describe("label selectors", () => {
  const key = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);
  const value = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,8}[a-zA-Z0-9])?$/);
  const requirement = fc.oneof(
    fc.record({ key, op: fc.constantFrom("=" as const, "!=" as const), values: fc.tuple(value) }),
    fc.record({
      key,
      op: fc.constantFrom("in" as const, "notin" as const),
      values: fc.array(value, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ key, op: fc.constantFrom("exists" as const, "!exists" as const), values: fc.constant([] as []) }),
  ) as fc.Arbitrary<Selector[number]>;

  it("parses what formatSelector prints back to the same requirements (property)", () => {
    fc.assert(
      fc.property(fc.array(requirement, { maxLength: 4 }), (selector) => {
        expect(parseLabelSelector(formatSelector(selector))).toEqual(selector);
      }),
    );
  });

  it("never throws anything but a SelectorParseError on arbitrary input (property)", () => {
    fc.assert(
      fc.property(fc.string(), (input) => {
        try {
          parseLabelSelector(input);
        } catch (error) {
          expect((error as Error).name).toBe("SelectorParseError");
        }
      }),
    );
  });

  it.each([
    ["app=web", { app: "web" }, true],
    ["app==web", { app: "api" }, false],
    ["app!=web", {}, true],
    ["env in (a, b)", { env: "b" }, true],
    ["env notin (a,b)", {}, true],
    ["env", { env: "" }, true],
    ["!env", { env: "x" }, false],
    ["app=web,tier=front", { app: "web" }, false],
  ])("%s on %j matches: %s", (selector, labels, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });
});
