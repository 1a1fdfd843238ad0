/**
 * Every cluster command of the direct (kubeconfig) mode, run as the built binary against `rollway sim` in its own
 * process: the way a user tries rollway.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rollway, rollwayAsync, type SimProcess, startSimProcess, waitForOutput } from "./test-helpers/run-cli.js";

let sim: SimProcess;
beforeAll(async () => {
  sim = await startSimProcess();
});
afterAll(async () => {
  await sim?.stop();
});

const COMPONENTS = ["frontend", "backend-1", "backend-2", "backend-3", "backend-4", "backend-5"];
const run = (args: string[], input?: string) => rollway(args, { env: sim.env, ...(input ? { input } : {}) });

describe("on a fresh simulated cluster", () => {
  it("status shows every component Healthy on 1.0 and no release", () => {
    const r = run(["status"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Environment demo (namespace demo), no release yet");
    expect(r.stdout).toMatch(
      /^backend-1 +Rollout\/backend-1 +Healthy 2\/2 ready, my-registry\/image-for-backend-1:1\.0$/m,
    );
    const json = JSON.parse(run(["status", "--json"]).stdout);
    expect(json.components.map((c: { component: string }) => c.component)).toEqual(COMPONENTS);
    expect(json.release).toBeNull();
  });

  it("doctor finds the CRD, RBAC, the Services, the preview Ingress and sc.production", () => {
    const r = run(["doctor"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok +Argo Rollouts CRD +rollouts\.argoproj\.io \(v[\d.]+\), serves v1alpha1$/m);
    expect(r.stdout).toMatch(/^ok +Services +12 active and preview Services found$/m);
    expect(r.stdout).toMatch(/^ok +Preview Ingress +preview\.demo\.example\.com is routed$/m);
    // An API server without SelfSubjectAccessReview (older kube-sim) gets a warning rather than a failure.
    expect(r.stdout).toMatch(
      /^(ok +RBAC +allowed to patch rollouts, patch deployments, create configmaps|warn +RBAC +could not ask the API server \(SelfSubjectAccessReview\))/m,
    );
  });

  it("plan and deploy --dry-run print the plan and change nothing", () => {
    const plan = run(["plan", sim.payload]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("6 of 6 components change:");
    const dry = run(["deploy", sim.payload, "--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).plan.components[1]).toMatchObject({
      name: "backend-1",
      image: { from: "my-registry/image-for-backend-1:1.0", to: "my-registry/image-for-backend-1:tag" },
    });
    expect(run(["history"]).stdout).toBe("No release yet.\n");
  });

  it("refuses a payload the environment cannot route, with exit code 2 and where", () => {
    const r = run(["deploy", "-", "--dry-run"], '{"frontend": {"image": "r/w:1",}}');
    expect(r.stderr).toMatch(/\(line 1, column 31\): trailing comma before '}'/);
    expect(r.code).toBe(2);
  });

  it("status reads a kubeconfig whose user runs an exec credential plugin (client-node's KubeConfig, loaded for it)", () => {
    const dir = mkdtempSync(join(tmpdir(), "rollway-exec-plugin-"));
    try {
      const ran = join(dir, "ran");
      const plugin = join(dir, "plugin.mjs");
      writeFileSync(
        plugin,
        `import { writeFileSync } from "node:fs";
writeFileSync(${JSON.stringify(ran)}, "");
console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "kube-sim" } }));
`,
      );
      const kubeconfig = join(dir, "config");
      const exec = `exec: { apiVersion: client.authentication.k8s.io/v1, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(plugin)}], interactiveMode: Never }`;
      const text = readFileSync(sim.kubeconfig, "utf8");
      expect(text).toMatch(/token: .*/);
      writeFileSync(kubeconfig, text.replace(/token: .*/, exec));
      const r = rollway(["status", "--json"], { env: { ...sim.env, KUBECONFIG: kubeconfig } });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).components.map((c: { component: string }) => c.component)).toEqual(COMPONENTS);
      expect(existsSync(ran)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names a missing environment and the fix", () => {
    const r = rollway(["status"], { env: { KUBECONFIG: sim.kubeconfig } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "rollway: no environment given; pass --env environment.yaml (or set ROLLWAY_ENV); `rollway sim` prints one to try\n",
    );
  });
});

describe("a release from deploy to rollback", () => {
  let release = "";

  it("deploy waits in preview until `rollway promote` from another process, then every component serves the new image", async () => {
    const deploy = rollwayAsync(["deploy", sim.payload], sim.env);
    const [, id] = await waitForOutput(deploy, /run `rollway promote (\S+)`/);
    release = id as string;
    const waiting = JSON.parse(run(["status", "--json"]).stdout);
    expect(waiting.release).toMatchObject({ id: release, state: "waiting-for-approval" });
    for (const c of waiting.components) expect(c.phase).toBe("Paused");

    const promote = run(["promote", release, "-n", "demo", "--by", "alice"]);
    expect(promote).toMatchObject({ code: 0, stdout: expect.stringContaining(`Promotion of ${release} approved`) });
    const done = await deploy.done;
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`Release ${release} to demo (namespace demo): promoted`);
    expect(done.stdout).toContain("approved (promotion) by alice");
    for (const c of COMPONENTS) expect(done.stdout).toMatch(new RegExp(`component-promoted +${c}: `));

    const after = JSON.parse(run(["status", "--json"]).stdout);
    expect(after.release).toMatchObject({
      id: release,
      state: "promoted",
      previewUrl: "https://preview.demo.example.com/",
    });
    expect(after.components.map((c: { images: { image: string }[] }) => c.images[0]?.image)).toEqual([
      "my-registry/image-for-frontend:tag",
      "my-registry/image-for-backend-1:tag",
      ...Array(4).fill("my-registry/image-for-other-backends:tag"),
    ]);
  });

  it("promote of a finished release is refused with exit code 2", () => {
    const r = run(["promote", release, "-n", "demo"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rollway: .*promoted/);
  });

  it("history lists it; history <id> shows its components", () => {
    expect(run(["history"]).stdout).toMatch(new RegExp(`^${release} +promoted `, "m"));
    const one = run(["history", release, "-n", "demo"]);
    expect(one.stdout).toMatch(
      /^backend-1 +Rollout\/backend-1 +my-registry\/image-for-backend-1:1\.0 +my-registry\/image-for-backend-1:tag$/m,
    );
  });

  it("rollback puts every component back on 1.0 as a new release and marks the old one rolled back", () => {
    const r = run(["rollback", release, "--json"]);
    expect(r.code).toBe(0);
    const done = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
    expect(done.release).toMatchObject({ state: "promoted", rollbackOf: release });
    const history = JSON.parse(run(["history", "--json"]).stdout).releases;
    expect(history.map((h: { state: string }) => h.state)).toEqual(["promoted", "rolled-back"]);
    const status = JSON.parse(run(["status", "--json"]).stdout);
    expect(status.components[1].images[0].image).toBe("my-registry/image-for-backend-1:1.0");
  });

  it("abort from another process brings a release waiting in preview back to stable (exit code 1)", async () => {
    const deploy = rollwayAsync(["deploy", sim.payload], sim.env);
    const [, id] = await waitForOutput(deploy, /run `rollway promote (\S+)`/);
    const abort = run(["abort", id as string, "-n", "demo", "--json"]);
    expect(abort.code).toBe(0);
    const done = await deploy.done;
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/^rollway: .*abort/im);
    const status = JSON.parse(run(["status", "--json"]).stdout);
    expect(status.release).toMatchObject({ id, state: "aborted" });
    for (const c of status.components) expect(c.phase).toBe("Healthy");
  });

  it("undo puts one workload back on its previous revision's template; status --watch follows it", () => {
    const r = run(["undo", "backend-2", "-n", "demo"]);
    expect(r).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^backend-2: back to the template of revision \d+; it now rolls out\.\n$/),
    });
    const watch = run(["status", "--watch", "--timeout", "20"]);
    expect(watch.code).toBe(0);
    expect(watch.stdout).toMatch(
      /^backend-2 +Rollout\/backend-2 +Paused my-registry\/image-for-other-backends:1\.0 → my-registry\/image-for-other-backends:tag, new 2\/2 ready/m,
    );
  });

  it("undo --to-revision of a revision that does not exist says so with exit code 2", () => {
    const r = run(["undo", "backend-3", "-n", "demo", "--to-revision", "99"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rollway: .*revision 99/);
  });

  it("undo of an unknown workload says so with exit code 2", () => {
    const r = run(["undo", "nope", "-n", "demo"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('component "nope" in namespace "demo": no Rollout, Flagger Canary or Deployment');
  });
});

describe("sim", () => {
  it("writes a kubeconfig kubectl can use and the example files", () => {
    const kubectl = spawnSync("kubectl", ["get", "rollouts", "-n", "demo", "-o", "name"], {
      encoding: "utf8",
      env: { ...process.env, KUBECONFIG: sim.kubeconfig },
    });
    expect(kubectl.stdout).toContain("rollout.argoproj.io/backend-5");
    expect(readFileSync(sim.environment, "utf8")).toContain("kind: Environment");
    expect(JSON.parse(readFileSync(sim.payload, "utf8")).frontend.image).toBe("my-registry/image-for-frontend:tag");
  });

  it("--detach hands over once every workload is served: a deploy straight after is not refused as unstable", () => {
    // Slow readiness stands in for a busy machine: the sim used to hand over while the first pods were still
    // starting, and the quick start's `rollway deploy` then failed (exit 1, "environment demo is not stable").
    const started = rollway(["sim", "--detach", "--json", "--ready-delay", "1500"]);
    expect(started.code, started.stderr).toBe(0);
    const detached = JSON.parse(started.stdout) as { kubeconfig: string; environment: string; pid: number };
    const dir = mkdtempSync(join(tmpdir(), "rollway-detach-"));
    try {
      const env = { KUBECONFIG: detached.kubeconfig, ROLLWAY_ENV: detached.environment };
      const payload = join(dir, "right-after-detach.json");
      writeFileSync(
        payload,
        JSON.stringify({
          backends: {
            images: ["my-registry/image-for-other-backends:2.0"],
            deployRules: [{ source: ".*", target: ".*" }],
          },
          noDowntime: { promotionMode: "auto" },
        }),
      );
      const deploy = rollway(["deploy", payload], { env });
      expect(deploy.code, deploy.stderr).toBe(0);
    } finally {
      process.kill(detached.pid, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
