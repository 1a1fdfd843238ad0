import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseEnvironment, type ReleaseEvent } from "@rollway/release";
import { describe, expect, it } from "vitest";
import { KubeEventWriter, reasonOf, workloadsOf } from "./kube-events.js";
import { clusterResource, NS } from "./test-resources.js";

const run = promisify(execFile);
const RELEASE = "shop-20261206-101500-ab12";
const event = (type: ReleaseEvent["type"], message: string, component?: string): ReleaseEvent => ({
  type,
  release: RELEASE,
  environment: "prod",
  at: "2026-12-06T10:15:00.000Z",
  message,
  ...(component ? { component } : {}),
});

describe("Kubernetes Events", () => {
  it("names each step's reason in UpperCamelCase", () => {
    expect(
      ["started", "preview-ready", "waiting-for-approval", "upgrade-done", "failed"].map((t) => reasonOf(t)),
    ).toEqual(["ReleaseStarted", "PreviewReady", "WaitingForApproval", "UpgradeDone", "Failed"]);
  });

  it("writes an Event per release step on the component's workload, which kubectl get events shows", async () => {
    const cluster = await clusterResource();
    const env = parseEnvironment({
      apiVersion: "rollway.dev/v1alpha1",
      kind: "Environment",
      name: "prod",
      namespace: NS,
      host: "shop.example.com",
      frontend: {
        workload: { kind: "Rollout", name: "web" },
        container: "web",
        strategy: { type: "blueGreen", activeService: "web", previewService: "web-preview" },
      },
      backends: {
        api: {
          workload: { kind: "Deployment", name: "api" },
          container: "api",
          strategy: { type: "rolling" },
        },
      },
    });
    const writer = new KubeEventWriter({
      api: cluster.api,
      namespace: NS,
      instance: "replica-a",
      workloads: workloadsOf(env),
    });
    writer.write(event("started", "release to prod: 2 component(s) change"));
    writer.write(event("preview-ready", "web: shop/web:2.0 ready in preview", "frontend"));
    writer.write(event("failed", "api: ImagePullBackOff", "api"));
    // A replayed step is the same Event, not a second one.
    writer.write(event("failed", "api: ImagePullBackOff", "api"));
    await writer.flushed();

    const env2 = { ...process.env, KUBECONFIG: cluster.kubeconfigPath };
    const { stdout } = await run("kubectl", ["get", "events", "-n", NS, "-o", "json"], { env: env2 });
    const items = (JSON.parse(stdout) as { items: Record<string, unknown>[] }).items;
    const seen = items.map((e) => {
      const o = (e.involvedObject ?? e.regarding) as { kind: string; name: string };
      return `${o.kind}/${o.name} ${e.reason} ${e.type}`;
    });
    expect(seen.sort()).toEqual(
      [
        "Rollout/web ReleaseStarted Normal",
        "Deployment/api ReleaseStarted Normal",
        "Rollout/web PreviewReady Normal",
        "Deployment/api Failed Warning",
      ].sort(),
    );
    for (const e of items) expect(String(e.message ?? e.note)).toContain(`release ${RELEASE}: `);
    // What a person reads (kube-sim prints no server-side table for Events yet, so the columns are kubectl's own).
    const table = await run(
      "kubectl",
      [
        "get",
        "events",
        "-n",
        NS,
        "-o",
        "custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message",
      ],
      { env: env2 },
    );
    expect(table.stdout).toMatch(/Warning\s+Failed\s+api\s+release shop-20261206-101500-ab12: api: ImagePullBackOff/);
  });
});
