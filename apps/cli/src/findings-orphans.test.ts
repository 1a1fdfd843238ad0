/**
 * Issue #13, findings 1 and 3, as a user meets them: the built binary against `rollway sim` in its own process, a
 * `rollway deploy` killed with `kill -9` while it waits for approval (a CI runner that died), and what every later
 * command does about the release nobody runs any more. One killed release serves both findings: its Lease (15 s here by
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

  it("finding 3: right after the kill (its Lease still live) promote and abort wait for the engine, then exit non-zero saying nobody runs it (NOT_RUNNING, rollway recover) and leave nothing on the record; a deploy meanwhile is refused naming it, never a DELETE Lease HTTP 400; after the expiry a decision is refused at once", async () => {
    const deploy = rollwayAsync(
      ["deploy", files.write("y", frontendPayload(NEVER_APPROVED, "manual", { backend2: true }))],
      // A 15 s Lease instead of the default 30 (ROLLWAY_LEASE_DURATION_SECONDS): the same expiry, sooner, and still
      // time enough for three CLIs to start while it lives.
      { ...sim.env, ROLLWAY_LEASE_DURATION_SECONDS: "15" },
    );
    const [, id] = await waitForOutput(deploy, /run `rollway promote (\S+)`/, 60_000);
    y = id as string;
    deploy.child.kill("SIGKILL");
    expect((await deploy.done).code).toBeNull();
    const lease = await getObject<LeaseView>(sim.url, leasePath);
    // At once, while the dead engine's Lease still lives: promote as a script sees it (--json: the code), abort as a
    // person does (the text, nothing on stdout), and another deploy, refused naming the release that holds the
    // environment. All three at once: on a loaded machine each CLI takes a while to start.
    const promoting = rollwayAsync(["promote", y, "--by", "alice", "--json"], sim.env).done;
    const aborting = rollwayAsync(["abort", y, "--by", "alice"], sim.env).done;
    const locked = await run(["deploy", files.write("early", frontendPayload("early", "auto")), "--json"]);
    expect(locked.code).toBe(1);
    expect(lastJson(locked)).toMatchObject({
      ok: false,
      error: { code: "LOCKED", message: expect.stringContaining(`release "${y}"`) },
    });
    yEngine = (await record(y)).engine;
    expect(lease.spec.holderIdentity).toBe(yEngine);

    const [promote, abort] = await Promise.all([promoting, aborting]);
    expect(promote.code).toBe(1);
    expect(lastJson(promote)).toMatchObject({ ok: false, error: { code: "NOT_RUNNING" } });
    expect(promote.stderr).toContain(
      JSON.stringify({ type: "waiting-for-acknowledgement", release: y, engine: yEngine }),
    );
    expect(abort.code).toBe(1);
    expect(abort.stdout).toBe("");
    expect(abort.stderr).toContain(`Waiting for the engine of release ${y} (${yEngine}) to acknowledge the abort`);
    expect(abort.stderr).toContain(`no engine runs release ${y} any more`);
    expect(abort.stderr).toContain("rollway recover");
    expect(abort.stderr).toContain("nothing was decided");
    const untouched = await record(y);
    expect(untouched).toMatchObject({ state: "waiting-for-approval", approvals: [] });
    expect(untouched.abortRequested).toBeUndefined();

    // The Lease has expired now: a decision is refused at once, without waiting for anyone.
    await leaseExpiry(sim.url);
    const late = await run(["promote", y, "--by", "alice"]);
    expect(late.code).toBe(1);
    expect(late.stderr).not.toContain("Waiting for");
    expect(late.stderr).toContain("nothing was decided");
    expect((await record(y)).approvals).toEqual([]);
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

  it("finding 3: promote of a live waiting release exits 0 only once the engine running it acknowledged the approval, and says which engine", async () => {
    const deploy = rollwayAsync(["deploy", files.write("w", frontendPayload("w", "manual"))], sim.env);
    const [, id] = await waitForOutput(deploy, /run `rollway promote (\S+)`/, 60_000);
    const w = id as string;
    const engine = (await record(w)).engine;
    const promote = await run(["promote", w, "--by", "alice"]);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toContain(`Promotion of ${w} approved and acknowledged by engine ${engine}`);
    const decided = await record(w);
    expect(decided.approvals).toEqual([
      expect.objectContaining({ gate: "promotion", by: "alice", ackedBy: engine, ackedAt: expect.any(String) }),
    ]);
    const done = await deploy.done;
    expect(done.code, done.stderr).toBe(0);
    expect((await record(w)).state).toBe("promoted");
  }, 120_000);
});
