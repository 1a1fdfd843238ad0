/**
 * `rollway get <workload>` through the built binary against `rollway sim --detach --crash :crash`: the tree of
 * revisions, ReplicaSets with their markers, and pods with status and restarts; `--watch --json` follows changes.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, rollway, rollwayAsync, waitForOutput } from "../test-helpers/run-cli.js";

let env: Record<string, string>;
let simPid = 0;
beforeAll(() => {
  const r = spawnSync(
    process.execPath,
    [bin, "sim", "--detach", "--json", "--ready-delay", "50", "--crash", ":crash"],
    {
      encoding: "utf8",
    },
  );
  const started = JSON.parse(r.stdout) as { kubeconfig: string; environment: string; pid: number };
  simPid = started.pid;
  env = { KUBECONFIG: started.kubeconfig, ROLLWAY_ENV: started.environment };
});
afterAll(() => {
  if (simPid) process.kill(simPid, "SIGTERM");
});

describe("rollway get", () => {
  it("draws revisions, ReplicaSets with stable/active/preview, and crash-looping pods with their restarts", async () => {
    const watch = rollwayAsync(["get", "backend-1", "--watch", "--json"], env);
    await waitForOutput(watch, /"type":"tree"/, 60_000);
    expect(
      rollway(["rollout", "set-image", "backend-1", "*=my-registry/image-for-backend-1:crash-2"], { env }).code,
    ).toBe(0);
    await waitForOutput(watch, /"status":"CrashLoopBackOff","ready":"0\/1","restarts":[1-9]/, 60_000);
    watch.child.kill("SIGINT");
    const done = await watch.done;
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout.trim().split("\n").at(-1) as string)).toEqual({ type: "done", ok: true });

    const r = rollway(["get", "backend-1"], { env });
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    expect(text).toMatch(
      /^Status: +Progressing my-registry\/image-for-backend-1:1\.0 → my-registry\/image-for-backend-1:crash-2, new 0\/2 ready/m,
    );
    expect(text).toMatch(
      /├── revision:2 {2}preview\n│ {3}└── ReplicaSet \S+ {2}ready 0\/2 {2}my-registry\/image-for-backend-1:crash-2\n│ {7}├── Pod \S+ {2}CrashLoopBackOff {2}ready 0\/1 {2}restarts \d+\n/,
    );
    expect(text).toMatch(
      /└── revision:1 {2}stable,active\n {4}└── ReplicaSet \S+ {2}ready 2\/2 {2}my-registry\/image-for-backend-1:1\.0\n {8}├── Pod \S+ {2}Running {2}ready 1\/1 {2}restarts 0\n/,
    );
  }, 180_000);

  it("says so with exit 2 for a workload that does not exist", () => {
    const r = rollway(["get", "no-such-workload"], { env });
    expect(r.code).toBe(2);
  });
});
