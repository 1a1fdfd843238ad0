import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ReleaseError } from "./errors.js";
import { LIFECYCLE, type LifecycleEvent, lifecycleMarkdown, transition } from "./lifecycle.js";
import { type ReleaseState, TERMINAL_STATES } from "./records.js";

const STATES = Object.keys(LIFECYCLE) as ReleaseState[];
const EVENTS: LifecycleEvent[] = [
  "previews-ready",
  "approved",
  "all-healthy-new",
  "abort-requested",
  "fault",
  "timed-out",
  "restored-after-abort",
  "restored-after-failure",
  "write-refused",
  "rolled-back",
  "taken-over",
];

describe("the release lifecycle table", () => {
  it.each([
    ["applying", "previews-ready", "waiting-for-approval"],
    ["applying", "approved", "promoting"],
    ["waiting-for-approval", "approved", "promoting"],
    ["promoting", "all-healthy-new", "promoted"],
    ["applying", "abort-requested", "aborting"],
    ["waiting-for-approval", "fault", "aborting"],
    ["promoting", "timed-out", "aborting"],
    ["aborting", "restored-after-abort", "aborted"],
    ["aborting", "restored-after-failure", "failed"],
    ["aborting", "write-refused", "failed"],
    ["promoted", "rolled-back", "rolled-back"],
    ["failed", "rolled-back", "rolled-back"],
    ["waiting-for-approval", "taken-over", "waiting-for-approval"],
    ["aborting", "taken-over", "aborting"],
  ] as [ReleaseState, LifecycleEvent, ReleaseState][])("%s × %s → %s", (state, event, next) => {
    expect(transition(state, event).next).toBe(next);
  });

  it.each([
    ["promoted", "fault"],
    ["promoted", "abort-requested"],
    ["aborted", "approved"],
    ["aborting", "approved"],
    ["aborting", "all-healthy-new"],
    ["rolled-back", "rolled-back"],
    ["applying", "all-healthy-new"],
  ] as [ReleaseState, LifecycleEvent][])("refuses %s × %s with INVALID_STATE", (state, event) => {
    const error = (() => {
      try {
        transition(state, event, "r1");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).code).toBe("INVALID_STATE");
    expect((error as ReleaseError).message).toContain(`"r1" is ${state}: "${event}" does not apply`);
  });

  it("lets every running state be aborted, and gets out of aborting only to a terminal state (never aborting for good)", () => {
    for (const state of STATES.filter((s) => !TERMINAL_STATES.includes(s) && s !== "aborting"))
      for (const event of ["abort-requested", "fault", "timed-out"] as const)
        expect(transition(state, event).next).toBe("aborting");
    const exits = EVENTS.flatMap((e) => {
      try {
        return [transition("aborting", e).next];
      } catch {
        return [];
      }
    }).filter((s) => s !== "aborting");
    expect(exits.length).toBeGreaterThan(0);
    for (const s of exits) expect(TERMINAL_STATES).toContain(s);
  });

  it("never leaves promoted for anything but rolled-back (a promoted release is never aborted)", () => {
    for (const event of EVENTS) {
      if (event === "rolled-back") continue;
      expect(() => transition("promoted", event)).toThrow(ReleaseError);
    }
  });

  it("is the table README.md shows", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(lifecycleMarkdown());
  });
});
