/**
 * Waiting honestly, through the built binary against `rollway sim` (crash-looping pods for images containing
 * `:crash`, a 3-second progress deadline): `status --watch --until`, `status --timeout` failing on Degraded, and a
 * gate that does not exist refused.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detachedSimForFile } from "./test-helpers/detached-sim.js";
import { rollway, rollwayAsync, waitForOutput } from "./test-helpers/run-cli.js";

const { dir, env } = detachedSimForFile("waiting", [
  "--ready-delay",
  "50",
  "--crash",
  ":crash",
  "--progress-deadline",
  "3",
]);

const run = (args: string[]) => rollway(args, { env });
const manual = (image: string, target: string) => {
  const path = join(dir, `${target}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      backends: { images: [image], deployRules: [{ source: ".*", target: `^${target}$` }] },
      noDowntime: { promotionMode: "manual" },
    }),
  );
  return path;
};

describe("status --watch", () => {
  it("returns once nothing moves without a decision, saying so; --until healthy follows across the promotion", async () => {
    const deploy = rollwayAsync(["deploy", manual("my-registry/image-for-backend-1:2.0", "backend-1")], env);
    const [, id] = await waitForOutput(deploy, /then run `rollway promote (\S+)`/, 60_000);

    const settled = run(["status", "--watch"]);
    expect(settled.code, settled.stderr).toBe(0);
    expect(settled.stdout.split("\n")[0]).toBe(
      "Watching until nothing moves without a decision (Healthy, Paused, Degraded or Aborted; --until to choose).",
    );
    expect(settled.stdout).toMatch(/^backend-1 +Rollout\/backend-1 +Paused /m);

    const healthy = rollwayAsync(["status", "--watch", "--until", "healthy", "--json"], env);
    await waitForOutput(healthy, /"component":"backend-1","phase":"Paused"/, 60_000);
    expect(run(["promote", id as string]).code).toBe(0);
    const done = await healthy.done;
    expect(done.code, done.stderr).toBe(0);
    const last = JSON.parse(done.stdout.trim().split("\n").at(-1) as string);
    expect(last).toMatchObject({ type: "done", ok: true });
    expect(last.components.every((c: { phase: string }) => c.phase === "Healthy")).toBe(true);
    expect((await deploy.done).code).toBe(0);
  }, 180_000);

  it("refuses an --until it does not know with exit 2", () => {
    const r = run(["status", "--watch", "--until", "forever"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("argument 'forever' is invalid. Allowed choices are healthy, paused, done.");
  });
});

describe("status --timeout", () => {
  it("fails with exit 1 naming the Degraded component, stable → new, and why its pods are stuck (CrashLoopBackOff, restarts)", () => {
    const patch = spawnSync(
      "kubectl",
      [
        "-n",
        "demo",
        "patch",
        "rollout",
        "backend-3",
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"my-registry/image-for-other-backends:crash-3"}]',
      ],
      { encoding: "utf8", env: { ...process.env, ...env } },
    );
    expect(patch.status, patch.stderr).toBe(0);
    const r = run(["status", "--timeout", "120"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^rollway: backend-3 \(Rollout\/backend-3\) is Degraded: ProgressDeadlineExceeded: ReplicaSet "backend-3-\w+" has timed out progressing\.; pod backend-3-\w+-\w+: CrashLoopBackOff, \d+ restarts?, last exit 1 \(Error\); event BackOff: Back-off restarting failed container backend in pod backend-3-\w+-\w+_demo\([\w-]+\); pod /,
    );
    // The row says what users are served → what is rolling out, the new version's own ready pods, and why.
    expect(r.stdout).toMatch(
      /^backend-3 +Rollout\/backend-3 +Degraded my-registry\/image-for-other-backends:1\.0 → my-registry\/image-for-other-backends:crash-3, new 0\/2 ready \(ProgressDeadlineExceeded: .*\)\n +↳ drifted from release \S+ \(promoted\): it left my-registry\/image-for-other-backends:1\.0; .*\n +↳ pod backend-3-\w+-\w+: CrashLoopBackOff, \d+ restarts?, last exit 1 \(Error\); event BackOff: .*\n +↳ pod /m,
    );
    expect(run(["undo", "backend-3"]).code).toBe(0);
  }, 180_000);

  it("says in its help that it waits and changes nothing (it does not roll back)", () => {
    const help = run(["status", "--help"]).stdout.replace(/\s+/g, " ");
    expect(help).toContain(
      "wait at most this long (implies --watch; default 600); exit code 3 when it runs out, 1 when a component is Degraded. Changes nothing",
    );
    expect(help).not.toContain("roll back");
  });
});

describe("approve", () => {
  it("refuses a gate that does not exist with exit 2, before anything is recorded", () => {
    const r = run(["approve", "demo-20990101-000000-0000", "--gate", "bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "option '--gate <gate>' argument 'bogus' is invalid. Allowed choices are promotion, code-as-data.",
    );
  });
});
