// Patch semantics: JSON merge patch from RFC 7386 (its appendix A examples), JSON patch from RFC 6902, strategic
// merge patch from the Kubernetes docs ("Update API Objects in Place Using kubectl patch") and the SIG API
// Machinery strategic-merge-patch design document (patch directives).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from "./index.js";

describe("JSON merge patch (RFC 7386 appendix A)", () => {
  it.each([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("merges %j with %j into %j", (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it("never changes its inputs (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (target, patch) => {
        const t = JSON.stringify(target);
        const p = JSON.stringify(patch);
        applyMergePatch(target, patch);
        expect(JSON.stringify(target)).toBe(t);
        expect(JSON.stringify(patch)).toBe(p);
      }),
    );
  });

  it("is idempotent: applying a patch twice gives the same result as once (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (target, patch) => {
        const once = applyMergePatch(target, patch);
        expect(applyMergePatch(once, patch)).toEqual(once);
      }),
    );
  });
});

describe("JSON patch (RFC 6902)", () => {
  it("applies add, replace, remove, test in order", () => {
    const doc = { spec: { replicas: 1, paused: true }, metadata: { labels: { a: "1" } } };
    const out = applyJsonPatch(doc, [
      { op: "test", path: "/spec/replicas", value: 1 },
      { op: "replace", path: "/spec/replicas", value: 3 },
      { op: "remove", path: "/spec/paused" },
      { op: "add", path: "/metadata/labels/b", value: "2" },
    ]);
    expect(out).toEqual({ spec: { replicas: 3 }, metadata: { labels: { a: "1", b: "2" } } });
    expect(doc.spec.replicas).toBe(1);
  });

  it("names the failing operation when a test fails or a path is missing", () => {
    expect(() => applyJsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])).toThrow(PatchError);
    expect(() => applyJsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])).toThrow("operation 0 (test /a)");
    expect(() => applyJsonPatch({ a: 1 }, [{ op: "replace", path: "/b/c", value: 2 }])).toThrow(
      "operation 0 (replace /b/c)",
    );
    expect(() => applyJsonPatch({ a: 1 }, { op: "add" })).toThrow("a JSON patch must be a list of operations");
  });
});

const pod = {
  metadata: { name: "p", finalizers: ["a"] },
  spec: {
    containers: [
      {
        name: "app",
        image: "app:1",
        env: [{ name: "A", value: "1" }],
        ports: [{ containerPort: 80 }],
        volumeMounts: [{ mountPath: "/data", name: "d" }],
      },
      { name: "sidecar", image: "side:1" },
    ],
    volumes: [{ name: "d", emptyDir: {} }],
    tolerations: [{ key: "x", operator: "Exists" }],
  },
};

describe("strategic merge patch", () => {
  it.each([
    [
      "merges containers by name, keeping the others",
      { spec: { containers: [{ name: "app", image: "app:2" }] } },
      (o: typeof pod) => [o.spec.containers.map((c) => c.image), o.spec.containers[0]?.env],
      [["app:2", "side:1"], [{ name: "A", value: "1" }]],
    ],
    [
      "appends a container with a new name",
      { spec: { containers: [{ name: "new", image: "new:1" }] } },
      (o: typeof pod) => o.spec.containers.map((c) => c.name),
      ["app", "sidecar", "new"],
    ],
    [
      "merges env by name inside a merged container",
      {
        spec: {
          containers: [
            {
              name: "app",
              env: [
                { name: "B", value: "2" },
                { name: "A", value: "9" },
              ],
            },
          ],
        },
      },
      (o: typeof pod) => o.spec.containers[0]?.env,
      [
        { name: "A", value: "9" },
        { name: "B", value: "2" },
      ],
    ],
    [
      "deletes a list element with $patch: delete",
      { spec: { containers: [{ name: "sidecar", $patch: "delete" }] } },
      (o: typeof pod) => o.spec.containers.map((c) => c.name),
      ["app"],
    ],
    [
      "replaces a whole list with a $patch: replace element",
      { spec: { containers: [{ $patch: "replace" }, { name: "only", image: "o:1" }] } },
      (o: typeof pod) => o.spec.containers,
      [{ name: "only", image: "o:1" }],
    ],
    [
      "replaces a map with $patch: replace",
      { spec: { volumes: [{ name: "d", emptyDir: { $patch: "replace", medium: "Memory" } }] } },
      (o: typeof pod) => o.spec.volumes,
      [{ name: "d", emptyDir: { medium: "Memory" } }],
    ],
    [
      "merges container ports by containerPort and volumeMounts by mountPath",
      {
        spec: {
          containers: [
            {
              name: "app",
              ports: [{ containerPort: 80, name: "http" }],
              volumeMounts: [{ mountPath: "/cache", name: "c" }],
            },
          ],
        },
      },
      (o: typeof pod) => [o.spec.containers[0]?.ports, o.spec.containers[0]?.volumeMounts],
      [
        [{ containerPort: 80, name: "http" }],
        [
          { mountPath: "/data", name: "d" },
          { mountPath: "/cache", name: "c" },
        ],
      ],
    ],
    [
      "replaces lists without a merge key (tolerations)",
      { spec: { tolerations: [{ key: "y", operator: "Exists" }] } },
      (o: typeof pod) => o.spec.tolerations,
      [{ key: "y", operator: "Exists" }],
    ],
    [
      "merges metadata.finalizers as a set and removes with $deleteFromPrimitiveList",
      { metadata: { finalizers: ["b", "a"], "$deleteFromPrimitiveList/finalizers": ["a"] } },
      (o: typeof pod) => o.metadata.finalizers,
      ["b"],
    ],
    [
      "deletes a field with null and ignores $setElementOrder",
      { spec: { volumes: null, "$setElementOrder/containers": [{ name: "sidecar" }, { name: "app" }] } },
      (o: typeof pod) => [o.spec.volumes, o.spec.containers.map((c) => c.name)],
      [undefined, ["app", "sidecar"]],
    ],
  ])("%s", (_name, patch, pick, expected) => {
    const out = applyStrategicMergePatch(pod, patch, "Pod") as typeof pod;
    expect(pick(out)).toEqual(expected);
  });

  it("merges Service ports by port, not containerPort", () => {
    const svc = {
      spec: {
        ports: [
          { port: 80, targetPort: 8080 },
          { port: 443, targetPort: 8443 },
        ],
      },
    };
    const out = applyStrategicMergePatch(
      svc,
      { spec: { ports: [{ port: 80, targetPort: 9090 }] } },
      "Service",
    ) as typeof svc;
    expect(out.spec.ports).toEqual([
      { port: 80, targetPort: 9090 },
      { port: 443, targetPort: 8443 },
    ]);
  });

  it("refuses an element without its merge key, naming the list", () => {
    expect(() => applyStrategicMergePatch(pod, { spec: { containers: [{ image: "x" }] } }, "Pod")).toThrow(
      'an element of spec.containers has no merge key "name"',
    );
  });
});
