// End to end with the real kubectl (v1.32 at /usr/bin/kubectl) through the simulator's kubeconfig.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { type KubeSim, startKubeSim } from "../sim.js";

const run = promisify(execFile);
const KUBECTL = process.env.KUBECTL ?? "/usr/bin/kubectl";

async function kubectl(sim: KubeSim, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(KUBECTL, args, {
      env: { ...process.env, KUBECONFIG: sim.kubeconfigPath },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "kube-sim-kubectl-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web:1
        env: [{name: MODE, value: blue}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers: [{name: api, image: api:1}]
  strategy:
    blueGreen: {activeService: api-active, autoPromotionEnabled: false}
`;

describe("kubectl against kube-sim", () => {
  it("applies, reads, patches three ways, waits for a rollout and deletes", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 3_000 });
    using tmp = tempDir();
    const file = join(tmp.dir, "app.yaml");
    writeFileSync(file, manifest);

    const applied = await kubectl(sim, "apply", "-f", file);
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toBe("deployment.apps/web created\nservice/web created\nrollout.argoproj.io/api created\n");
    expect((await kubectl(sim, "apply", "-f", file)).stdout).toBe(
      "deployment.apps/web unchanged\nservice/web unchanged\nrollout.argoproj.io/api unchanged\n",
    );

    const svc = JSON.parse((await kubectl(sim, "get", "service", "web", "-o", "json")).stdout);
    expect(svc.spec.clusterIP).toMatch(/^10\.96\./);
    expect(svc.spec.ports[0]).toEqual({ port: 80, protocol: "TCP", targetPort: 8080 });

    // Wait for the rollout while the clock moves: kubectl watches the Deployment until it is available.
    const status = kubectl(sim, "rollout", "status", "deployment/web", "--timeout=20s");
    await new Promise((r) => setTimeout(r, 300));
    await sim.advance(3_000);
    const done = await status;
    expect(done.code).toBe(0);
    expect(done.stdout).toContain('deployment "web" successfully rolled out');

    // One patch of each type kubectl sends, in turn.
    const patches = {
      strategic: '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"EXTRA","value":"1"}]}]}}}}',
      merge: '{"metadata":{"labels":{"tier":"front"}}}',
      json: '[{"op":"replace","path":"/spec/replicas","value":3}]',
    };
    for (const [type, patch] of Object.entries(patches)) {
      const patched = await kubectl(sim, "patch", "deployment", "web", "--type", type, "-p", patch);
      expect(patched.stdout, type).toBe("deployment.apps/web patched\n");
    }
    const d = JSON.parse((await kubectl(sim, "get", "deployment", "web", "-o", "json")).stdout);
    expect(d.spec.template.spec.containers[0].env).toEqual([
      { name: "MODE", value: "blue" },
      { name: "EXTRA", value: "1" },
    ]);
    expect(d.metadata.labels).toEqual({ tier: "front" });
    expect(d.spec.replicas).toBe(3);
    expect(d.metadata.generation).toBe(3);

    const rollout = JSON.parse((await kubectl(sim, "get", "rollout", "api", "-o", "json")).stdout);
    expect(rollout.spec.strategy.blueGreen.autoPromotionEnabled).toBe(false);

    const table = await kubectl(sim, "get", "deployments");
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);

    const logs = await kubectl(sim, "logs", "deployment/web");
    expect(logs.stdout).toBe("kube-sim: container web started from image web:1 (simulated: no process runs)\n");

    expect((await kubectl(sim, "delete", "deployment", "web")).stdout).toBe('deployment.apps "web" deleted\n');
    const gone = await kubectl(sim, "get", "deployment", "web");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('Error from server (NotFound): deployments.apps "web" not found\n');
    await sim.settle();
    expect((await kubectl(sim, "get", "pods", "-l", "app=web", "-o", "name")).stdout).toBe("");
  });

  it("rolls back with kubectl rollout undo onto the old ReplicaSet, as a real cluster does", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0 });
    using tmp = tempDir();
    const file = join(tmp.dir, "app.yaml");
    writeFileSync(file, manifest.split("---\n")[0] ?? "");
    await kubectl(sim, "apply", "-f", file);
    await sim.settle();
    expect((await kubectl(sim, "set", "image", "deployment/web", "web=web:2")).stdout).toBe(
      "deployment.apps/web image updated\n",
    );
    await sim.settle();
    expect((await kubectl(sim, "rollout", "undo", "deployment/web")).stdout).toBe("deployment.apps/web rolled back\n");
    await sim.settle();
    const list = JSON.parse((await kubectl(sim, "get", "replicasets", "-o", "json")).stdout);
    const byImage = Object.fromEntries(
      list.items.map(
        (rs: {
          spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
          metadata: { annotations: Record<string, string> };
        }) => [
          rs.spec.template.spec.containers[0]?.image,
          [rs.spec.replicas, rs.metadata.annotations["deployment.kubernetes.io/revision"]],
        ],
      ),
    );
    expect(byImage).toEqual({ "web:1": [2, "3"], "web:2": [0, "2"] });
    const history = await kubectl(sim, "rollout", "history", "deployment/web");
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  });

  it("shows the server's validation errors for an invalid custom resource", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    using tmp = tempDir();
    const file = join(tmp.dir, "bad.yaml");
    writeFileSync(
      file,
      manifest
        .split("---\n")[2]
        ?.replace("replicas: 1", "replicas: one")
        .replace("strategy:", "bogus: 1\n  strategy:") ?? "",
    );
    const r = await kubectl(sim, "apply", "-f", file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('strict decoding error: unknown field "spec.bogus"');
  });

  it("accepts the protobuf bodies of kubectl create namespace, configmap and secret, and says which kinds it cannot read", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect((await kubectl(sim, "create", "namespace", "demo")).stdout).toBe("namespace/demo created\n");
    expect((await kubectl(sim, "-n", "demo", "create", "configmap", "cfg", "--from-literal=mode=blue")).stdout).toBe(
      "configmap/cfg created\n",
    );
    expect(
      (await kubectl(sim, "-n", "demo", "create", "secret", "generic", "s", "--from-literal=pw=hunter2")).stdout,
    ).toBe("secret/s created\n");
    expect((await kubectl(sim, "-n", "demo", "get", "configmap", "cfg", "-o", "jsonpath={.data.mode}")).stdout).toBe(
      "blue",
    );
    expect((await kubectl(sim, "-n", "demo", "get", "secret", "s", "-o", "jsonpath={.data.pw}")).stdout).toBe(
      Buffer.from("hunter2").toString("base64"),
    );
    const ns = JSON.parse((await kubectl(sim, "get", "namespace", "demo", "-o", "json")).stdout);
    expect(ns.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "demo" });
    // CronJob protobuf is not decoded (Deployment, Service and Job are: see kubectl-create.test.ts).
    const cronjob = await kubectl(
      sim,
      "-n",
      "demo",
      "create",
      "cronjob",
      "nightly",
      "--image=x",
      "--schedule=0 3 * * *",
    );
    expect(cronjob.code).toBe(1);
    expect(cronjob.stderr).toContain("not batch/v1 CronJob; send JSON instead (kubectl apply -f or kubectl create -f)");
  });

  it("supports describe, diff, scale, wait, label, annotate, get -o yaml and get -w", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0 });
    using tmp = tempDir();
    const file = join(tmp.dir, "app.yaml");
    writeFileSync(file, manifest.split("---\n")[0] ?? "");
    await kubectl(sim, "apply", "-f", file);
    await sim.settle();
    expect((await kubectl(sim, "wait", "--for=condition=Available", "deployment/web", "--timeout=10s")).stdout).toBe(
      "deployment.apps/web condition met\n",
    );
    expect((await kubectl(sim, "scale", "deployment/web", "--replicas=3")).stdout).toBe("deployment.apps/web scaled\n");
    await sim.settle();
    const describe = await kubectl(sim, "describe", "deployment", "web");
    expect(describe.stdout).toMatch(/Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable/);
    expect(describe.stdout).toMatch(/ScalingReplicaSet\s+.*Scaled up replica set web-\w+ from 2 to 3/);
    writeFileSync(file, (manifest.split("---\n")[0] ?? "").replace("web:1", "web:2"));
    const diff = await kubectl(sim, "diff", "-f", file);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain("-        image: web:1\n+        image: web:2");
    expect((await kubectl(sim, "label", "deployment", "web", "tier=front")).stdout).toBe(
      "deployment.apps/web labeled\n",
    );
    expect((await kubectl(sim, "annotate", "deployment", "web", "owner=team-a")).stdout).toBe(
      "deployment.apps/web annotated\n",
    );
    const yaml = (await kubectl(sim, "get", "deployment", "web", "-o", "yaml")).stdout;
    expect(yaml).toContain("    owner: team-a\n");
    expect(yaml).toContain("    tier: front\n");
    const watch = await kubectl(sim, "get", "deployments", "-w", "--request-timeout=1s", "-o", "name");
    expect(watch.stdout.split("\n")[0]).toBe("deployment.apps/web");
  });

  it("works over TLS with the self-signed certificate in the kubeconfig", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [], tls: true });
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await kubectl(sim, "get", "namespaces", "-o", "name");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      "namespace/default\nnamespace/kube-node-lease\nnamespace/kube-public\nnamespace/kube-system\n",
    );
  });
});
