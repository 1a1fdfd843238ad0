import { describe, expect, it } from "vitest";
import { ManualClock } from "./clock.js";

describe("ManualClock", () => {
  it("fires timers in due order, each at its own time, including timers set by timers", () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    clock.setTimer(300, () => seen.push(`c@${clock.now()}`));
    clock.setTimer(100, () => {
      seen.push(`a@${clock.now()}`);
      clock.setTimer(50, () => seen.push(`b@${clock.now()}`));
    });
    clock.advance(1_000);
    expect(seen).toEqual(["a@100", "b@150", "c@300"]);
    expect(clock.now()).toBe(1_000);
  });

  it("does not fire cancelled timers or timers past the target", () => {
    const clock = new ManualClock(0);
    const seen: number[] = [];
    clock.setTimer(10, () => seen.push(10)).cancel();
    clock.setTimer(20, () => seen.push(20));
    clock.advance(15);
    expect(seen).toEqual([]);
    expect(clock.nextTimerAt()).toBe(20);
  });

  it("refuses to go backwards or by a non-number", () => {
    const clock = new ManualClock(0);
    expect(() => clock.advance(-1)).toThrow("clock.advance needs a finite number of ms >= 0, got -1");
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
  });
});
