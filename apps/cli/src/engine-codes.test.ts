/**
 * The release engine's refusals as the CLI user meets them, through the built binary against `rollway sim`: each with
 * its own message (what happened, the command to run next), its `code` in --json and the exit code the README
 * documents; `rollback --undoing`; `get <release-id>`; `plan`'s unchanged reasons; and what a failed abort left over.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DemoCluster, startDemoCluster } from "@rollway/webhook-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollway, rollwayAsync, type SimProcess, startSimProcess, waitForOutput } from "./test-helpers/run-cli.js";

let sim: SimProcess;
let dir: string;
beforeAll(async () => {
  sim = await startSimProcess();
  dir = join(sim.kubeconfig, "..");
});
afterAll(async () => {
  await sim?.stop();
});

const run = (args: string[]) => rollway(args, { env: sim.env });
const lastLine = (text: string) => JSON.parse(text.trim().split("\n").at(-1) as string);
/** An auto-promoted payload giving backend-3..5 one image. */
function autoPayload(tag: string): string {
  const file = join(dir, `auto-${tag}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      backends: {
        images: [`my-registry/image-for-other-backends:${tag}`],
        deployRules: [{ source: ".*", target: "backend-[345]" }],
      },
      noDowntime: { promotionMode: "auto" },
    }),
  );
  return file;
}
const imageOf = (component: string) =>
  (
    JSON.parse(run(["status", "--json"]).stdout).components as {
      component: string;
      images: { image: string }[];
    }[]
  ).find((c) => c.component === component)?.images[0]?.image;

describe("rollback of an older release", () => {
  let first = "";
  let second = "";

  it("plan says truthfully why a targeted backend is unchanged", () => {
    const deployed = run(["deploy", autoPayload("a"), "--json"]);
    expect(deployed.code, deployed.stderr).toBe(0);
    first = lastLine(deployed.stdout).release.id;
    const plan = run(["plan", autoPayload("a")]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(
      /backend-3[^\n]*\n(?: {4}[^\n]*\n)*? {4}image +my-registry\/image-for-other-backends:a \(unchanged: backends\.deployRules\[0\] gives it the image it already runs: unchanged\)/,
    );
    expect(plan.stdout).toMatch(
      /backend-1[^\n]*\n(?: {4}[^\n]*\n)*? {4}image +my-registry\/image-for-backend-1:1\.0 \(unchanged: no deploy rule targets it: unchanged\)/,
    );
  });

  it("NOT_NEWEST: exit 2 naming the newer release and both ways on; nothing is rolled back", () => {
    const deployed = run(["deploy", autoPayload("b"), "--json"]);
    expect(deployed.code, deployed.stderr).toBe(0);
    second = lastLine(deployed.stdout).release.id;

    const r = run(["rollback", first]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `rollway: nothing was rolled back: ${first} is not the newest promoted release of "demo", ${second} came after it; roll back the newest (\`rollway rollback ${second} -n demo\`), or go further back and undo them too with \`rollway rollback ${first} --undoing ${second} -n demo\`\n`,
    );
    const json = run(["rollback", first, "--json"]);
    expect(json.code).toBe(2);
    expect(lastLine(json.stdout)).toMatchObject({
      type: "done",
      ok: false,
      exitCode: 2,
      error: { code: "NOT_NEWEST" },
    });
    expect(JSON.parse(run(["history", "--json"]).stdout).releases).toHaveLength(2);
    expect(imageOf("backend-3")).toBe("my-registry/image-for-other-backends:b");
  });

  it("rollback --undoing goes further back: what the first release replaced is served again", () => {
    const r = run(["rollback", first, "--undoing", second, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastLine(r.stdout)).toMatchObject({
      type: "done",
      ok: true,
      release: { state: "promoted", rollbackOf: first, undoes: [second] },
    });
    expect(imageOf("backend-3")).toBe("my-registry/image-for-other-backends:1.0");
    const text = run(["history", lastLine(r.stdout).release.id, "-n", "demo"]);
    expect(text.stdout).toContain(`rollback of ${first}, undoing ${second} too`);
  });

  it("get <release-id> draws the release: components from → to, state, approvals, its event log; --json", () => {
    const r = run(["get", first]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `Name:         ${first}\nEnvironment:  demo (namespace demo)\nState:        rolled-back`,
    );
    expect(r.stdout).toMatch(
      /├── components \(from → to\)\n(│ {3}[├└]── .*\n)*│ {3}[├└]── backend-3 +Rollout\/backend-3 +my-registry\/image-for-other-backends:1\.0 → my-registry\/image-for-other-backends:a\n/,
    );
    expect(r.stdout).toMatch(
      /│ {3}[├└]── backend-2 +Rollout\/backend-2 +my-registry\/image-for-other-backends:1\.0 \(unchanged\)\n/,
    );
    expect(r.stdout).toContain("├── approvals\n│   └── none\n");
    // Its event log, kept by the deploy process that ran it, as a server keeps it.
    expect(r.stdout).toMatch(/└── events\n( {4}[├└]── .*\n)* {4}[├└]── \d\d:\d\d:\d\d started +/);
    const json = run(["get", first, "--json"]);
    expect(json.code).toBe(0);
    const done = JSON.parse(json.stdout);
    expect(done).toMatchObject({ type: "done", ok: true, release: { id: first, state: "rolled-back" } });
    expect(done.events).toContainEqual(expect.objectContaining({ type: "started", release: first }));
    expect(done.release.components).toContainEqual({
      name: "backend-3",
      target: "Rollout/backend-3",
      from: "my-registry/image-for-other-backends:1.0",
      to: "my-registry/image-for-other-backends:a",
      changed: true,
    });
  });
});

describe("a release whose engine stopped", () => {
  it("NOT_RUNNING: a decision is refused with exit 1 and the recover command; recover --rollback puts it back", async () => {
    const deploy = rollwayAsync(["deploy", sim.payload], sim.env);
    const [, id] = await waitForOutput(deploy, /run `rollway promote (\S+)`/, 60_000);
    // The engine dies without a word (kill -9), and its Lease runs out (deleted here instead of waiting 30 s).
    deploy.child.kill("SIGKILL");
    await deploy.done;
    const lease = spawnSync(
      "kubectl",
      ["--kubeconfig", sim.kubeconfig, "-n", "demo", "delete", "lease", "rollway-release-demo"],
      { encoding: "utf8" },
    );
    expect(lease.status, lease.stderr).toBe(0);

    const promote = run(["promote", id as string, "--by", "alice"]);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toBe(
      `rollway: nothing was decided: no engine runs release ${id} any more (the process that ran it stopped and its Lease of environment "demo" expired); run \`rollway recover -n demo\` to take it over here (it resumes it; add --rollback to put every component back), then decide again\n`,
    );
    const json = run(["promote", id as string, "--json"]);
    expect(lastLine(json.stdout)).toMatchObject({ ok: false, exitCode: 1, error: { code: "NOT_RUNNING" } });

    const recover = run(["recover", "-n", "demo", "--rollback", "--json"]);
    expect(recover.code, recover.stderr).toBe(0);
    expect(lastLine(recover.stdout)).toMatchObject({ ok: true, releases: [{ id, state: "aborted" }] });
    expect(imageOf("backend-1")).toBe("my-registry/image-for-backend-1:1.0");
    // Nothing left to recover: that one line, no progress rows before it.
    expect(run(["recover"]).stdout).toMatch(/^Nothing to recover[^\n]*\n$/);
  }, 180_000);
});

describe("time runs out", () => {
  it("TIMEOUT: exit 3, rolled back, the code in --json", () => {
    const r = run(["deploy", sim.payload, "--timeout", "2", "--json"]);
    expect(r.code).toBe(3);
    expect(lastLine(r.stdout)).toMatchObject({ ok: false, exitCode: 3, error: { code: "TIMEOUT" } });
    expect(lastLine(r.stdout).error.message).toContain("was rolled back to stable; raise --timeout");
    const status = JSON.parse(run(["status", "--json"]).stdout);
    // Recorded as timed out (a failure), every component back on what it served.
    expect(status.release).toMatchObject({ state: "failed", message: expect.stringMatching(/timed out/) });
    expect(imageOf("frontend")).toBe("my-registry/image-for-frontend:1.0");
  }, 120_000);
});

describe("a component changed by hand", () => {
  it("NOT_STABLE: deploy refuses with exit 1 naming it and how to finish it, changing nothing; done as said, it deploys", () => {
    const set = run(["rollout", "set-image", "backend-3", "*=my-registry/image-for-other-backends:hand"]);
    expect(set.code, set.stderr).toBe(0);
    expect(run(["status", "--watch", "--until", "paused", "--timeout", "60"]).code).toBe(0);
    const r = run(["deploy", autoPayload("c")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^rollway: nothing was changed: environment "demo" is not stable, backend-3 is not settled: Rollout "backend-3" is Paused with another version in preview; see it with `rollway get backend-3 -n demo`, finish it \(`rollway rollout promote backend-3 --full -n demo`\) or wait for it/,
    );
    const json = run(["deploy", autoPayload("c"), "--json"]);
    expect(lastLine(json.stdout)).toMatchObject({ ok: false, exitCode: 1, error: { code: "NOT_STABLE" } });
    expect(imageOf("backend-4")).toBe("my-registry/image-for-other-backends:1.0");

    expect(run(["rollout", "promote", "backend-3", "--full", "-n", "demo"]).code).toBe(0);
    expect(run(["status", "--watch", "--until", "healthy", "--timeout", "60"]).code).toBe(0);
    const again = run(["deploy", autoPayload("c")]);
    expect(again.code, again.stderr).toBe(0);
    expect(imageOf("backend-4")).toBe("my-registry/image-for-other-backends:c");
  }, 180_000);
});

describe("an abort the cluster refuses", () => {
  let cluster: DemoCluster;
  beforeAll(async () => {
    cluster = await startDemoCluster({ readyDelayMs: 50 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("shows what is left over and the command that finishes it, in text and --json; that command finishes it", async () => {
    // The cluster is in this process: every run is async, so it can answer.
    const env = { KUBECONFIG: cluster.sim.kubeconfigPath, ROLLWAY_ENV: cluster.environmentFile };
    const denied = cluster.sim.faults.deny({ verb: "patch", resource: "rollouts", name: "backend-3" });
    const r = await rollwayAsync(["deploy", autoPayload("x")], env).done;
    expect(r.code).toBe(1);
    const id = /release (\S+) failed and the abort could not bring back backend-3/.exec(r.stderr)?.[1] as string;
    expect(r.stderr).toBe(
      `rollway: release ${id} failed and the abort could not bring back backend-3 (the cluster refused the writes); once it accepts them, run \`rollway rollback ${id} -n demo\` to put them back\n`,
    );
    expect(r.stdout).toContain(
      `left over: backend-3 (the abort could not put them back); finish with \`rollway rollback ${id} -n demo\``,
    );
    const json = JSON.parse((await rollwayAsync(["get", id, "--json"], env).done).stdout);
    expect(json.release).toMatchObject({
      state: "failed",
      leftover: ["backend-3"],
      finishWith: `rollway rollback ${id} -n demo`,
    });
    const tree = await rollwayAsync(["get", id], env).done;
    expect(tree.stdout).toContain(`Left over:    backend-3; finish with \`rollway rollback ${id} -n demo\``);

    denied.clear();
    const finish = await rollwayAsync(["rollback", id, "-n", "demo", "--json"], env).done;
    expect(finish.code, finish.stderr).toBe(0);
    expect(lastLine(finish.stdout).release).toMatchObject({ state: "promoted", rollbackOf: id });
  }, 180_000);
});
