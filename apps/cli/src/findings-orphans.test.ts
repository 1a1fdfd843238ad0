/**
 * Issue #13, findings 1 and 3, as a user meets them: the built binary against `rollway sim` in its own process, a
 * `rollway deploy` killed with `kill -9` while it waits for approval (a CI runner that died), and what every later
 * command does about the release nobody runs any more. One killed release serves both findings: its Lease (10 s here by
 * ROLLWAY_LEASE_DURATION_SECONDS, 30 by default) has to expire for real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  frontendPayload,
  getObject,
  type LeaseView,
  lastJson,
  leaseExpiry,
  leasePath,
  payloadDir,
} from "./test-helpers/findings-cluster.js";
import { rollwayAsync, type SimProcess, startSimProcess, waitForOutput } from "./test-helpers/run-cli.js";

const APPROVED = {
  frontend: "my-registry/image-for-frontend:1.0",
  "backend-2": "my-registry/image-for-other-backends:1.0",
};
const NEVER_APPROVED = "never-approved";

let sim: SimProcess;
const files = payloadDir("findings-orphans");
beforeAll(async () => {
  sim = await startSimProcess();
});
afterAll(async () => {
  await sim?.stop();
  files.remove();
});

// Never a blocking spawnSync: a long one stalls the test worker's own RPC with vitest.
const run = (args: string[]) => rollwayAsync(args, sim.env).done;

interface Summary {
  id: string;
  state: string;
  approvals: unknown[];
  abortRequested?: unknown;
  engine: string;
  takeovers?: { from: string; by: string }[];
  components: { name: string; from: string; to: string; changed: boolean }[];
}
const record = async (id: string) =>
  (JSON.parse((await run(["history", id, "--json"])).stdout) as { release: Summary }).release;
const serving = async () =>
  Object.fromEntries(
    (
      JSON.parse((await run(["status", "--json"])).stdout) as {
        components: { component: string; phase: string; stableImages: { image: string }[] }[];
      }
    ).components.map((c) => [c.component, { phase: c.phase, image: c.stableImages[0]?.image }]),
  );

describe("a deploy killed with kill -9 while it waits for approval", () => {
  let y = "";
  let yEngine = "";

  it("finding 3: once its Lease expires, promote and abort of the release nobody runs exit non-zero saying so (NOT_RUNNING) and record nothing; a deploy meanwhile is refused naming it, never a DELETE Lease HTTP 400", async () => {
    const deploy = rollwayAsync(
      ["deploy", files.write("y", frontendPayload(NEVER_APPROVED, "manual", { backend2: true }))],
      // A 10 s Lease instead of the default 30 (ROLLWAY_LEASE_DURATION_SECONDS): the same expiry, sooner.
      { ...sim.env, ROLLWAY_LEASE_DURATION_SECONDS: "10" },
    );
    const [, id] = await waitForOutput(deploy, /run `rollway promote (\S+)`/, 60_000);
    y = id as string;
    deploy.child.kill("SIGKILL");
    expect((await deploy.done).code).toBeNull();
    yEngine = (await record(y)).engine;

    // Its Lease still lives: another deploy is refused, naming the release that holds the environment.
    const locked = await run(["deploy", files.write("early", frontendPayload("early", "auto")), "--json"]);
    expect(locked.code).toBe(1);
    expect(lastJson(locked)).toMatchObject({
      ok: false,
      error: { code: "LOCKED", message: expect.stringContaining(`release "${y}"`) },
    });

    const lease = await leaseExpiry(sim.url);
    expect(lease.spec.holderIdentity).toBe(yEngine);

    // As a script sees it (--json: the code), and as a person does (the text, nothing on stdout).
    const promote = await run(["promote", y, "--by", "alice", "--json"]);
    expect(promote.code).not.toBe(0);
    expect(lastJson(promote)).toMatchObject({ ok: false, error: { code: "NOT_RUNNING" } });
    const abort = await run(["abort", y, "--by", "alice"]);
    expect(abort.code).not.toBe(0);
    expect(abort.stdout).toBe("");
    expect(abort.stderr).toContain(`no engine runs release ${y} any more`);
    expect(abort.stderr).toContain("rollway recover");
    expect(abort.stderr).toContain("nothing was decided");
    const untouched = await record(y);
    expect(untouched).toMatchObject({ state: "waiting-for-approval", approvals: [] });
    expect(untouched.abortRequested).toBeUndefined();
  }, 120_000);

  it("finding 1: the next release's from is the approved image, never the killed release's preview, and rollback puts it back", async () => {
    expect(y).not.toBe("");
    const deploy = await run(["deploy", files.write("z", frontendPayload("z", "auto")), "--json"]);
    expect(deploy.code, deploy.stderr).toBe(0);
    const z = (lastJson(deploy) as { release: Summary }).release;
    expect(z.state).toBe("promoted");
    expect(z.components.find((c) => c.name === "frontend")).toMatchObject({
      from: APPROVED.frontend,
      to: "my-registry/image-for-frontend:z",
    });
    expect(JSON.stringify(z.components)).not.toContain(NEVER_APPROVED);
    // The killed release was taken over and aborted, and that is in its record.
    const killed = await record(y);
    expect(killed.state).toBe("aborted");
    expect(killed.takeovers?.[0]).toMatchObject({ from: yEngine });
    expect(await serving()).toMatchObject({
      frontend: { phase: "Healthy", image: "my-registry/image-for-frontend:z" },
      "backend-2": { phase: "Healthy", image: APPROVED["backend-2"] },
    });

    const back = await run(["rollback", z.id, "--json"]);
    expect(back.code, back.stderr).toBe(0);
    expect((lastJson(back) as { release: Summary & { rollbackOf: string } }).release).toMatchObject({
      state: "promoted",
      rollbackOf: z.id,
    });
    const after = await serving();
    expect(after).toMatchObject({
      frontend: { phase: "Healthy", image: APPROVED.frontend },
      "backend-2": { phase: "Healthy", image: APPROVED["backend-2"] },
    });
    expect(JSON.stringify(after)).not.toContain(NEVER_APPROVED);
    expect((await record(z.id)).state).toBe("rolled-back");
  }, 120_000);

  it("finding 3: the Lease is let go after the takeover, not deleted under anyone", async () => {
    const lease = await getObject<LeaseView>(sim.url, leasePath);
    expect(lease.spec.holderIdentity).toBeUndefined();
  });
});
