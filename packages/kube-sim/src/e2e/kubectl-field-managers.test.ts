// What a real API server refuses on update (#14 item 6), seen through the real kubectl: a Deployment's selector is
// immutable in apps/v1, a rolling update must be able to move, and server-side apply conflicts with the fields
// that non-apply writers (`kubectl scale`, client-side `kubectl apply`, `kubectl edit`) own through managedFields
// entries with operation Update.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

const deployment = (replicas: number, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:1"}]}
${extra}`;

type Entry = { manager: string; operation: string; subresource?: string; fieldsV1: Record<string, unknown> };

async function managers(sim: Parameters<typeof kubectl>[0]): Promise<Entry[]> {
  const got = await kubectl(sim, ["get", "deployment", "web", "-o", "json", "--show-managed-fields"]);
  return JSON.parse(got.stdout).metadata.managedFields;
}

describe("Deployment updates a real server refuses (apps/v1 validation)", () => {
  it("kubectl patch of spec.selector is refused: field is immutable", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment(2))).code).toBe(0);
    const patch = JSON.stringify({
      spec: { selector: { matchLabels: { app: "other" } }, template: { metadata: { labels: { app: "other" } } } },
    });
    const r = await kubectl(sim, ["patch", "deployment", "web", "-p", patch]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'The Deployment "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"other"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable\n',
    );
    const after = JSON.parse((await kubectl(sim, ["get", "deployment", "web", "-o", "json"])).stdout);
    expect(after.spec.selector).toEqual({ matchLabels: { app: "web" } });
  });

  it("kubectl replace with another selector is refused the same way", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment(2))).code).toBe(0);
    const moved = deployment(2).replaceAll("app: web", "app: web2");
    const r = await kubectl(sim, ["replace", "-f", "-"], moved);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    );
  });

  it("maxSurge: 0 with maxUnavailable: 0 is refused with the apiserver's message", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const zero = deployment(
      2,
      "  strategy:\n    type: RollingUpdate\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 0}\n",
    ).replace("spec:\n  replicas", "spec:\n  replicas");
    const r = await kubectl(sim, ["apply", "-f", "-"], zero);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'The Deployment "web" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0',
    );
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment(2))).code).toBe(0);
    const patched = await kubectl(sim, [
      "patch",
      "deployment",
      "web",
      "-p",
      '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":"0%","maxUnavailable":0}}}}',
    ]);
    expect(patched.code).toBe(1);
    expect(patched.stderr).toContain("may not be 0 when `maxSurge` is 0");
  });
});

describe("server-side apply against fields owned by Update managers", () => {
  it("conflicts with client-side kubectl apply's manager on a changed field", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment(2))).code).toBe(0);
    expect((await managers(sim)).map((e) => [e.manager, e.operation])).toEqual([
      ["kubectl-client-side-apply", "Update"],
    ]);
    const r = await kubectl(sim, ["apply", "--server-side", "--field-manager=rollway", "-f", "-"], deployment(3));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
  });

  it("conflicts with kubectl scale, recorded on the scale subresource under kubectl's User-Agent name", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const ssa = ["apply", "--server-side", "--field-manager=rollway", "-f", "-"];
    expect((await kubectl(sim, ssa, deployment(2))).code).toBe(0);
    expect((await kubectl(sim, ["scale", "deployment", "web", "--replicas=5"])).code).toBe(0);
    const entries = await managers(sim);
    expect(entries.map((e) => [e.manager, e.operation, e.subresource])).toEqual([
      ["rollway", "Apply", undefined],
      // kubectl 1.32's scale sends no fieldManager: the apiserver names the manager after the User-Agent.
      ["kubectl", "Update", "scale"],
    ]);
    expect(entries[1]?.fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
    const r = await kubectl(sim, ssa, deployment(2));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
    );
    // The same value as the live one is no conflict; --force-conflicts takes the field back.
    expect((await kubectl(sim, ssa, deployment(5))).code).toBe(0);
    expect((await kubectl(sim, [...ssa.slice(0, -2), "--force-conflicts", "-f", "-"], deployment(2))).code).toBe(0);
    expect((await managers(sim)).map((e) => e.manager)).toEqual(["rollway"]);
  });

  it("conflicts with kubectl edit", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const ssa = ["apply", "--server-side", "--field-manager=rollway", "-f", "-"];
    expect((await kubectl(sim, ssa, deployment(2))).code).toBe(0);
    const edited = await kubectl(sim, ["edit", "deployment", "web"], undefined, {
      KUBE_EDITOR: "sed -i s/replicas:\\ 2/replicas:\\ 4/",
    });
    expect(edited).toMatchObject({ code: 0, stdout: "deployment.apps/web edited\n" });
    const r = await kubectl(sim, ssa, deployment(2));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('conflict with "kubectl-edit" using apps/v1: .spec.replicas');
  });

  it("kubectl apply --server-side after client-side apply, values unchanged, takes the fields over (kubectl's migration writes managedFields)", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    expect((await kubectl(sim, ["apply", "-f", "-"], deployment(2))).code).toBe(0);
    expect((await kubectl(sim, ["apply", "--server-side", "-f", "-"], deployment(2))).code).toBe(0);
    // kubectl moves client-side apply's fields to its own manager (and the annotation to kubectl-last-applied).
    const after = (await managers(sim)).map((e) => [e.manager, e.operation]);
    expect(after).toContainEqual(["kubectl", "Apply"]);
    expect(after).not.toContainEqual(["kubectl-client-side-apply", "Update"]);
    expect((await kubectl(sim, ["apply", "--server-side", "-f", "-"], deployment(3))).code).toBe(0);
  });
});
