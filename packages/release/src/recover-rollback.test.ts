import { EXAMPLE_PAYLOAD_TEXT } from "@rollway/payload-schema";
import { describe, expect, it } from "vitest";
import { BACKENDS_USED, crashingEngine, killed } from "./test-helpers/crashing-engine.js";
import { NS, OLD, releaseSimResource } from "./test-helpers/release-sim.js";

describe("an engine killed mid-release", () => {
  it("is undone by the next engine with the rollback policy: every component back on the old version", async () => {
    const k = await releaseSimResource({ backends: BACKENDS_USED });
    const engine1 = crashingEngine(k.sim.kubeconfigPath, JSON.parse(EXAMPLE_PAYLOAD_TEXT));
    const waiting = await engine1.reached("waiting-for-approval");
    await killed(engine1.child);

    const [record] = await k.engine.recover("demo", { namespace: NS, wait: true, policy: "rollback" });
    expect(record).toMatchObject({ id: waiting.release, state: "aborted" });
    expect(await k.serving("frontend")).toMatchObject({ image: OLD.frontend });
    for (const b of BACKENDS_USED.slice(1)) expect((await k.serving(b)).image).toBe(OLD.other);
    expect((await k.serving("backend-1")).image).toBe(OLD["backend-1"]);
  });
});
