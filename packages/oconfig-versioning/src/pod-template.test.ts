import { describe, expect, it } from "vitest";
import { OConfigError } from "./errors.js";
import { referenceConfigMap, referencedConfigMap } from "./pod-template.js";

const template = {
  metadata: { labels: { app: "backend-1" } },
  spec: {
    containers: [
      { name: "sidecar", image: "envoy:1" },
      { name: "app", image: "my-registry/backend:1", volumeMounts: [{ name: "data", mountPath: "/data" }] },
    ],
    volumes: [{ name: "data", emptyDir: {} }],
    terminationGracePeriodSeconds: 30,
  },
};

describe("referenceConfigMap", () => {
  it("mounts the ConfigMap read-only into the named container and keeps everything else", () => {
    const patched = referenceConfigMap(template, { configMapName: "backend-1-oconfig-0123456789", container: "app" });
    expect(patched.spec.volumes).toEqual([
      { name: "data", emptyDir: {} },
      {
        name: "rollway-oconfig",
        configMap: { name: "backend-1-oconfig-0123456789", items: [{ key: "oConfig.json", path: "oConfig.json" }] },
      },
    ]);
    expect(patched.spec.containers[1]?.volumeMounts).toEqual([
      { name: "data", mountPath: "/data" },
      { name: "rollway-oconfig", mountPath: "/etc/rollway/oconfig", readOnly: true },
    ]);
    expect(patched.spec.containers[0]).toEqual(template.spec.containers[0]);
    expect(patched.spec.terminationGracePeriodSeconds).toBe(30);
    expect(patched.metadata).toEqual(template.metadata);
  });

  it("does not modify its input", () => {
    const before = structuredClone(template);
    referenceConfigMap(template, { configMapName: "x", container: "app" });
    expect(template).toEqual(before);
  });

  it("replaces the previous reference instead of adding a second one (next, then rollback)", () => {
    const next = referenceConfigMap(template, {
      configMapName: "b-oconfig-2222222222",
      container: "app",
      mountPath: "/cfg",
    });
    const back = referenceConfigMap(next, {
      configMapName: "b-oconfig-1111111111",
      container: "app",
      mountPath: "/cfg",
    });
    expect(back.spec.volumes.filter((v) => v.name === "rollway-oconfig")).toHaveLength(1);
    expect(back.spec.containers[1]?.volumeMounts?.filter((m) => m.name === "rollway-oconfig")).toEqual([
      { name: "rollway-oconfig", mountPath: "/cfg", readOnly: true },
    ]);
    expect(referencedConfigMap(next)).toBe("b-oconfig-2222222222");
    expect(referencedConfigMap(back)).toBe("b-oconfig-1111111111");
    expect(referencedConfigMap(template)).toBeUndefined();
  });

  it("names the containers there are when the container is wrong", () => {
    expect(() =>
      referenceConfigMap(template, { configMapName: "x", container: "backend", service: "backend-1" }),
    ).toThrow(
      new OConfigError([
        {
          code: "CONTAINER_NOT_FOUND",
          service: "backend-1",
          path: [],
          message:
            'the pod template has no container "backend" (it has "sidecar", "app"); set the component\'s container name',
        },
      ]),
    );
  });
});
