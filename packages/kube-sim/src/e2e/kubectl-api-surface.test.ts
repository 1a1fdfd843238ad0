// API surface kubectl and client libraries expect from a real cluster (#14 item 9), with the real kubectl v1.32.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { call } from "../server/test-http.js";
import { startKubeSim } from "../sim.js";
import { kubectl } from "./run-kubectl.js";

describe("/openapi/v2 and kinds that are not installed", () => {
  it("kubectl apply of a file with one uninstalled kind applies the rest and reports no matches for kind", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const file = `apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
`;
    const r = await kubectl(sim, ["apply", "-f", "-"], file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("configmap/a created\nconfigmap/b created\n");
    expect(r.stderr).toBe(
      'error: resource mapping not found for name: "w" namespace: "" from "STDIN": no matches for kind "Widget" in version "example.com/v1"\nensure CRDs are installed first\n',
    );
  });

  it("serves /openapi/v2 as JSON to clients that ask for JSON", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const r = await call(sim.url, "GET", "/openapi/v2");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ swagger: "2.0", info: { title: "Kubernetes" } });
  });
});

describe("RBAC kinds (rbac.authorization.k8s.io/v1)", () => {
  it("stores Role, ClusterRole, RoleBinding and ClusterRoleBinding applied with kubectl", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    // The shape of Flagger's kustomize/base/flagger/rbac.yaml (ClusterRole + ClusterRoleBinding), plus a Role pair.
    const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: flagger, labels: {app: flagger}}
rules:
  - apiGroups: [""]
    resources: [events, configmaps, secrets, services]
    verbs: [get, list, watch, create, update, patch, delete]
  - nonResourceURLs: [/version]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: flagger}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: flagger}
subjects: [{kind: ServiceAccount, name: flagger, namespace: default}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}]
`;
    const r = await kubectl(sim, ["apply", "-f", "-"], rbac);
    expect(r).toMatchObject({
      code: 0,
      stdout:
        "clusterrole.rbac.authorization.k8s.io/flagger created\nclusterrolebinding.rbac.authorization.k8s.io/flagger created\nrole.rbac.authorization.k8s.io/reader created\nrolebinding.rbac.authorization.k8s.io/reader created\n",
    });
    const role = JSON.parse((await kubectl(sim, ["get", "clusterrole", "flagger", "-o", "json"])).stdout);
    expect(role.rules[1]).toEqual({ nonResourceURLs: ["/version"], verbs: ["get"] });
    const names = await kubectl(sim, ["get", "roles,rolebindings", "-o", "name"]);
    expect(names.stdout).toBe("role.rbac.authorization.k8s.io/reader\nrolebinding.rbac.authorization.k8s.io/reader\n");
  });
});

describe("events.k8s.io/v1 Events over the core/v1 Event storage", () => {
  it("an Event created as events.k8s.io/v1 is listed by kubectl get events, and core Events read in the new shape", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const created = await call(sim.url, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "release.1" },
      eventTime: "2026-01-01T00:00:00.000000Z",
      reportingController: "rollway.dev/release",
      reportingInstance: "rollway-1",
      action: "Promote",
      reason: "Promoted",
      type: "Normal",
      note: "web promoted to web:2",
      regarding: { apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "default" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ apiVersion: "events.k8s.io/v1", note: "web promoted to web:2" });
    const core = await call(sim.url, "GET", "/api/v1/namespaces/default/events/release.1");
    expect(core.body).toMatchObject({
      apiVersion: "v1",
      message: "web promoted to web:2",
      involvedObject: { kind: "Deployment", name: "web" },
      reportingComponent: "rollway.dev/release",
      action: "Promote",
    });
    const listed = await call(sim.url, "GET", "/apis/events.k8s.io/v1/namespaces/default/events");
    expect(listed.body.kind).toBe("EventList");
    expect(listed.body.apiVersion).toBe("events.k8s.io/v1");
    expect(listed.body.items.map((e: { note: string }) => e.note)).toEqual(["web promoted to web:2"]);
    const patched = await call(
      sim.url,
      "PATCH",
      "/apis/events.k8s.io/v1/namespaces/default/events/release.1",
      { series: { count: 2, lastObservedTime: "2026-01-01T00:01:00.000000Z" } },
      "application/merge-patch+json",
    );
    expect(patched.status).toBe(200);
    expect(patched.body.series).toEqual({ count: 2, lastObservedTime: "2026-01-01T00:01:00.000000Z" });
    const k = await kubectl(sim, ["get", "events", "-o", "jsonpath={.items[*].message}"]);
    expect(k.stdout).toBe("web promoted to web:2");
  });
});

describe("CRD schema type errors", () => {
  it("quote the JSON type of the value, as kube-openapi's type validator does", async () => {
    await using sim = await startKubeSim({ clock: new ManualClock(), controllers: [] });
    const rollout = (replicas: string) => `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: r}}
  template:
    metadata: {labels: {app: r}}
    spec: {containers: [{name: r, image: "r:1"}]}
  strategy: {canary: {steps: [{setWeight: 50}]}}
`;
    const text = await kubectl(sim, ["apply", "-f", "-"], rollout('"three"'));
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    );
    const fraction = await kubectl(sim, ["apply", "-f", "-"], rollout("1.5"));
    expect(fraction.stderr).toContain(
      'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"',
    );
  });
});
