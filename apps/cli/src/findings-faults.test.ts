/**
 * Issue #13, findings 7 and 8, through the built binary in direct mode: kube-sim's fault injection (refused writes,
 * RBAC, 429/5xx, expired watch history, a never-ready preview) on the demo cluster in this process, while
 * `rollway deploy` runs the release in its own process. One cluster for the file; every test ends with every
 * component Healthy on one release's images, which the next test starts from.
 */
import { readFileSync } from "node:fs";
import { type DemoCluster, startDemoCluster } from "@rollway/webhook-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getObject, lastJson, payloadDir, withBackend2Secrets } from "./test-helpers/findings-cluster.js";
import { startResettingProxy } from "./test-helpers/findings-proxy.js";
import { rollwayAsync, waitForOutput } from "./test-helpers/run-cli.js";

const COMPONENTS = ["frontend", "backend-1", "backend-2", "backend-3", "backend-4", "backend-5"];
const imageOf = (component: string, tag: string) =>
  component === "frontend"
    ? `my-registry/image-for-frontend:${tag}`
    : component === "backend-1"
      ? `my-registry/image-for-backend-1:${tag}`
      : `my-registry/image-for-other-backends:${tag}`;
/** Every component gets an image with this tag. */
const everything = (tag: string, mode: "auto" | "manual") => ({
  frontend: { image: imageOf("frontend", tag) },
  backends: {
    images: [imageOf("backend-1", tag), imageOf("backend-2", tag)],
    deployRules: [
      { source: "^my-registry/image-for-backend-1:", target: "^backend-1$" },
      { source: "^my-registry/image-for-other-backends:", target: "^(?!backend-1$)" },
    ],
  },
  noDowntime: { promotionMode: mode },
});

let cluster: DemoCluster;
let env: Record<string, string>;
const files = payloadDir("findings-faults");
beforeAll(async () => {
  cluster = await startDemoCluster({ readyDelayMs: 50 });
  env = { KUBECONFIG: cluster.sim.kubeconfigPath, ROLLWAY_ENV: cluster.environmentFile };
}, 60_000);
afterAll(async () => {
  await cluster?.close();
  files.remove();
});

const run = (args: string[]) => rollwayAsync(args, env).done;
const faults = () => cluster.sim.faults;
/** Whether the injected faults matching this request were all used up (by rollway: the test sends nothing else). */
const spent = (match: { verb: string; resource: string; name?: string }) =>
  faults().forRequest({ namespace: "demo", ...match }).error === undefined;

async function serving(): Promise<Record<string, { phase: string; image: string | undefined }>> {
  const status = JSON.parse((await run(["status", "--json"])).stdout) as {
    components: { component: string; phase: string; stableImages: { image: string }[] }[];
  };
  return Object.fromEntries(
    status.components.map((c) => [c.component, { phase: c.phase, image: c.stableImages[0]?.image }]),
  );
}
const allOn = (tag: string) =>
  Object.fromEntries(COMPONENTS.map((c) => [c, { phase: "Healthy", image: imageOf(c, tag) }]));
const record = async (id: string) =>
  (JSON.parse((await run(["history", id, "--json"])).stdout) as { release: { state: string; message?: string } })
    .release;

/** `rollway deploy` of a manual release in the background, once it waits for approval. */
async function waitingDeploy(tag: string, extra: string[] = []) {
  const deploy = rollwayAsync(["deploy", files.write(tag, everything(tag, "manual")), ...extra], env);
  const [, id] = await waitForOutput(deploy, /run `rollway promote (\S+)`/, 60_000);
  return { deploy, id: id as string };
}

describe("finding 7: one refused write never leaves production mixed or a release aborting for good", () => {
  it("finding 7: a single 500 on one backend's promote patch is retried: deploy exits 0 with every component on the new version", async () => {
    expect(await serving()).toEqual(allOn("1.0"));
    const { deploy, id } = await waitingDeploy("a7");
    faults().failRequests({ verb: "patch", resource: "rollouts", name: "backend-4", code: 500, times: 1 });
    expect((await run(["promote", id])).code).toBe(0);
    const done = await deploy.done;
    expect(done.code, done.stderr).toBe(0);
    expect(spent({ verb: "patch", resource: "rollouts", name: "backend-4" })).toBe(true);
    expect(await serving()).toEqual(allOn("a7"));
  }, 120_000);

  it("finding 7: RBAC refusing one backend's writes at promotion: deploy exits 1 naming what is left and `rollway rollback <id>`; every other component is back and Healthy; that command finishes it", async () => {
    const { deploy, id } = await waitingDeploy("b7");
    const denied = [
      faults().deny({ verb: "patch", resource: "rollouts", name: "backend-4" }),
      faults().deny({ verb: "update", resource: "rollouts", name: "backend-4" }),
    ];
    expect((await run(["promote", id])).code).toBe(0);
    const done = await deploy.done;
    expect(done.code).toBe(1);
    expect(done.stderr).toContain("backend-4");
    expect(done.stderr).toContain(`rollway rollback ${id}`);
    const failed = await record(id);
    expect(failed.state).toBe("failed");
    const now = await serving();
    for (const c of COMPONENTS.filter((x) => x !== "backend-4"))
      expect(now[c], c).toEqual({ phase: "Healthy", image: imageOf(c, "a7") });
    expect(now["backend-4"]?.image).toBe(imageOf("backend-4", "a7"));

    for (const d of denied) d.clear();
    const finish = await run(["rollback", id]);
    expect(finish.code, finish.stderr).toBe(0);
    expect(await serving()).toEqual(allOn("a7"));
  }, 120_000);

  it("finding 7: abort of a release that adds an oConfig to a component that had none: it comes back without the volume, Healthy, no preview left waiting", async () => {
    const secretEnvironment = files.writeText(
      "with-oconfig.yaml",
      withBackend2Secrets(readFileSync(cluster.environmentFile, "utf8"), { param: "value" }),
    );
    const before = await getObject<{ spec: { template: { spec: { volumes?: unknown[] } } } }>(
      cluster.sim.url,
      "/apis/argoproj.io/v1alpha1/namespaces/demo/rollouts/backend-2",
    );
    expect(before.spec.template.spec.volumes ?? []).toEqual([]);
    const { deploy, id } = await waitingDeploy("c7", ["--env", secretEnvironment]);
    expect((await run(["abort", id, "--env", secretEnvironment])).code).toBe(0);
    const done = await deploy.done;
    expect(done.code).toBe(1);
    expect((await record(id)).state).toBe("aborted");
    const after = await getObject<{ spec: { template: { spec: { volumes?: unknown[] } } } }>(
      cluster.sim.url,
      "/apis/argoproj.io/v1alpha1/namespaces/demo/rollouts/backend-2",
    );
    expect(after.spec.template.spec.volumes ?? []).toEqual([]);
    expect(await serving()).toEqual(allOn("a7"));
  }, 120_000);
});

describe("finding 8: transient API errors are retried before anything is rolled back", () => {
  it("finding 8: a 429 with Retry-After, a 503 on a read, two 503s on ConfigMap creates and a 500 on a patch: deploy exits 0, promoted", async () => {
    const getRollout = { verb: "get", resource: "rollouts", name: "frontend" };
    faults().failRequests({ ...getRollout, code: 429, times: 1 });
    faults().failRequests({ ...getRollout, code: 503, times: 1 });
    faults().failRequests({ verb: "create", resource: "configmaps", code: 503, times: 2 });
    faults().failRequests({ verb: "patch", resource: "rollouts", name: "backend-1", code: 500, times: 1 });
    const r = await run(["deploy", files.write("d8", everything("d8", "auto")), "--json"]);
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    expect(lastJson(r)).toMatchObject({ ok: true, release: { state: "promoted" } });
    expect(r.stdout).not.toContain('"type":"aborting"');
    expect(spent(getRollout)).toBe(true);
    expect(spent({ verb: "create", resource: "configmaps" })).toBe(true);
    expect(spent({ verb: "patch", resource: "rollouts", name: "backend-1" })).toBe(true);
    expect(await serving()).toEqual(allOn("d8"));
  }, 120_000);

  it("finding 8: two connection resets (read ECONNRESET) on the engine's reads are retried: deploy exits 0, promoted", async () => {
    const proxy = await startResettingProxy(cluster.sim.url);
    try {
      const kubeconfig = files.writeText("proxy-kubeconfig", proxy.kubeconfig(cluster.sim.kubeconfig));
      proxy.resetNext(/^GET \/apis\/argoproj\.io\/v1alpha1\/namespaces\/demo\/rollouts\/[^?\s]+ HTTP/, 2);
      const r = await rollwayAsync(["deploy", files.write("r8", everything("r8", "auto")), "--json"], {
        ...env,
        KUBECONFIG: kubeconfig,
      }).done;
      expect(proxy.resets).toBe(2);
      expect(r.code, r.stdout.slice(-2000)).toBe(0);
      expect(lastJson(r)).toMatchObject({ ok: true, release: { state: "promoted" } });
      expect(await serving()).toEqual(allOn("r8"));
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it("finding 8: an approval given after the watch history expired and every watch was cut is acted on: deploy exits 0", async () => {
    const { deploy, id } = await waitingDeploy("e8");
    faults().expireWatchHistory();
    faults().dropWatches();
    expect((await run(["promote", id])).code).toBe(0);
    const done = await deploy.done;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`Release ${id} to demo (namespace demo): promoted`);
    expect(await serving()).toEqual(allOn("e8"));
  }, 120_000);
});
