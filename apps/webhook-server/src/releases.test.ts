// Finding 10 of issue #13: a release run outside the server (the CLI's direct mode, the Action) through
// @rollway/release's runner leaves its event log in the cluster, so the server's event stream replays it and ends.

import { parseDeployPayload } from "@rollway/payload-schema";
import { createReleaseEngine, createReleaseRunner } from "@rollway/release";
import { demoEnvironment } from "@rollway/release/demo";
import { connect } from "@rollway/rollout-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { APPROVE_TOKEN, DEPLOY_TOKEN, readEvents, simServerResource } from "./test-server.js";

const headers = { Authorization: `Bearer ${DEPLOY_TOKEN}` };

/** What `rollway deploy` in direct mode opens (apps/cli/src/direct.ts): one connection, the engine, the runner. */
async function directRunner(kubeconfig: string) {
  const client = await connect({ kubeconfig: { yaml: kubeconfig } });
  onTestFinished(() => client.close());
  return createReleaseRunner({ engine: createReleaseEngine({ client }), api: client.connection });
}

describe("releases run outside the server", () => {
  it("finding 10: a release run by the CLI's direct path, followed on the server's events stream, is replayed and the stream ends with its terminal event", async () => {
    const server = await simServerResource();
    const runner = await directRunner(server.cluster.sim.kubeconfig);
    const environment = demoEnvironment();
    const payload = parseDeployPayload({
      frontend: { image: "my-registry/image-for-frontend:cli-1" },
      noDowntime: { promotionMode: "manual" },
    });
    const started = new Promise<string>((resolve) => {
      const off = runner.subscribe((event) => {
        if (event.type === "waiting-for-approval") {
          off();
          resolve(event.release);
        }
      });
    });
    const running = runner.apply(await runner.plan(payload, environment));
    const id = await started;

    // Followed on the server while it waits; approved through the server; the engine in the "CLI" promotes.
    const stream = readEvents(`${server.base}/releases/${id}/events`, headers);
    const approve = await fetch(`${server.base}/releases/${id}/promote`, {
      method: "POST",
      headers: { Authorization: `Bearer ${APPROVE_TOKEN}` },
    });
    expect(approve.status).toBe(200);
    const record = await running;
    expect(record.state).toBe("promoted");
    const events = await stream; // ends by itself: the log was closed when the run returned
    expect(events.at(-1)).toMatchObject({ event: "upgrade-done", data: { release: id } });
    expect(events.map((e) => e.event)).toEqual(
      expect.arrayContaining(["started", "waiting-for-approval", "approved", "upgrade-done"]),
    );
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1));

    // Read again after the end: the whole log is replayed and the stream ends at once.
    const replay = await readEvents(`${server.base}/releases/${id}/events`, headers);
    expect(replay.map((e) => e.event)).toEqual(events.map((e) => e.event));
    // From a Last-Event-ID: only what follows.
    const resumed = await readEvents(`${server.base}/releases/${id}/events`, { ...headers, "Last-Event-ID": "2" });
    expect(resumed.map((e) => e.id)).toEqual(events.slice(2).map((e) => e.id));
  });

  it("finding 11: the server's events stream follows a release through expired watch history and dropped watches (relists on 410) and ends with it", async () => {
    const server = await simServerResource();
    const res = await fetch(`${server.base}/deploy`, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ frontend: { image: "my-registry/image-for-frontend:gone-1" } }),
    });
    expect(res.status).toBe(200);
    const { releaseId } = (await res.json()) as { releaseId: string };
    let replayed: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => {
      replayed = resolve;
    });
    const stream = readEvents(`${server.base}/releases/${releaseId}/events`, headers, (events) => {
      if (events.some((e) => e.event === "waiting-for-approval")) replayed();
      return false;
    });
    await waiting;
    // The stream now watches the log: its history expires and every open watch is cut.
    server.cluster.sim.faults.expireWatchHistory();
    server.cluster.sim.faults.dropWatches();
    const approve = await fetch(`${server.base}/releases/${releaseId}/promote`, {
      method: "POST",
      headers: { Authorization: `Bearer ${APPROVE_TOKEN}` },
    });
    expect(approve.status).toBe(200);
    const events = await stream;
    expect(events.at(-1)).toMatchObject({ event: "upgrade-done", data: { release: releaseId } });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });
});
