import { describe, expect, it } from "vitest";
import { type LeaseObject, leaseExpired, leaseManifest, microTime } from "./lock.js";

const T0 = Date.UTC(2026, 10, 27, 11, 0, 0);

describe("the environment Lease", () => {
  it("writes MicroTime with microseconds, as the API server stores it", () => {
    expect(microTime(T0 + 123)).toBe("2026-11-27T11:00:00.123000Z");
  });

  it("names the release it protects and its holder", () => {
    const lease = leaseManifest("demo", "engine-a", "demo-20261127-110000-ab12", 30, T0);
    expect(lease).toMatchObject({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "rollway-release-demo", annotations: { "rollway.dev/release": "demo-20261127-110000-ab12" } },
      spec: {
        holderIdentity: "engine-a",
        leaseDurationSeconds: 30,
        renewTime: "2026-11-27T11:00:00.000000Z",
        leaseTransitions: 0,
      },
    });
  });

  const lease = (spec: LeaseObject["spec"]): LeaseObject => ({ metadata: { name: "rollway-release-demo" }, spec });
  it.each([
    [
      "renewed 10 s ago, lasts 30 s",
      lease({ holderIdentity: "a", leaseDurationSeconds: 30, renewTime: microTime(T0 - 10_000) }),
      false,
    ],
    [
      "renewed exactly 30 s ago",
      lease({ holderIdentity: "a", leaseDurationSeconds: 30, renewTime: microTime(T0 - 30_000) }),
      true,
    ],
    [
      "renewed 31 s ago",
      lease({ holderIdentity: "a", leaseDurationSeconds: 30, renewTime: microTime(T0 - 31_000) }),
      true,
    ],
    [
      "never renewed, acquired 5 s ago",
      lease({ holderIdentity: "a", leaseDurationSeconds: 30, acquireTime: microTime(T0 - 5_000) }),
      false,
    ],
    ["no holder", lease({ leaseDurationSeconds: 30, renewTime: microTime(T0) }), true],
    ["an unreadable time", lease({ holderIdentity: "a", leaseDurationSeconds: 30, renewTime: "yesterday" }), true],
  ])("is expired when %s: %s", (_what, value, expired) => {
    expect(leaseExpired(value, T0)).toBe(expired);
  });
});
