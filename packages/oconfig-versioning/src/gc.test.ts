import { describe, expect, it } from "vitest";
import { planConfigMapGc } from "./gc.js";

const managed = (name: string, creationTimestamp = "2026-01-01T00:00:00Z") => ({
  name,
  creationTimestamp,
  labels: { "app.kubernetes.io/managed-by": "rollway", "rollway.dev/service": name.split("-oconfig-")[0] as string },
});

const releases = [
  { releaseId: "r1", configMaps: ["api-oconfig-a1"] },
  { releaseId: "r2", configMaps: ["api-oconfig-a1", "api-oconfig-a2"] },
  { releaseId: "r3", configMaps: ["api-oconfig-a2", "api-oconfig-a3"] },
  { releaseId: "r4", configMaps: ["api-oconfig-a3"] },
];

describe("planConfigMapGc", () => {
  it("keeps the last N releases' ConfigMaps and deletes older ones", () => {
    const plan = planConfigMapGc({
      existing: ["a0", "a1", "a2", "a3"].map((h) => managed(`api-oconfig-${h}`)),
      releases,
      referenced: [],
      keepReleases: 2,
    });
    expect(plan.keep).toEqual([
      { name: "api-oconfig-a2", reason: "recent-release", release: "r3" },
      { name: "api-oconfig-a3", reason: "recent-release", release: "r4" },
    ]);
    expect(plan.delete).toEqual([
      { name: "api-oconfig-a0", lastRelease: undefined },
      { name: "api-oconfig-a1", lastRelease: "r2" },
    ]);
  });

  it("keeps anything a pod template still references, however old", () => {
    const plan = planConfigMapGc({
      existing: [managed("api-oconfig-a1"), managed("api-oconfig-a3")],
      releases,
      referenced: ["api-oconfig-a1"],
      keepReleases: 1,
    });
    expect(plan.keep.map((k) => [k.name, k.reason])).toEqual([
      ["api-oconfig-a1", "referenced"],
      ["api-oconfig-a3", "recent-release"],
    ]);
    expect(plan.delete).toEqual([]);
  });

  it("keeps a young ConfigMap no release mentions yet (a release being applied)", () => {
    const plan = planConfigMapGc({
      existing: [managed("api-oconfig-new", "2026-06-01T11:55:00Z"), managed("api-oconfig-a0", "2026-06-01T10:00:00Z")],
      releases,
      referenced: [],
      keepReleases: 1,
      now: new Date("2026-06-01T12:00:00Z"),
    });
    expect(plan.keep).toEqual([{ name: "api-oconfig-new", reason: "too-young" }]);
    expect(plan.delete.map((d) => d.name)).toEqual(["api-oconfig-a0"]);
  });

  it("never touches ConfigMaps rollway did not make", () => {
    const plan = planConfigMapGc({
      existing: [{ name: "api-oconfig-a0" }, { name: "other", labels: { "app.kubernetes.io/managed-by": "helm" } }],
      releases: [],
      referenced: [],
      keepReleases: 3,
    });
    expect(plan).toEqual({ keep: [], delete: [] });
  });

  it.each([0, -1, 1.5])("refuses keepReleases %s", (keepReleases) => {
    expect(() => planConfigMapGc({ existing: [], releases: [], referenced: [], keepReleases })).toThrow(
      `keepReleases is ${keepReleases}; keep at least 1 release`,
    );
  });
});
