import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import { describe, expect, it } from "vitest";
import { BACKENDS_USED, crashingEngine, killed, NEW_OTHER } from "./test-helpers/crashing-engine.js";
import { eventLog, NS, releaseSimResource } from "./test-helpers/release-sim.js";

describe("an engine killed mid-release", () => {
  it("is finished by the next engine: it resumes waiting for the approval, then promotes every component", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const engine1 = crashingEngine(k.sim.kubeconfigPath, JSON.parse(EXAMPLE_PAYLOAD_TEXT));
    const waiting = await engine1.reached("waiting-for-approval");
    await killed(engine1.child);

    const log = eventLog();
    const recovering = k.engine.recover("demo", { namespace: NS, wait: true, onEvent: log.onEvent });
    // A decision is only taken once an engine runs the release again.
    await log.next("waiting-for-approval");
    await k.engine.promote(waiting.release, { by: "alice", namespace: NS });
    const [record] = await recovering;
    expect(record).toMatchObject({ id: waiting.release, state: "promoted", engine: k.engine.identity });
    expect(log.events[0]).toMatchObject({ type: "taken-over", release: waiting.release });
    expect(log.events[1]).toMatchObject({ type: "resumed", release: waiting.release });
    expect(record?.takeovers).toEqual([{ from: "engine-that-crashes", by: k.engine.identity, at: expect.any(String) }]);
    for (const b of BACKENDS_USED.slice(1)) expect((await k.serving(b)).image).toBe(NEW_OTHER);
  });
});
