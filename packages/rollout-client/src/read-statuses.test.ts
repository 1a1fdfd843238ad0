/**
 * `readStatuses`: many targets' status from one LIST per kind, against kube-sim. The answer must be what `readStatus`
 * (one GET and LIST per target) gives each target, and the local label selector matching what the API server's
 * `?labelSelector=` selects.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type KubeObject, type LabelSelector, type ListObject, resourcePath, selectorToString } from "./resources.js";
import { findTargets } from "./targets/find-many.js";
import {
  canaryManifest,
  deploymentManifest,
  drive,
  kubeSimResource,
  NAMESPACE,
  rolloutManifest,
  serviceManifest,
} from "./test-helpers/kube-sim.js";
import { isHealthy, isPaused, matchesSelector, readStatuses } from "./watch.js";

describe("readStatuses", () => {
  it("gives every target what readStatus gives it, from one LIST per kind, without reading the listed Rollouts again", async () => {
    const env = await kubeSimResource();
    for (const name of ["web", "shop"]) {
      await env.create("Service", serviceManifest(`${name}-active`, name));
      await env.create("Service", serviceManifest(`${name}-preview`, name));
      await env.create("Rollout", rolloutManifest(name, `${name}:1`, "blueGreen", { replicas: 2 }));
    }
    // A Rollout driving a Deployment's template (workloadRef), a plain Deployment and a Flagger Canary.
    const ui = deploymentManifest("ui-deploy", "ui:1", { replicas: 0 });
    ui.spec.selector.matchLabels.app = "ui";
    ui.spec.template.metadata.labels.app = "ui";
    await env.create("Deployment", ui);
    await env.create("Service", serviceManifest("ui-active", "ui"));
    await env.create("Service", serviceManifest("ui-preview", "ui"));
    await env.create("Rollout", rolloutManifest("ui", "", "blueGreen", { workloadRef: "ui-deploy" }));
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    await env.create("Deployment", deploymentManifest("podinfo", "podinfo:6.0.0"));
    await env.create("Canary", canaryManifest("podinfo", "http://unused.test"));

    const components = ["web", "shop", "ui-deploy", "api", "podinfo"];
    const targets = await Promise.all(components.map((c) => env.client.target(c)));
    for (const target of targets.slice(0, 4)) await drive(env, env.client.waitFor(target, isHealthy));
    // One blue-green release half-way: two ReplicaSets of `web`, the new one in preview.
    await env.client.setImages(targets[0] as (typeof targets)[0], { web: "web:2" });
    await drive(env, env.client.waitFor(targets[0] as (typeof targets)[0], isPaused));

    const one = await Promise.all(targets.map((t) => env.client.status(t)));
    const { rollouts } = await findTargets(env.client.connection, components, NAMESPACE);
    const before = env.requests.length;
    const many = await readStatuses(env.client.connection, targets, { namespace: NAMESPACE, rollouts });
    expect(many).toEqual(one);
    expect(many.map((s) => s.phase)).toContain("Paused");
    const sent = env.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    expect(sent.sort()).toEqual(
      [
        `GET ${resourcePath("Canary", NAMESPACE)}`,
        `GET ${resourcePath("Deployment", NAMESPACE)}`,
        `GET ${resourcePath("ReplicaSet", NAMESPACE)}`,
      ].sort(),
    );
    // Without the caller's list, the Rollouts are listed once too.
    expect(await readStatuses(env.client.connection, targets, { namespace: NAMESPACE })).toEqual(one);
    // A LIST the caller has under way (here made on another connection) is used, not made again.
    const replicaSets = env.conn.objects
      .list<KubeObject>({ apiVersion: "apps/v1", kind: "ReplicaSet", namespace: NAMESPACE })
      .then((list) => list.items);
    const beforeLists = env.requests.length;
    const withLists = await readStatuses(env.client.connection, targets, {
      namespace: NAMESPACE,
      rollouts,
      lists: new Map([["ReplicaSet", replicaSets]]),
    });
    expect(withLists).toEqual(one);
    expect(
      env.requests
        .slice(beforeLists)
        .map((r) => r.path)
        .sort(),
    ).toEqual([resourcePath("Canary", NAMESPACE), resourcePath("Deployment", NAMESPACE)].sort());
  });

  it("fails with readStatus's NOT_FOUND for a target that is gone", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    await env.create("Deployment", deploymentManifest("api", "api:1"));
    const target = await env.client.target("api");
    await env.conn.request({
      method: "DELETE",
      path: resourcePath("Deployment", NAMESPACE, "api"),
      resource: { kind: "Deployment", name: "api", namespace: NAMESPACE },
    });
    await expect(env.client.status(target)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(readStatuses(env.client.connection, [target])).rejects.toMatchObject({
      code: "NOT_FOUND",
      resource: { kind: "Deployment", name: "api", namespace: NAMESPACE },
    });
  });

  it("matches labels as the API server's labelSelector does (property, against kube-sim)", async () => {
    const env = await kubeSimResource({ withoutControllers: true });
    const keys = ["app", "tier", "track"];
    const values = ["a", "b", "c"];
    const labelSets = [{}, { app: "a" }, { app: "b", tier: "a" }, { app: "a", tier: "b", track: "c" }, { track: "a" }];
    for (const [i, labels] of labelSets.entries()) {
      const service = serviceManifest(`labels-${i}`, "any");
      await env.create("Service", { ...service, metadata: { ...service.metadata, labels } });
    }
    const listed = (
      await env.conn.request<ListObject<KubeObject>>({
        method: "GET",
        path: resourcePath("Service", NAMESPACE),
        resource: { kind: "Service", namespace: NAMESPACE },
      })
    ).items.filter((o) => o.metadata.name.startsWith("labels-"));
    const key = fc.constantFrom(...keys);
    const value = fc.constantFrom(...values);
    const selector: fc.Arbitrary<LabelSelector> = fc.record(
      {
        matchLabels: fc.dictionary(key, value, { maxKeys: 2 }),
        matchExpressions: fc.array(
          fc.oneof(
            fc.record({
              key,
              operator: fc.constantFrom("In", "NotIn"),
              values: fc.uniqueArray(value, { minLength: 1, maxLength: 2 }),
            }),
            fc.record({ key, operator: fc.constantFrom("Exists", "DoesNotExist") }),
          ),
          { maxLength: 2 },
        ),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(selector, async (sel) => {
        const server = await env.conn.request<ListObject<KubeObject>>({
          method: "GET",
          path: resourcePath("Service", NAMESPACE),
          query: { labelSelector: selectorToString(sel) || undefined },
          resource: { kind: "Service", namespace: NAMESPACE },
        });
        const expected = server.items.filter((o) => o.metadata.name.startsWith("labels-")).map((o) => o.metadata.name);
        const local = listed.filter((o) => matchesSelector(sel, o.metadata.labels)).map((o) => o.metadata.name);
        expect(local.sort()).toEqual(expected.sort());
      }),
      { numRuns: 60 },
    );
  });
});
