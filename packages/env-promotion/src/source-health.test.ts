/**
 * Before promoting staging to prod, staging must be healthy and serve what is promoted: read from rollway's own status
 * of the environment in a real (kube-sim) cluster, and from an Argo CD Application over a loopback fake of its API.
 */
import { describe, expect, it } from "vitest";
// The release package's test world: kube-sim with the demo environment's Rollouts, and a release engine over HTTP.
import { NS, releaseSimResource, rolloutsPath } from "../../release/src/test-helpers/release-sim.js";
import { ARGOCD_TOKEN, argoCdServerResource } from "./__tests__/argocd-server-resource.js";
import { DEVELOPER, gitRemoteResource } from "./__tests__/git-remote-resource.js";
import { refusal } from "./__tests__/refusal.js";
import { formatPromotion } from "./format.js";
import { promoteEnvironment } from "./promote.js";
import { argoCdHealthCheck, componentStatusCheck, type SourceCheck } from "./source-health.js";

const overlay = (
  env: string,
  tags: { frontend: string; backend: string },
) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ${env}
resources:
  - ../base
images:
  - name: frontend
    newName: my-registry/image-for-frontend
    newTag: "${tags.frontend}"
  - name: backend-1
    newName: my-registry/image-for-backend-1
    newTag: "${tags.backend}"
`;

/** A GitOps repository whose staging pins `staging` tags and prod older ones. */
function gitops(staging: { frontend: string; backend: string }) {
  return gitRemoteResource({
    files: {
      "kustomize/base/kustomization.yaml": "resources: []\n",
      "kustomize/staging/kustomization.yaml": overlay("staging", staging),
      "kustomize/prod/kustomization.yaml": overlay("prod", { frontend: "0.9", backend: "0.9" }),
    },
  });
}

// Approval is not what these tests are about: forced, so only the health check can refuse.
const promote = (repo: string, sourceChecks: SourceCheck[], extra: Record<string, unknown> = {}) =>
  promoteEnvironment({
    repo,
    from: "staging",
    to: "prod",
    delivery: "push",
    author: DEVELOPER,
    force: true,
    sourceChecks,
    ...extra,
  });

/** Staging as a kube-sim cluster running the demo environment (frontend and backend-1 at 1.0), and rollway's view. */
async function stagingCluster() {
  const world = await releaseSimResource({ backends: ["backend-1"] });
  const check = componentStatusCheck({
    name: "rollway status of staging",
    read: () => world.engine.status(world.environment),
  });
  return { world, check };
}

describe("the source's health, from rollway's status of the staging environment (kube-sim)", () => {
  it("promotes when every component is Healthy and serves the promoted images, and says it checked", async () => {
    const { check } = await stagingCluster();
    const remote = gitops({ frontend: "1.0", backend: "1.0" });
    const result = await promote(remote.clone, [check]);
    expect(result.status).toBe("pushed");
    expect(result.sourceHealth).toEqual({ skipped: false, checks: ["rollway status of staging"] });
    expect(remote.show("main", "kustomize/prod/kustomization.yaml")).toContain('newTag: "1.0"');
  });

  it("refuses with SOURCE_UNHEALTHY naming a component that is not Healthy, and pushes nothing", async () => {
    const { world, check } = await stagingCluster();
    world.sim.faults.crashPods({ image: /:bad$/ });
    const patched = await fetch(`${world.sim.url}${rolloutsPath}/backend-1`, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({
        spec: {
          template: { spec: { containers: [{ name: "backend", image: "my-registry/image-for-backend-1:bad" }] } },
        },
      }),
    });
    expect(patched.status).toBe(200);
    await world.client.waitFor(await world.client.target("backend-1", NS), (s) => s.phase !== "Healthy", {
      timeout: 10_000,
    });
    const remote = gitops({ frontend: "1.0", backend: "1.0" });
    const before = remote.refs();
    const error = await refusal(promote(remote.clone, [check]));
    expect(error.code).toBe("SOURCE_UNHEALTHY");
    expect(error.details.components).toEqual(["backend-1"]);
    expect(error.message).toMatch(/^staging is not healthy.*\n {2}backend-1 is (Progressing|Paused|Degraded)/);
    expect(error.message).toContain("(rollway status of staging)");
    expect(error.message).toContain("--skip-health-check");
    expect(remote.refs()).toBe(before);
  });

  it("refuses when staging serves another version of an image than the one promoted", async () => {
    const { check } = await stagingCluster();
    // git says staging runs frontend 1.1; the cluster still serves 1.0 (the sync never happened).
    const remote = gitops({ frontend: "1.1", backend: "1.0" });
    const before = remote.refs();
    const error = await refusal(promote(remote.clone, [check]));
    expect(error.code).toBe("SOURCE_UNHEALTHY");
    expect(error.message).toContain(
      "frontend serves my-registry/image-for-frontend:1.0, not my-registry/image-for-frontend:1.1 which is being promoted",
    );
    expect(remote.refs()).toBe(before);
  });

  it("skips the check only when asked, and says so", async () => {
    const { check } = await stagingCluster();
    const remote = gitops({ frontend: "1.1", backend: "1.0" });
    const result = await promote(remote.clone, [check], { skipHealthCheck: true });
    expect(result.status).toBe("pushed");
    expect(result.sourceHealth).toEqual({ skipped: true, checks: ["rollway status of staging"] });
    expect(formatPromotion(result)).toContain("health check of staging skipped");
  });

  it("shows the change in a dry run and says it would be refused as unhealthy", async () => {
    const { check } = await stagingCluster();
    const remote = gitops({ frontend: "1.1", backend: "1.0" });
    const result = await promote(remote.clone, [check], { dryRun: true });
    expect(result.status).toBe("planned");
    expect(result.wouldRefuse?.code).toBe("SOURCE_UNHEALTHY");
    expect(formatPromotion(result)).toMatch(/would be REFUSED \[SOURCE_UNHEALTHY\]/);
  });
});

describe("the source's health, from its Argo CD Application (a loopback fake of Argo CD's API)", () => {
  const healthy = {
    sync: "Synced" as const,
    revision: "0123456789abcdef0123456789abcdef01234567",
    health: "Healthy" as const,
    resources: [
      { kind: "Rollout", name: "frontend", health: "Healthy" },
      { kind: "Rollout", name: "backend-1", health: "Healthy" },
    ],
    images: ["my-registry/image-for-frontend:1.0", "my-registry/image-for-backend-1:1.0", "redis:7.2"],
  };
  const check = (server: string, token = ARGOCD_TOKEN) =>
    argoCdHealthCheck({ server, token, application: "shop-staging" });

  it("promotes when the application is Synced and Healthy with the promoted images, sending the bearer token", async () => {
    const argo = await argoCdServerResource("shop-staging", [healthy]);
    const remote = gitops({ frontend: "1.0", backend: "1.0" });
    const result = await promote(remote.clone, [check(argo.server)]);
    expect(result.status).toBe("pushed");
    expect(argo.requests.map((r) => r.path)).toEqual(["/api/v1/applications/shop-staging"]);
    expect(argo.requests[0]?.headers.authorization).toBe(`Bearer ${ARGOCD_TOKEN}`);
  });

  it("refuses a Degraded application, naming the resource that is not Healthy", async () => {
    const argo = await argoCdServerResource("shop-staging", [
      {
        ...healthy,
        health: "Degraded",
        resources: [
          { kind: "Rollout", name: "frontend", health: "Healthy" },
          { kind: "Rollout", name: "backend-1", health: "Degraded", message: "ProgressDeadlineExceeded" },
        ],
      },
    ]);
    const remote = gitops({ frontend: "1.0", backend: "1.0" });
    const before = remote.refs();
    const error = await refusal(promote(remote.clone, [check(argo.server)]));
    expect(error.code).toBe("SOURCE_UNHEALTHY");
    expect(error.details.components).toEqual(["Rollout/backend-1"]);
    expect(error.message).toContain(
      "Rollout/backend-1 Degraded: ProgressDeadlineExceeded (Argo CD application shop-staging)",
    );
    expect(remote.refs()).toBe(before);
  });

  it("refuses an OutOfSync application and one running other images", async () => {
    const argo = await argoCdServerResource("shop-staging", [
      { ...healthy, sync: "OutOfSync", images: ["my-registry/image-for-frontend:0.9"] },
    ]);
    const remote = gitops({ frontend: "1.0", backend: "1.0" });
    const error = await refusal(promote(remote.clone, [check(argo.server)]));
    expect(error.code).toBe("SOURCE_UNHEALTHY");
    expect(error.message).toContain("shop-staging is OutOfSync");
    expect(error.message).toContain(
      "frontend runs my-registry/image-for-frontend:0.9, not my-registry/image-for-frontend:1.0",
    );
  });

  it("fails with ARGOCD_REQUEST_FAILED on a refused token, never showing it", async () => {
    const argo = await argoCdServerResource("shop-staging", [healthy]);
    const remote = gitops({ frontend: "1.0", backend: "1.0" });
    const error = await refusal(promote(remote.clone, [check(argo.server, "wrong-token-9f8e7d")]));
    expect(error.code).toBe("ARGOCD_REQUEST_FAILED");
    expect(error.details.status).toBe(401);
    expect(error.message).not.toContain("wrong-token-9f8e7d");
  });
});
