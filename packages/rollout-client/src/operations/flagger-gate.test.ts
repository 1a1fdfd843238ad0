import { describe, expect, it } from "vitest";
import { canaryManifest, deploymentManifest, kubeSimResource } from "../test-helpers/kube-sim.js";
import { loadtesterResource } from "../test-helpers/loadtester.js";

describe("Flagger gate decisions", () => {
  it("opens and closes the confirm-promotion gate at the loadtester the Canary names", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const loadtester = await loadtesterResource();
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0"));
    await env.create("Canary", canaryManifest("podinfo", loadtester.url));
    const target = await env.client.target("podinfo");
    expect(target).toMatchObject({
      kind: "Canary",
      strategy: "flaggerBlueGreen",
      workload: { kind: "Deployment", name: "podinfo" },
    });
    await env.client.gate(target, "confirm-promotion", "open");
    expect(loadtester.gates.get("podinfo.shop")).toBe(true);
    await env.client.gate(target, "confirm-promotion", "close");
    expect(loadtester.gates.get("podinfo.shop")).toBe(false);
    expect(loadtester.calls.map((c) => [c.path, c.body])).toEqual([
      ["/gate/open", { name: "podinfo", namespace: "shop" }],
      ["/gate/close", { name: "podinfo", namespace: "shop" }],
    ]);
  });

  it("promote opens the gate the Canary waits at, and abort opens the rollback gate", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const loadtester = await loadtesterResource();
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0"));
    await env.create("Canary", canaryManifest("podinfo", loadtester.url));
    await env.patchStatus("Canary", "podinfo", {
      phase: "WaitingPromotion",
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
    });
    const target = await env.client.target("podinfo");
    await env.client.promote(target);
    expect(loadtester.gates.get("podinfo.shop")).toBe(true);
    await env.client.abort(target);
    expect(loadtester.rollbacks.get("podinfo.shop")).toBe(true);
  });

  it("refuses to promote a Canary that waits at no gate", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const loadtester = await loadtesterResource();
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0"));
    await env.create("Canary", canaryManifest("podinfo", loadtester.url));
    await env.patchStatus("Canary", "podinfo", {
      phase: "Progressing",
      canaryWeight: 10,
      failedChecks: 0,
      iterations: 1,
    });
    await expect(env.client.promote(await env.client.target("podinfo"))).rejects.toMatchObject({
      code: "INVALID",
      message: expect.stringContaining("the Canary is Progressing, not waiting at a gate"),
    });
    expect(loadtester.calls).toEqual([]);
  });

  it("sends credentials in the webhook URL as Basic auth and never shows them", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const loadtester = await loadtesterResource();
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0"));
    const withCredentials = loadtester.url.replace("http://", "http://ci:pa55@");
    await env.create("Canary", canaryManifest("podinfo", withCredentials));
    const target = await env.client.target("podinfo");
    await env.client.gate(target, "rollback", "open");
    expect(loadtester.calls[0]?.authorization).toBe(`Basic ${Buffer.from("ci:pa55").toString("base64")}`);
    const unreachable = canaryManifest("other", "http://ci:pa55@127.0.0.1:1");
    await env.create("Deployment", deploymentManifest("other", "podinfo:6.0"));
    await env.create("Canary", unreachable);
    const error = await env.client.gate(await env.client.target("other"), "rollback", "open").catch((e: Error) => e);
    expect(error).toMatchObject({ code: "UNAVAILABLE" });
    expect(String((error as Error).message)).not.toContain("pa55");
  });

  it("refuses a webhook that is not a loadtester gate", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0"));
    const manifest = canaryManifest("podinfo", "http://gates.example");
    manifest.spec.analysis.webhooks = [
      { name: "promote", type: "confirm-promotion", url: "http://gates.example/approve" },
    ];
    await env.create("Canary", manifest);
    await expect(
      env.client.gate(await env.client.target("podinfo"), "confirm-promotion", "open"),
    ).rejects.toMatchObject({
      code: "INVALID",
      message: expect.stringContaining("is not a flagger-loadtester gate ending in /gate/check"),
    });
    await expect(env.client.gate(await env.client.target("podinfo"), "rollback", "open")).rejects.toMatchObject({
      code: "INVALID",
      message: expect.stringContaining("the Canary has no rollback webhook"),
    });
  });
});
