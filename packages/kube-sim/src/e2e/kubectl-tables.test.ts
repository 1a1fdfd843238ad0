// Server-side printing as kubectl v1.32 shows it (#14 item 9): `get events`, `-o wide` columns (the apiserver always
// prints wide; the extra columns have priority 1), and `get -w` (Tables on the watch stream, header printed once).
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import type { ResourceType } from "../resources.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: "web:1"}
        - {name: proxy, image: "envoy:1.30"}
`;

/** A kube-sim on a manual clock holding `deployment` (applied by kubectl), its pods running. */
async function simWithDeployment() {
  const sim = await startKubeSim({ clock: new ManualClock(), readyDelayMs: 0 });
  const applied = await kubectl(sim, ["apply", "-f", "-"], deployment);
  if (applied.code !== 0) {
    await sim.close();
    throw new Error(`kubectl apply: ${applied.stderr}`);
  }
  await sim.settle();
  return sim;
}

const header = (out: string) => (out.split("\n")[0] ?? "").split(/\s{2,}/);

describe("kubectl tables", () => {
  it("get deployments/replicasets -o wide shows CONTAINERS, IMAGES and SELECTOR", async () => {
    await using sim = await simWithDeployment();
    const d = await kubectl(sim, ["get", "deployments", "-o", "wide"]);
    expect(header(d.stdout)).toEqual([
      "NAME",
      "READY",
      "UP-TO-DATE",
      "AVAILABLE",
      "AGE",
      "CONTAINERS",
      "IMAGES",
      "SELECTOR",
    ]);
    expect(d.stdout.split("\n")[1]).toMatch(/^web\s+2\/2\s+2\s+2\s+\S+\s+web,proxy\s+web:1,envoy:1\.30\s+app=web$/);
    const plain = await kubectl(sim, ["get", "deployments"]);
    expect(header(plain.stdout)).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    const rs = await kubectl(sim, ["get", "replicasets", "-o", "wide"]);
    expect(header(rs.stdout)).toEqual([
      "NAME",
      "DESIRED",
      "CURRENT",
      "READY",
      "AGE",
      "CONTAINERS",
      "IMAGES",
      "SELECTOR",
    ]);
    expect(rs.stdout.split("\n")[1]).toMatch(/\sweb,proxy\s+web:1,envoy:1\.30\s+app=web,pod-template-hash=\w+$/);
  });

  it("get pods -o wide shows IP, NODE, NOMINATED NODE and READINESS GATES", async () => {
    await using sim = await simWithDeployment();
    const pods = await kubectl(sim, ["get", "pods", "-o", "wide"]);
    expect(header(pods.stdout)).toEqual([
      "NAME",
      "READY",
      "STATUS",
      "RESTARTS",
      "AGE",
      "IP",
      "NODE",
      "NOMINATED NODE",
      "READINESS GATES",
    ]);
    expect(pods.stdout.split("\n")[1]).toMatch(
      /^web-\w+-\w+\s+2\/2\s+Running\s+0\s+\S+\s+\d+\.\d+\.\d+\.\d+\s+kube-sim-node\s+<none>\s+<none>$/,
    );
  });

  it("get events shows LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (and the wide columns with -o wide)", async () => {
    await using sim = await simWithDeployment();
    const events = await kubectl(sim, ["get", "events"]);
    expect(header(events.stdout)).toEqual(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    expect(events.stdout).toMatch(
      /\n\S+\s+Normal\s+ScalingReplicaSet\s+deployment\/web\s+Scaled up replica set web-\w+ from 0 to 2/,
    );
    const wide = await kubectl(sim, ["get", "events", "-o", "wide"]);
    expect(header(wide.stdout)).toEqual([
      "LAST SEEN",
      "TYPE",
      "REASON",
      "OBJECT",
      "SUBOBJECT",
      "SOURCE",
      "MESSAGE",
      "FIRST SEEN",
      "COUNT",
      "NAME",
    ]);
  });

  it("get -w prints the header once and keeps the columns for watched changes", async () => {
    await using sim = await simWithDeployment();
    const child = spawn("/usr/bin/kubectl", ["get", "deployments", "-w"], {
      env: { ...process.env, KUBECONFIG: sim.kubeconfigPath },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise((resolve) => child.on("close", resolve));
    const deployments = sim.store.types.get("apps", "deployments") as ResourceType;
    // Wait for the listed row, then change the Deployment twice.
    for (let i = 0; i < 200 && !out.includes("web"); i++) await new Promise((r) => setTimeout(r, 25));
    sim.store.patch(deployments, "default", "web", "merge", { metadata: { labels: { x: "1" } } });
    sim.store.patch(deployments, "default", "web", "merge", { metadata: { labels: { x: "2" } } });
    for (let i = 0; i < 200 && out.split("\n").filter(Boolean).length < 4; i++)
      await new Promise((r) => setTimeout(r, 25));
    child.kill();
    await exited;
    const lines = out.split("\n").filter(Boolean);
    expect(lines[0]?.split(/\s{2,}/)).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    expect(lines.slice(1)).toHaveLength(3);
    for (const line of lines.slice(1)) expect(line).toMatch(/^web\s+2\/2\s+2\s+2\s+\S+$/);
  });
});
