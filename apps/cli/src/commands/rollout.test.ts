/**
 * `rollway rollout <verb>`: one workload acted on with the plugin's semantics, through the built binary against
 * `rollway sim --detach`; what reaches the cluster is read back with kubectl.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detachedSimForFile } from "../test-helpers/detached-sim.js";
import { rollway } from "../test-helpers/run-cli.js";

const { dir, env } = detachedSimForFile("rollout", ["--ready-delay", "50"]);

const run = (args: string[]) => rollway(args, { env });
const kubectl = (jsonpath: string, name: string) =>
  spawnSync("kubectl", ["-n", "demo", "get", "rollout", name, "-o", `jsonpath=${jsonpath}`], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  }).stdout;
const row = (name: string, until: string) =>
  run(["status", "--until", until, "--timeout", "120"])
    .stdout.split("\n")
    .find((l) => l.startsWith(`${name} `));

describe("rollway rollout", () => {
  it("set-image rolls out to preview; promote serves it; undo leaves it Paused and promote --full brings it back", () => {
    const set = run(["rollout", "set-image", "backend-4", "backend=my-registry/image-for-other-backends:2.0"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^Rollout\/backend-4 image set; it rolls out\n/);
    expect(row("backend-4", "paused")).toMatch(
      /Paused my-registry\/image-for-other-backends:1\.0 → my-registry\/image-for-other-backends:2\.0, new 2\/2 ready \(BlueGreenPause\)$/,
    );

    expect(run(["rollout", "promote", "backend-4"]).stdout).toMatch(/^Rollout\/backend-4 promoted\n/);
    expect(row("backend-4", "healthy")).toMatch(/Healthy 2\/2 ready, my-registry\/image-for-other-backends:2\.0$/);

    expect(run(["rollout", "undo", "backend-4"]).stdout).toMatch(/^Rollout\/backend-4 rolled back\n/);
    expect(row("backend-4", "paused")).toMatch(/Paused .*:2\.0 → .*:1\.0, new 2\/2 ready/);
    const full = run(["rollout", "promote", "backend-4", "--full", "--json"]);
    expect(JSON.parse(full.stdout)).toMatchObject({
      type: "done",
      ok: true,
      verb: "promote",
      workload: "Rollout/backend-4",
    });
    expect(row("backend-4", "healthy")).toMatch(/Healthy 2\/2 ready, my-registry\/image-for-other-backends:1\.0$/);
  }, 180_000);

  it("pause and resume set spec.paused; restart stamps spec.restartAt", () => {
    expect(run(["rollout", "pause", "backend-5"]).stdout).toMatch(
      /^Rollout\/backend-5 paused\n {2}now: Paused .*\(manually paused\)/,
    );
    expect(kubectl("{.spec.paused}", "backend-5")).toBe("true");
    expect(run(["rollout", "resume", "backend-5"]).code).toBe(0);
    expect(kubectl("{.spec.paused}", "backend-5")).toBe("false");
    expect(run(["rollout", "restart", "backend-5"]).stdout).toMatch(/^Rollout\/backend-5 restarting every pod\n/);
    expect(kubectl("{.spec.restartAt}", "backend-5")).toMatch(/^\d{4}-\d\d-\d\dT/);
  }, 120_000);

  it("abort sets status.abort and retry clears it", () => {
    expect(run(["rollout", "set-image", "backend-2", "*=my-registry/image-for-other-backends:3.0"]).code).toBe(0);
    expect(run(["rollout", "abort", "backend-2"]).stdout).toMatch(
      /^Rollout\/backend-2 aborted: traffic back on the stable version\n/,
    );
    expect(kubectl("{.status.abort}", "backend-2")).toBe("true");
    expect(run(["rollout", "retry", "backend-2"]).code).toBe(0);
    expect(kubectl("{.status.abort}", "backend-2")).not.toBe("true");
    // Leave it served, for the tests after this one.
    expect(run(["rollout", "promote", "backend-2", "--full"]).code).toBe(0);
  }, 120_000);

  it("refuses set-image without container=image with exit 2, changing nothing", () => {
    const before = kubectl("{.spec.template.spec.containers[0].image}", "backend-3");
    const r = run(["rollout", "set-image", "backend-3", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'rollway: "nope" is not container=image; e.g. backend=registry.example.com/app:2 or *=registry.example.com/app:2\n',
    );
    expect(kubectl("{.spec.template.spec.containers[0].image}", "backend-3")).toBe(before);
  });

  it("shows a component changed by hand after its release as drifted", () => {
    const payload = join(dir, "auto.json");
    writeFileSync(
      payload,
      JSON.stringify({
        backends: {
          images: ["my-registry/image-for-backend-1:2.0"],
          deployRules: [{ source: ".*", target: "^backend-1$" }],
        },
        noDowntime: { promotionMode: "auto" },
      }),
    );
    expect(run(["deploy", payload]).code).toBe(0);
    expect(run(["rollout", "set-image", "backend-1", "*=my-registry/image-for-backend-1:by-hand"]).code).toBe(0);
    expect(run(["rollout", "promote", "backend-1", "--full"]).code).toBe(0);
    const status = run(["status", "--until", "healthy", "--timeout", "120"]).stdout;
    expect(status).toMatch(
      /^backend-1 +Rollout\/backend-1 +Healthy 2\/2 ready, my-registry\/image-for-backend-1:by-hand\n +↳ drifted from release demo-\S+ \(promoted\): it left my-registry\/image-for-backend-1:2\.0; users are served my-registry\/image-for-backend-1:by-hand$/m,
    );
  }, 180_000);
});
