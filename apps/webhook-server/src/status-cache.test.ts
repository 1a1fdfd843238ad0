// Status reads served from the informer cache (@rollway/release's cacheNamespace), and where a client must read
// fresh: after this replica's own decision, and with `?fresh=1` on any replica. The cache is made stale on purpose:
// kube-sim cuts every watch and holds the re-watch back, so the caches see nothing new for a few seconds.
import { describe, expect, it, vi } from "vitest";
import { APPROVE_TOKEN, DEPLOY_TOKEN, readEvents, replicaResource, simServerResource } from "./test-server.js";

const deployHeaders = { Authorization: `Bearer ${DEPLOY_TOKEN}`, "Content-Type": "application/json" };
const approveHeaders = { Authorization: `Bearer ${APPROVE_TOKEN}` };
const payload = JSON.stringify({ frontend: { image: "my-registry/image-for-frontend:2.0" } });

interface Summary {
  state: string;
  approvals: { by: string }[];
}

async function releaseAt(base: string, id: string, query = ""): Promise<Summary> {
  const res = await fetch(`${base}/releases/${id}${query}`, { headers: deployHeaders });
  expect(res.status).toBe(200);
  return ((await res.json()) as { release: Summary }).release;
}
const stateAt = async (base: string, id: string, query = "") => (await releaseAt(base, id, query)).state;

async function waitingRelease(base: string): Promise<string> {
  const res = await fetch(`${base}/deploy`, { method: "POST", body: payload, headers: deployHeaders });
  expect(res.status).toBe(200);
  const { releaseId } = (await res.json()) as { releaseId: string };
  await readEvents(`${base}/releases/${releaseId}/events`, deployHeaders, (events) =>
    events.some((e) => e.event === "waiting-for-approval"),
  );
  return releaseId;
}

describe("release status from the informer cache", () => {
  it("answers a running release's status and the environment's status without reading the cluster", async () => {
    const server = await simServerResource();
    const id = await waitingRelease(server.base);
    // Any read of release records or workloads in the cluster fails from now on: only the cache can answer.
    for (const resource of ["configmaps", "deployments", "replicasets", "rollouts", "canaries"])
      for (const verb of ["get", "list"]) server.cluster.sim.faults.failRequests({ verb, resource, code: 500 });
    expect(await stateAt(server.base, id)).toBe("waiting-for-approval");
    const env = await fetch(`${server.base}/status`, { headers: deployHeaders });
    expect(env.status).toBe(200);
    const body = (await env.json()) as { release: { id: string }; components: { component: string }[] };
    expect(body.release.id).toBe(id);
    expect(body.components.map((c) => c.component)).toContain("frontend");
    // A consistent read goes to the cluster (which fails here: 502 with the cluster's code).
    const fresh = await fetch(`${server.base}/releases/${id}?fresh=1`, { headers: deployHeaders });
    expect(fresh.status).toBe(502);
    server.cluster.sim.faults.clear();
  });

  it("never answers older than this replica's own decision, even while its cache lags; ?fresh=1 on another replica neither", async () => {
    const server = await simServerResource();
    const other = await replicaResource(server);
    const id = await waitingRelease(server.base);
    expect(await stateAt(other.base, id)).toBe("waiting-for-approval");

    // Every cache falls behind: the watches are cut and their resumption held back for 6 s.
    const held = server.cluster.sim.faults.delayRequests({ verb: "watch", resource: "configmaps", ms: 6000 });
    server.cluster.sim.faults.dropWatches();
    // The promote answers once the engine acknowledged it (its record watch is held back too); meanwhile the
    // approval is in the cluster at once.
    const promoting = fetch(`${server.base}/releases/${id}/promote`, {
      method: "POST",
      headers: { ...approveHeaders, "Content-Type": "application/json" },
      body: JSON.stringify({ by: "cache-test" }),
    });
    const approvedBy = (r: Summary) => r.approvals.map((a) => a.by).filter((by) => by.startsWith("cache-test"));
    // A consistent read on the other replica sees the approval; its cache, read right after, is still behind.
    await vi.waitFor(async () => expect(approvedBy(await releaseAt(other.base, id, "?fresh=1"))).toHaveLength(1), {
      timeout: 5000,
      interval: 50,
    });
    const otherCached = await releaseAt(other.base, id);

    const promoted = await promoting;
    expect(promoted.status).toBe(200);
    const decided = ((await promoted.json()) as { release: Summary }).release;
    expect(approvedBy(decided)).toHaveLength(1);
    // The replica that decided reads its own write, whatever its cache, once the decision is made (acknowledged; a
    // decision in flight may still be taken back, so it is not shown before).
    expect(approvedBy(await releaseAt(server.base, id))).toHaveLength(1);
    held.clear();
    // Shown, not assumed: the other replica's cache really was behind when it was read, so the reads above were
    // made while a stale answer was possible.
    expect(approvedBy(otherCached)).toHaveLength(0);
  });
});
