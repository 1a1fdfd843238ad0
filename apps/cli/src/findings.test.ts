/**
 * Issue #13, findings 5, 6, 9 and a never-ready preview (7), through the built binary in direct mode against the demo cluster (kube-sim in this
 * process, so every command runs in the background: a blocking spawnSync would stop the cluster from answering).
 * One cluster for the file; each test says what it starts from.
 */
import { readFileSync } from "node:fs";
import { type DemoCluster, startDemoCluster } from "@rollway/webhook-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frontendPayload, lastJson, payloadDir, withBackend2Secrets } from "./test-helpers/findings-cluster.js";
import { rollwayAsync } from "./test-helpers/run-cli.js";

const SECRETS = { dbPassword: "db-pa55-never-in-a-record", apiKey: "ak-live-never-in-json" };
const frontend = (tag: string) => `my-registry/image-for-frontend:${tag}`;

let cluster: DemoCluster;
let env: Record<string, string>;
let secretEnvironment: string;
const files = payloadDir("findings");
beforeAll(async () => {
  cluster = await startDemoCluster({ readyDelayMs: 50 });
  env = { KUBECONFIG: cluster.sim.kubeconfigPath, ROLLWAY_ENV: cluster.environmentFile };
  secretEnvironment = files.writeText(
    "secret-environment.yaml",
    withBackend2Secrets(readFileSync(cluster.environmentFile, "utf8"), SECRETS),
  );
}, 60_000);
afterAll(async () => {
  await cluster?.close();
  files.remove();
});

const run = (args: string[]) => rollwayAsync(args, env).done;

interface Summary {
  id: string;
  state: string;
  message?: string;
  components: { name: string; from: string; to: string }[];
}
const record = async (id: string) =>
  (JSON.parse((await run(["history", id, "--json"])).stdout) as { release: Summary }).release;
async function serving(): Promise<Record<string, { phase: string; image: string | undefined }>> {
  const status = JSON.parse((await run(["status", "--json"])).stdout) as {
    components: { component: string; phase: string; stableImages: { image: string }[] }[];
  };
  return Object.fromEntries(
    status.components.map((c) => [c.component, { phase: c.phase, image: c.stableImages[0]?.image }]),
  );
}
async function deployAuto(tag: string): Promise<Summary> {
  const r = await run(["deploy", files.write(tag, frontendPayload(tag, "auto")), "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (lastJson(r) as { release: Summary }).release;
}

describe("issue #13 findings through the binary", () => {
  it("finding 5: rollback of an older release while a newer one is live is refused with NOT_NEWEST naming the newer one, and changes nothing; rollback of the newest puts the older one back", async () => {
    const v3 = await deployAuto("v3");
    const v4 = await deployAuto("v4");
    expect((await serving()).frontend).toEqual({ phase: "Healthy", image: frontend("v4") });

    const refused = await run(["rollback", v3.id, "--json"]);
    expect(refused.code).not.toBe(0);
    const done = lastJson(refused) as { ok: boolean; error: { code: string; message: string } };
    expect(done).toMatchObject({ ok: false, error: { code: "NOT_NEWEST" } });
    expect(done.error.message).toContain(v4.id);
    expect((await serving()).frontend).toEqual({ phase: "Healthy", image: frontend("v4") });
    expect((await record(v4.id)).state).toBe("promoted");
    expect((await record(v3.id)).state).toBe("promoted");

    const back = await run(["rollback", v4.id, "--json"]);
    expect(back.code, back.stderr).toBe(0);
    expect((await serving()).frontend).toEqual({ phase: "Healthy", image: frontend("v3") });
    expect((await record(v4.id)).state).toBe("rolled-back");
    expect((await record(v3.id)).state).toBe("promoted");
  }, 120_000);

  it("finding 6: deploy --timeout records a timeout (not a cancellation), exits 3 only once every component is back and Healthy", async () => {
    const before = await serving();
    const r = await run([
      "deploy",
      files.write("t6", frontendPayload("t6", "manual", { backend2: true })),
      "--timeout",
      "3",
      "--json",
    ]);
    expect(r.code).toBe(3);
    const done = lastJson(r) as { ok: boolean; error: { message: string } };
    expect(done.ok).toBe(false);
    expect(done.error.message).toMatch(/did not finish within --timeout 3 s and was rolled back to stable/);
    const id = /"release":"(demo-[^"]+)"/.exec(r.stdout)?.[1] as string;
    expect(id, r.stdout).toBeDefined();
    const timedOut = await record(id);
    expect(timedOut.state).toBe("failed");
    expect(timedOut.message).toMatch(/^timed out/);
    expect(timedOut.message).not.toMatch(/cancel/);
    expect(await serving()).toEqual(before);
  }, 120_000);

  it("finding 9: plan --json, deploy --json, history --json and the record ConfigMaps hold no oConfig secret; the oConfig ConfigMap does", async () => {
    const payload = files.write("s9", frontendPayload("s9", "auto", { backend2: true }));
    const plan = await run(["plan", payload, "--env", secretEnvironment, "--json"]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("backend-2");
    const text = await run(["plan", payload, "--env", secretEnvironment]);
    const deploy = await run(["deploy", payload, "--env", secretEnvironment, "--json"]);
    expect(deploy.code, deploy.stderr).toBe(0);
    const id = (lastJson(deploy) as { release: Summary }).release.id;
    const history = await run(["history", "--json", "--env", secretEnvironment]);
    const one = await run(["history", id, "--json", "--env", secretEnvironment]);
    const records = await (
      await fetch(`${cluster.sim.url}/api/v1/namespaces/demo/configmaps?labelSelector=rollway.dev/release`)
    ).text();
    expect(records).toContain(id);
    const outputs = { plan, text, deploy, history, one };
    for (const secret of Object.values(SECRETS)) {
      for (const [where, r] of Object.entries(outputs)) expect(r.stdout + r.stderr, where).not.toContain(secret);
      expect(records, "record ConfigMaps").not.toContain(secret);
    }
    const configs = await (await fetch(`${cluster.sim.url}/api/v1/namespaces/demo/configmaps`)).text();
    expect(configs).toContain(SECRETS.apiKey);
  }, 120_000);

  it("finding 7: a preview that never becomes ready: the release ends failed (never aborting), deploy exits 1, every component Healthy on what it served before", async () => {
    const before = await serving();
    const environment = readFileSync(cluster.environmentFile, "utf8");
    expect(environment).toContain("readyTimeoutSeconds: 300");
    const quick = files.writeText(
      "quick.yaml",
      environment.replace("readyTimeoutSeconds: 300", "readyTimeoutSeconds: 3"),
    );
    const never = cluster.sim.faults.neverReady({ image: "image-for-frontend:never-ready" });
    const r = await run([
      "deploy",
      files.write("f7", { frontend: { image: frontend("never-ready") } }),
      "--env",
      quick,
      "--json",
    ]);
    never.clear();
    expect(r.code).toBe(1);
    const id = /"release":"(demo-[^"]+)"/.exec(r.stdout)?.[1] as string;
    expect((await record(id)).state).toBe("failed");
    expect(await serving()).toEqual(before);
  }, 120_000);
});
