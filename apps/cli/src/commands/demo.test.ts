import { describe, expect, it } from "vitest";
import { rollwayAsync } from "../test-helpers/run-cli.js";

describe("rollway demo", () => {
  it("with no flag (as the README runs it), releases the seed's example on a simulated cluster to preview, promotes it and shows the history", async () => {
    const r = await rollwayAsync(["demo"]).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("6 workloads on version 1.0");
    expect(r.stdout).toMatch(
      /image +my-registry\/image-for-backend-1:1\.0 → my-registry\/image-for-backend-1:tag +\(rule backends\.deployRules\[1\]\)/,
    );
    for (const c of ["frontend", "backend-1", "backend-2", "backend-3", "backend-4", "backend-5"]) {
      // The row says what users are served → what rolls out, and the new version's own ready pods.
      expect(r.stdout).toMatch(
        new RegExp(`^  ${c} +Paused my-registry/\\S+:1\\.0 → my-registry/\\S+:tag, new 2/2 ready`, "m"),
      );
      expect(r.stdout).toMatch(new RegExp(`component-promoted +${c}: .* now serves users`));
    }
    expect(r.stdout).toMatch(/^demo-\d{8}-\d{6}-\w+ +promoted +/m);
    expect(r.stdout).not.toContain("\u001b[");
  });

  it("prints one JSON object per line with --json, ending with the promoted release", async () => {
    const r = await rollwayAsync(["demo", "--json", "--ready-delay", "50"]).done;
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const types = lines.filter((l) => l.type === "event").map((l) => l.event.type);
    expect(types).toEqual(
      expect.arrayContaining(["started", "previews-ready", "waiting-for-approval", "upgrade-done"]),
    );
    expect(lines.find((l) => l.type === "history").releases[0].state).toBe("promoted");
    expect(lines.at(-1)).toMatchObject({ type: "done", ok: true, state: "promoted" });
  });
});
