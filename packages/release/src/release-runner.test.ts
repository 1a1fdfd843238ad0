// Finding 10 of issue #13: the lifecycle (event log, delivery claims, recovery) lives in the package, so a release
// run by the CLI or the Action leaves the same traces in the cluster as one run by the server.
import { describe, expect, it } from "vitest";
import type { ReleaseError } from "./errors.js";
import { eventLogName, type StoredEvent } from "./event-log.js";
import type { ReleaseEvent } from "./events.js";
import { digestClaimName } from "./idempotency.js";
import { createReleaseRunner, type RunContext } from "./release-runner.js";
import { BACKENDS_USED as BACKENDS } from "./test-helpers/crashing-engine.js";
import { autoPayload, configMapsPath, eventLog, NS, OLD, releaseSimResource } from "./test-helpers/release-sim.js";

describe("release runner: the lifecycle in the package", () => {
  it("finding 10: a release run through the package leaves its event log in the cluster, and a follower in another process sees it end with the terminal event", async () => {
    const k = await releaseSimResource({ backends: BACKENDS });
    const runner = createReleaseRunner({ engine: k.engine, api: k.api });
    // Another process (a server replica) follows the log: it may start before the log exists.
    const reader = createReleaseRunner({ engine: await k.otherEngine(), api: k.api });
    const log = eventLog();
    const running = runner.apply(await runner.plan(autoPayload("v2"), k.environment), { onEvent: log.onEvent });
    const started = await log.next("started");
    const followed: StoredEvent[] = [];
    let lastDone = false;
    for await (const version of reader.followEvents(NS, started.release, AbortSignal.timeout(20_000))) {
      followed.splice(0, followed.length, ...version.events);
      lastDone = version.done;
    }
    const record = await running;
    expect(record.state).toBe("promoted");
    // The follow ended by itself, on the closed log, whose last event is the terminal one.
    expect(lastDone).toBe(true);
    expect(followed.at(-1)?.type).toBe("upgrade-done");
    expect(followed.map((e) => e.type)).toEqual(log.events.map((e) => e.type));
    expect(followed.map((e) => e.seq)).toEqual(followed.map((_, i) => i + 1));
    const stored = await k.get(`${configMapsPath}/${eventLogName(record.id)}`);
    expect(stored.metadata.labels).toMatchObject({ "rollway.dev/events-of": record.id });
    expect(stored.data.done).toBe("true");
    // The payload's claim lives only while its release runs.
    const claims = await k.get(`${configMapsPath}`);
    expect(claims.items.map((cm: { metadata: { name: string } }) => cm.metadata.name)).not.toContain(
      digestClaimName(NS, "demo", record.payloadDigest),
    );
  });

  it("finding 10: the same payload delivered while its release runs is that release: deploy answers it as a duplicate, apply refuses LOCKED naming it", async () => {
    const k = await releaseSimResource({ backends: BACKENDS });
    const runner = createReleaseRunner({ engine: k.engine, api: k.api });
    const other = createReleaseRunner({ engine: await k.otherEngine(), api: k.api });
    const plan = await runner.plan(autoPayload("v3"), k.environment);
    const manual = { ...plan, promotion: { ...plan.promotion, mode: "manual" as const } };
    const log = eventLog();
    const first = await runner.deploy(manual, { onEvent: log.onEvent });
    expect(first).toMatchObject({ kind: "accepted", duplicate: false });
    const id = (first as { release: string }).release;
    await log.next("waiting-for-approval");

    // Two more deliveries at once, from another process: both are the running release.
    const [a, b] = await Promise.all([other.deploy(manual), other.deploy(manual)]);
    expect(a).toMatchObject({ kind: "accepted", release: id, duplicate: true });
    expect(b).toMatchObject({ kind: "accepted", release: id, duplicate: true });
    const refused = await other.apply(manual).catch((e: ReleaseError) => e);
    expect(refused).toMatchObject({ code: "LOCKED", holder: id });
    expect((refused as ReleaseError).message).toContain(id);

    await runner.promote(id, { by: "alice", namespace: NS });
    expect((await (first as { ended: Promise<{ state: string }> }).ended).state).toBe("promoted");
    // Once it ended, the same payload may be released again (a fresh claim).
    const again = await other.deploy(manual, { onEvent: () => undefined });
    expect(again).toMatchObject({ kind: "accepted", duplicate: false });
    await other.abort((again as { release: string }).release, { by: "alice", namespace: NS });
    await (again as { ended: Promise<unknown> }).ended.catch(() => undefined);
  });

  it("finding 10: an Idempotency-Key is one release, and the key with another payload is refused", async () => {
    const k = await releaseSimResource({ backends: BACKENDS });
    const runner = createReleaseRunner({ engine: k.engine, api: k.api });
    const key = { scope: "shop", environment: "demo", value: "delivery-1" };
    const first = await runner.deploy(await runner.plan(autoPayload("v4"), k.environment), { key });
    expect(first).toMatchObject({ kind: "accepted", duplicate: false });
    const record = await (first as { ended: Promise<{ id: string; state: string }> }).ended;
    expect(record.state).toBe("promoted");
    // Retried after the release ended: still that release.
    const retried = await runner.deploy(await runner.plan(autoPayload("v4"), k.environment), { key });
    expect(retried).toMatchObject({ kind: "accepted", release: record.id, duplicate: true });
    const reused = await runner.deploy(await runner.plan(autoPayload("v5"), k.environment), { key });
    expect(reused.kind).toBe("key-reused");
  });

  it("finding 10 and #16: recovery in the package takes over a rollback whose engine died, closes its log, and tells subscribers it is a rollback", async () => {
    const k = await releaseSimResource({ backends: BACKENDS, leaseDurationSeconds: 1 });
    const runner = createReleaseRunner({ engine: k.engine, api: k.api });
    const promoted = await runner.apply(await runner.plan(autoPayload("v6"), k.environment));
    expect(promoted.state).toBe("promoted");

    // The rollback's engine dies as soon as it started (its connections cut, its Lease never let go).
    const { engine: dying, crash } = await k.proxiedEngine();
    const dyingLog = eventLog();
    const gone = dying
      .rollback(promoted.id, { namespace: NS, by: "alice", onEvent: dyingLog.onEvent })
      .catch(() => undefined);
    const started = await dyingLog.next("started");
    await crash();
    await gone;

    const heard: { event: ReleaseEvent; context: RunContext }[] = [];
    runner.subscribe((event, context) => heard.push({ event, context }));
    const stop = new AbortController();
    const recovered: string[] = [];
    const loop = runner.recoverEvery([{ name: "demo", namespace: NS }], {
      intervalMs: 200,
      signal: stop.signal,
      onRecovered: (r) => {
        recovered.push(`${r.id} ${r.state}`);
        stop.abort();
      },
    });
    await loop;
    expect(recovered).toEqual([`${started.release} promoted`]);
    const done = heard.find((h) => h.event.type === "upgrade-done");
    expect(done).toMatchObject({ event: { release: started.release }, context: { rollbackOf: promoted.id } });
    expect(heard.map((h) => h.event.type)).toContain("taken-over");
    const log = await runner.readEvents(NS, started.release);
    expect(log?.done).toBe(true);
    expect(log?.events.at(-1)?.type).toBe("upgrade-done");
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
  });
});
