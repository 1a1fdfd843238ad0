/**
 * Issue #13, finding 3's way out, as a user meets it: a `rollway deploy` killed with `kill -9` while it waits for
 * approval leaves a release nobody runs; once its Lease expires (10 s here, by ROLLWAY_LEASE_DURATION_SECONDS; most of this file's
 * time), `rollway recover demo` (the command NOT_RUNNING names) takes it over here. The built binary against
 * `rollway sim` in its own process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frontendPayload, lastJson, leaseExpiry, payloadDir } from "../test-helpers/findings-cluster.js";
import { rollwayAsync, type SimProcess, startSimProcess, waitForOutput } from "../test-helpers/run-cli.js";

let sim: SimProcess;
const files = payloadDir("recover");
beforeAll(async () => {
  sim = await startSimProcess();
});
afterAll(async () => {
  await sim?.stop();
  files.remove();
});

const run = (args: string[]) => rollwayAsync(args, sim.env).done;
const frontendImage = async () =>
  (
    JSON.parse((await run(["status", "--json"])).stdout) as {
      components: { component: string; phase: string; stableImages: { image: string }[] }[];
    }
  ).components.find((c) => c.component === "frontend");

/** A manual deploy of the frontend killed with `kill -9` while it waits for approval, its Lease expired. */
async function orphan(tag: string): Promise<string> {
  // A 10 s Lease instead of the default 30 (ROLLWAY_LEASE_DURATION_SECONDS): the same expiry, sooner.
  const deploy = rollwayAsync(["deploy", files.write(tag, frontendPayload(tag, "manual"))], {
    ...sim.env,
    ROLLWAY_LEASE_DURATION_SECONDS: "10",
  });
  const [, id] = await waitForOutput(deploy, /run `rollway promote (\S+)`/, 60_000);
  deploy.child.kill("SIGKILL");
  await deploy.done;
  await leaseExpiry(sim.url);
  return id as string;
}

describe("rollway recover", () => {
  it("refuses plainly what it cannot do: --server (the server recovers on its own) and another environment's name, exit 2", async () => {
    const server = await run(["recover", "demo", "--server", "http://127.0.0.1:9"]);
    expect(server.code).toBe(2);
    expect(server.stderr).toContain("recover is not available with --server");
    const other = await run(["recover", "prod"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('environment "prod" given, but the environment file');
  });

  it("resumes a release whose deploy was killed to waiting-for-approval; a promote from another process promotes it and recover exits 0 (--json: NDJSON ending in done)", async () => {
    const id = await orphan("resumed");
    const recover = rollwayAsync(["recover", "demo", "--json"], sim.env);
    await waitForOutput(recover, new RegExp(`waiting for approval of promotion.*rollway promote ${id}`), 60_000);

    const promote = await run(["promote", id, "--by", "alice"]);
    expect(promote.code, promote.stderr).toBe(0);

    const done = await recover.done;
    expect(done.code, done.stderr).toBe(0);
    const lines = done.stdout.trim().split("\n");
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lastJson(done)).toMatchObject({ type: "done", ok: true, releases: [{ id, state: "promoted" }] });
    expect(await frontendImage()).toMatchObject({
      phase: "Healthy",
      stableImages: [{ image: "my-registry/image-for-frontend:resumed" }],
    });
  }, 180_000);

  it("--rollback puts every component of a killed release back to what users had, exit 0; then nothing is left to recover, said in one line and no progress rows (--json: one done object)", async () => {
    const id = await orphan("never-approved");
    const recover = await run(["recover", "demo", "--rollback"]);
    expect(recover.code, recover.stderr).toBe(0);
    expect(recover.stdout).toContain(`Recovered ${id}`);
    expect(recover.stdout).toMatch(/aborted/);
    expect(await frontendImage()).toMatchObject({
      phase: "Healthy",
      stableImages: [{ image: "my-registry/image-for-frontend:resumed" }],
    });
    expect(
      (JSON.parse((await run(["history", id, "--json"])).stdout) as { release: { state: string } }).release,
    ).toMatchObject({ state: "aborted" });

    const nothing = await run(["recover", "demo"]);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stdout).toBe(
      'Nothing to recover: every release of "demo" has ended or has a live engine (--wait waits for a Lease still held to expire).\n',
    );
    const nothingJson = await run(["recover", "demo", "--json"]);
    expect(nothingJson.code, nothingJson.stderr).toBe(0);
    expect(
      nothingJson.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([{ type: "done", ok: true, releases: [] }]);
  }, 180_000);
});
