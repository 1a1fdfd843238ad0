// Field sets and paths of server-side apply, as the real server writes and prints them.
import { describe, expect, it } from "vitest";
import { fieldSetOf, leaves, type ManagedFieldsEntry, printPath, recordUpdate, serverSideApply } from "./apply.js";

describe("fieldSetOf", () => {
  it.each([
    [
      "a Service's ports by port, finalizers as a set",
      "Service",
      {
        metadata: { name: "s", finalizers: ["a/b"] },
        spec: { ports: [{ port: 80, targetPort: 8080 }] },
      },
      {
        "f:metadata": { "f:finalizers": { 'v:"a/b"': {} } },
        "f:spec": { "f:ports": { 'k:{"port":80}': { ".": {}, "f:port": {}, "f:targetPort": {} } } },
      },
    ],
    [
      "container ports by containerPort, atomic args",
      "Pod",
      { spec: { containers: [{ name: "a", args: ["x"], ports: [{ containerPort: 8080 }] }] } },
      {
        "f:spec": {
          "f:containers": {
            'k:{"name":"a"}': {
              ".": {},
              "f:name": {},
              "f:args": {},
              "f:ports": { 'k:{"containerPort":8080}': { ".": {}, "f:containerPort": {} } },
            },
          },
        },
      },
    ],
    [
      "nothing for apiVersion, kind, name or status",
      "ConfigMap",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, status: { x: 1 } },
      {},
    ],
  ])("records %s", (_, kind, config, expected) => {
    expect(fieldSetOf(config, kind, false)).toEqual(expected);
  });

  it("treats every list of a custom resource as atomic", () => {
    expect(fieldSetOf({ spec: { steps: [{ setWeight: 1 }] } }, "Rollout", true)).toEqual({
      "f:spec": { "f:steps": {} },
    });
  });
});

describe("printPath", () => {
  it.each([
    [["f:spec", "f:replicas"], ".spec.replicas"],
    [["f:spec", "f:containers", 'k:{"name":"web"}', "f:image"], '.spec.containers[name="web"].image'],
    [["f:spec", "f:ports", 'k:{"port":80}', "."], ".spec.ports[port=80]"],
    [["f:metadata", "f:finalizers", 'v:"a/b"'], '.metadata.finalizers[="a/b"]'],
  ])("prints %j as %s", (path, printed) => {
    expect(printPath(path)).toBe(printed);
  });
});

describe("recordUpdate (operation Update entries)", () => {
  const base = { manager: "edit", apiVersion: "v1", time: "t", kind: "ConfigMap", custom: false };
  it("gives a writer the fields it set or changed and takes them from the managers that had them", () => {
    const applied: ManagedFieldsEntry = {
      manager: "ssa",
      operation: "Apply",
      apiVersion: "v1",
      time: "t0",
      fieldsType: "FieldsV1",
      fieldsV1: { "f:data": { "f:x": {}, "f:y": {} } },
    };
    const live = { metadata: { name: "c" }, data: { x: "1", y: "1" } };
    const next = { metadata: { name: "c" }, data: { x: "2", y: "1", z: "3" } };
    const out = recordUpdate({ ...base, live, next, entries: [applied] });
    expect(out.map((e) => [e.manager, e.operation, leaves(e.fieldsV1)])).toEqual([
      ["ssa", "Apply", [["f:data", "f:y"]]],
      [
        "edit",
        "Update",
        [
          ["f:data", "."],
          ["f:data", "f:x"],
          ["f:data", "f:z"],
        ],
      ],
    ]);
    // Nothing changed: nothing recorded.
    expect(recordUpdate({ ...base, live: next, next, entries: out })).toBe(out);
  });
});

describe("serverSideApply", () => {
  const live = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "c",
      managedFields: [
        {
          manager: "a",
          operation: "Apply" as const,
          apiVersion: "v1",
          time: "2026-01-01T00:00:00Z",
          fieldsType: "FieldsV1" as const,
          fieldsV1: { "f:data": { ".": {}, "f:x": {} } },
        },
      ],
    },
    data: { x: "1" },
  };
  const input = { manager: "b", kind: "ConfigMap", custom: false, apiVersion: "v1", time: "2026-01-02T00:00:00Z" };

  it("shares a field two managers apply with the same value, without conflict", () => {
    const out = serverSideApply({ ...input, live, applied: { data: { x: "1" } }, force: false });
    expect(out.ok).toBe(true);
    if (out.ok) expect(out.managedFields.map((e) => e.manager)).toEqual(["a", "b"]);
  });

  it("reports a changed field owned by another manager, and with force drops that manager's now-empty entry", () => {
    const refused = serverSideApply({ ...input, live, applied: { data: { x: "2" } }, force: false });
    expect(refused).toEqual({
      ok: false,
      conflicts: [{ manager: "a", printed: '"a"', identifier: '{"manager":"a","operation":"Apply"}', path: ".data.x" }],
    });
    const forced = serverSideApply({ ...input, live, applied: { data: { x: "2" } }, force: true });
    expect(forced.ok && forced.object.data).toEqual({ x: "2" });
    expect(forced.ok && forced.managedFields.map((e) => [e.manager, leaves(e.fieldsV1)])).toEqual([
      ["a", [["f:data", "."]]],
      [
        "b",
        [
          ["f:data", "."],
          ["f:data", "f:x"],
        ],
      ],
    ]);
  });
});
