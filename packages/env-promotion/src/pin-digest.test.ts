import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_KUSTOMIZATION } from "./__tests__/fixtures.js";
import { DEVELOPER, gitRemoteResource } from "./__tests__/git-remote-resource.js";
import { refusal } from "./__tests__/refusal.js";
import {
  type RegistryResource,
  startRegistry,
  startTokenFront,
  type TokenFront,
} from "./__tests__/registry-resource.js";
import { readOverlayImages } from "./kustomization.js";
import { promoteEnvironment } from "./promote.js";
import { locateImage, resolveDigest } from "./registry.js";

const PROD = "kustomize/prod/kustomization.yaml";
const PASSWORD = "s3cret-registry-password";

function overlays(host: string, cartTag: string) {
  const overlay = (env: string, tag: string) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop-${env}
resources:
  - ../base
images:
  - name: cartservice
    newName: ${host}/shop/cartservice
    newTag: ${tag}
  - name: frontend
    newName: ${host}/shop/frontend
    newTag: v2.0.0
`;
  return {
    "kustomize/base/kustomization.yaml": BASE_KUSTOMIZATION,
    "kustomize/staging/kustomization.yaml": overlay("staging", cartTag),
    "kustomize/prod/kustomization.yaml": overlay("prod", "v1.0.0"),
  };
}

/** staging → prod pushed onto main, the approval check forced. */
function promoteStraight(repo: string, options: { pinDigest: boolean }) {
  return promoteEnvironment({
    repo,
    from: "staging",
    to: "prod",
    author: DEVELOPER,
    delivery: "push",
    force: true,
    ...options,
  });
}

describe("promote with pinDigest against a real docker-registry", () => {
  let registry: RegistryResource;
  let digests: Record<string, string>;
  beforeAll(async () => {
    registry = await startRegistry();
    digests = {
      cart1: await registry.push("shop/cartservice", "v1.0.0"),
      cart: await registry.push("shop/cartservice", "v1.1.0"),
      frontend: await registry.push("shop/frontend", "v2.0.0"),
    };
  });
  afterAll(() => registry?.stop());

  it("writes each image's registry digest as digest: beside its tag in the target overlay", async () => {
    const remote = gitRemoteResource({ files: overlays(registry.host, "v1.1.0") });
    const result = await promoteStraight(remote.clone, { pinDigest: true });
    expect(result.status).toBe("pushed");
    const prod = readOverlayImages(remote.show("main", PROD), PROD);
    expect(prod).toEqual([
      {
        name: "cartservice",
        newName: `${registry.host}/shop/cartservice`,
        newTag: "v1.1.0",
        digest: digests.cart,
      },
      { name: "frontend", newName: `${registry.host}/shop/frontend`, newTag: "v2.0.0", digest: digests.frontend },
    ]);
    // An image whose tag is unchanged still gets pinned: the digest is what makes prod reproducible.
    expect(result.images.map((i) => [i.name, i.change])).toEqual([
      ["cartservice", "updated"],
      ["frontend", "updated"],
    ]);
  });

  it("refuses an image the registry does not have, naming image and registry, and writes nothing", async () => {
    const remote = gitRemoteResource({ files: overlays(registry.host, "v9.9.9") });
    const before = remote.refs();
    const error = await refusal(promoteStraight(remote.clone, { pinDigest: true }));
    expect(error.code).toBe("IMAGE_NOT_IN_REGISTRY");
    expect(error.problem).toBe(
      `Image ${registry.host}/shop/cartservice:v9.9.9 does not exist in registry ${registry.host}.`,
    );
    expect(error.details.images).toEqual(["cartservice"]);
    expect(remote.refs()).toBe(before);
  });

  it("without pinDigest, promotes tags only and never asks the registry (an unknown tag goes through)", async () => {
    const remote = gitRemoteResource({ files: overlays(registry.host, "v9.9.9") });
    await promoteStraight(remote.clone, { pinDigest: false });
    const cart = readOverlayImages(remote.show("main", PROD), PROD)[0];
    expect(cart).toEqual({ name: "cartservice", newName: `${registry.host}/shop/cartservice`, newTag: "v9.9.9" });
  });

  it("resolves a tag to the digest a client pulling with the OCI and Docker Accept headers gets", async () => {
    await expect(resolveDigest(`${registry.host}/shop/cartservice`, "v1.0.0")).resolves.toBe(digests.cart1);
    // A digest reference is checked to exist and comes back as itself.
    await expect(resolveDigest(`${registry.host}/shop/cartservice`, digests.cart1 as string)).resolves.toBe(
      digests.cart1,
    );
  });

  describe("behind a Bearer token challenge", () => {
    let front: TokenFront;
    beforeAll(async () => {
      front = await startTokenFront(registry.host, { username: "ci", password: PASSWORD });
    });
    afterAll(() => front?.stop());

    it("fetches a pull token from the challenge's realm with the host's credentials and resolves through it", async () => {
      const digest = await resolveDigest(`${front.host}/shop/frontend`, "v2.0.0", {
        credentials: { [front.host]: { username: "ci", password: PASSWORD } },
      });
      expect(digest).toBe(digests.frontend);
      expect(front.tokenRequests.at(-1)).toEqual({
        user: "ci",
        service: "rollway-test",
        scope: "repository:shop/frontend:pull",
      });
    });

    it("without credentials is refused with a clear error that holds no secret", async () => {
      const error = await refusal(resolveDigest(`${front.host}/shop/frontend`, "v2.0.0"));
      expect(error.code).toBe("REGISTRY_REQUEST_FAILED");
      expect(error.problem).toBe(
        `Registry ${front.host} refused to show ${front.host}/shop/frontend:v2.0.0 (HTTP 401).`,
      );
      const wrong = await refusal(
        resolveDigest(`${front.host}/shop/frontend`, "v2.0.0", {
          credentials: { [front.host]: { username: "ci", password: "wrong-password-x" } },
        }),
      );
      expect(wrong.code).toBe("REGISTRY_REQUEST_FAILED");
      expect(JSON.stringify({ m: wrong.message, d: wrong.details })).not.toContain("wrong-password-x");
    });
  });
});

describe("locateImage", () => {
  it("splits image names the way Docker does", () => {
    expect(locateImage("redis")).toEqual({ registry: "docker.io", repository: "library/redis" });
    expect(locateImage("bitnami/redis")).toEqual({ registry: "docker.io", repository: "bitnami/redis" });
    expect(locateImage("ghcr.io/acme/cart")).toEqual({ registry: "ghcr.io", repository: "acme/cart" });
    expect(locateImage("localhost/cart")).toEqual({ registry: "localhost", repository: "cart" });
    expect(locateImage("127.0.0.1:5000/a/b")).toEqual({ registry: "127.0.0.1:5000", repository: "a/b" });
  });
});
