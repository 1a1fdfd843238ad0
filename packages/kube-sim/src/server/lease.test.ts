// coordination.k8s.io/v1 Leases as leader election and rollway's release lock use them.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { call, readEvents } from "./test-http.js";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases";

const lease = (holder: string) => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata: { name: "lock" },
  spec: {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: "2026-01-01T00:00:00.000000Z",
    renewTime: "2026-01-01T00:00:00.000000Z",
    leaseTransitions: 0,
  },
});

describe("Leases", () => {
  it("are discovered under coordination.k8s.io/v1 as a namespaced kind without short names or status", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const list = await call(sim.url, "GET", "/apis/coordination.k8s.io/v1");
    expect(list.status).toBe(200);
    expect(list.body.resources).toEqual([
      expect.objectContaining({ name: "leases", namespaced: true, kind: "Lease", singularName: "lease" }),
    ]);
    expect(list.body.resources[0].shortNames).toBeUndefined();
  });

  it("are created, renewed with optimistic concurrency (a stale resourceVersion gets 409 Conflict) and watched", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const created = await call(sim.url, "POST", LEASES, lease("engine-a"));
    expect(created.status).toBe(201);
    expect(created.body.spec.holderIdentity).toBe("engine-a");
    expect(created.body.metadata.generation).toBeUndefined();
    const rv0 = created.body.metadata.resourceVersion as string;
    const events = readEvents(sim.url, `${LEASES}?watch=true&resourceVersion=${rv0}`, 1);

    const renewed = await call(sim.url, "PUT", `${LEASES}/lock`, {
      ...created.body,
      spec: { ...created.body.spec, renewTime: "2026-01-01T00:00:10.000000Z" },
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body.spec.renewTime).toBe("2026-01-01T00:00:10.000000Z");
    expect(renewed.body.metadata.resourceVersion).not.toBe(rv0);

    // A second engine still holding the first version tries to take the lock over.
    const stale = await call(sim.url, "PUT", `${LEASES}/lock`, {
      ...created.body,
      spec: { ...created.body.spec, holderIdentity: "engine-b", leaseTransitions: 1 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Conflict",
      code: 409,
      message:
        'Operation cannot be fulfilled on leases.coordination.k8s.io "lock": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: "lock", group: "coordination.k8s.io", kind: "leases" },
    });

    const [event] = await events;
    expect(event?.type).toBe("MODIFIED");
    expect(event?.object.spec.renewTime).toBe("2026-01-01T00:00:10.000000Z");
    expect((await call(sim.url, "GET", `${LEASES}/lock`)).body.spec.holderIdentity).toBe("engine-a");
  });

  it("refuses a non-positive leaseDurationSeconds and a string leaseTransitions", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const zero = await call(sim.url, "POST", LEASES, { ...lease("a"), spec: { leaseDurationSeconds: 0 } });
    expect(zero.status).toBe(422);
    expect(zero.body.message).toBe(
      'Lease.coordination.k8s.io "lock" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
    );
    const text = await call(sim.url, "POST", LEASES, { ...lease("a"), spec: { leaseTransitions: "1" } });
    expect(text.status).toBe(400);
    expect(text.body.message).toContain("Go struct field Lease.spec.leaseTransitions of type int32");
  });
});
