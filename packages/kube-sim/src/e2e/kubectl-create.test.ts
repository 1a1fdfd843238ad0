// `kubectl create deployment|service|job`: client-go's typed clients send protobuf bodies (no JSON fallback), so
// kube-sim decodes Deployment, Service and Job protobuf as the real server does. Compared with what the same
// generator sends as JSON (`--dry-run=client -o json`), so no field is lost or invented on the way.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

type Obj = { metadata: Record<string, unknown>; spec: Record<string, unknown> };

async function createdLikeJson(sim: Parameters<typeof kubectl>[0], args: string[], kind: string, name: string) {
  const local = await kubectl(sim, ["create", "--dry-run=client", "-o", "json", ...args]);
  expect(local.code).toBe(0);
  const viaJson = JSON.parse(local.stdout) as Obj;
  // The generator's JSON carries `creationTimestamp: null` in templates; kube-sim stores built-ins without nulls.
  const template = viaJson.spec.template as { metadata?: Record<string, unknown> } | undefined;
  if (template?.metadata) delete template.metadata.creationTimestamp;
  const created = await kubectl(sim, ["create", ...args]);
  expect(created).toMatchObject({ code: 0, stderr: "" });
  const stored = JSON.parse((await kubectl(sim, ["get", kind, name, "-o", "json"])).stdout) as Obj;
  return { viaJson, stored, stdout: created.stdout };
}

describe("kubectl create with protobuf bodies", () => {
  it("create deployment stores what the generator sent (replicas, selector, template, port)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const { viaJson, stored, stdout } = await createdLikeJson(
      sim,
      ["deployment", "web", "--image=nginx:1.25", "--replicas=3", "--port=8080"],
      "deployment",
      "web",
    );
    expect(stdout).toBe("deployment.apps/web created\n");
    expect(stored.metadata.labels).toEqual(viaJson.metadata.labels);
    expect(stored.spec).toMatchObject(viaJson.spec);
    expect(stored.spec.replicas).toBe(3);
    expect(stored.spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
    });
  });

  it("create deployment --replicas=0 keeps the zero (a pointer field)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const { stored } = await createdLikeJson(
      sim,
      ["deployment", "idle", "--image=x", "--replicas=0"],
      "deployment",
      "idle",
    );
    expect(stored.spec.replicas).toBe(0);
  });

  it("create service clusterip stores ports with a numeric targetPort and allocates a cluster IP", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const { viaJson, stored, stdout } = await createdLikeJson(
      sim,
      ["service", "clusterip", "web", "--tcp=80:8080"],
      "service",
      "web",
    );
    expect(stdout).toBe("service/web created\n");
    expect(stored.spec.ports).toEqual(viaJson.spec.ports);
    expect(stored.spec.selector).toEqual(viaJson.spec.selector);
    expect(stored.spec.type).toBe("ClusterIP");
    expect(stored.spec.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it("create job stores the command and restartPolicy", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const { viaJson, stored, stdout } = await createdLikeJson(
      sim,
      ["job", "migrate", "--image=busybox", "--", "sh", "-c", "echo done"],
      "job",
      "migrate",
    );
    expect(stdout).toBe("job.batch/migrate created\n");
    const template = (o: Obj) => (o.spec.template as { spec: Record<string, unknown> }).spec;
    expect(template(stored)).toMatchObject(template(viaJson));
    expect(template(stored).restartPolicy).toBe("Never");
  });
});
