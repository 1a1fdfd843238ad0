import { describe, expect, it } from "vitest";
import type { BuildProgressEvent } from "./build-images.js";
import { mergePayloadImages, toBuildEnv, toPayloadImages } from "./payload.js";
import { describeProgress } from "./progress.js";

describe("toPayloadImages", () => {
  it("puts each kind where the deploy payload wants it, backends in order", () => {
    expect(
      toPayloadImages([
        { kind: "backend", reference: "r/app-backend:main-1" },
        { kind: "frontend", reference: "r/app-frontend:main-1" },
        { kind: "backend", reference: "r/app-api:main-1" },
      ]),
    ).toEqual({
      frontend: { image: "r/app-frontend:main-1" },
      backends: { images: ["r/app-backend:main-1", "r/app-api:main-1"] },
    });
  });
});

describe("toBuildEnv", () => {
  it("writes the seed's build.env variables, numbering further backends", () => {
    expect(
      toBuildEnv([
        { kind: "frontend", reference: "r/f:main-1" },
        { kind: "backend", reference: "r/b:main-1" },
        { kind: "backend", reference: "r/api:main-1" },
        { kind: "codeAsData", reference: "r/c:main-1" },
      ]),
    ).toBe(
      "FRONTEND_IMAGE=r/f:main-1\nBACKEND_IMAGE=r/b:main-1\nBACKEND_IMAGE_2=r/api:main-1\nCODEASDATA_IMAGE=r/c:main-1\n",
    );
  });
});

describe("mergePayloadImages (the seed's jq lines)", () => {
  const template = {
    backends: { images: ["r/kept:1"], deployRules: [{ source: ".*", target: ".*" }] },
    codeAsData: { updateMode: "manual" },
    noDowntime: { promotionMode: "auto" },
  };

  it("sets frontend and code-as-data images, appends backends, and keeps everything else", () => {
    const merged = mergePayloadImages(template, {
      frontend: { image: "r/f:1" },
      backends: { images: ["r/b:1"] },
      codeAsData: { image: "r/c:1" },
    });
    expect(merged).toEqual({
      backends: { images: ["r/kept:1", "r/b:1"], deployRules: [{ source: ".*", target: ".*" }] },
      codeAsData: { updateMode: "manual", image: "r/c:1" },
      noDowntime: { promotionMode: "auto" },
      frontend: { image: "r/f:1" },
    });
    expect(template.backends.images).toEqual(["r/kept:1"]);
  });

  it("leaves the template as it is when no image was built", () => {
    expect(mergePayloadImages(template, {})).toEqual(template);
  });
});

describe("describeProgress", () => {
  it.each([
    [
      { type: "build-started", kind: "frontend", repository: "r/f", tags: ["latest", "main"], dockerfile: "d" },
      "building frontend r/f (d) as latest, main",
    ],
    [{ type: "build-output", kind: "frontend", repository: "r/f", line: "STEP 1/2: FROM x" }, "  STEP 1/2: FROM x"],
    [
      { type: "push-started", kind: "backend", reference: "r/b:1", authenticated: false },
      "pushing r/b:1 (no credentials)",
    ],
    [{ type: "push-output", kind: "backend", reference: "r/b:1", status: "Pushing", progress: "[==> ]" }, undefined],
    [{ type: "push-finished", kind: "backend", reference: "r/b:1", digest: "sha256:1" }, "pushed r/b:1 sha256:1"],
  ] satisfies [BuildProgressEvent, string | undefined][])("writes %j as %j", (event, line) => {
    expect(describeProgress(event)).toBe(line);
  });
});
