import { describe, expect, it } from "vitest";
import { parseRepository } from "./reference.js";
import { computeTags, imageLabels, refSlug, sanitizeGitTag } from "./tags.js";

const sha = "0123456789abcdef0123456789abcdef01234567";

describe("refSlug (GitLab's CI_COMMIT_REF_SLUG)", () => {
  it.each([
    ["master", "master"],
    ["feature/Add_Login", "feature-add-login"],
    ["release/1.2.3", "release-1-2-3"],
    ["--weird--", "weird"],
    ["a//b", "a--b"],
    ["x".repeat(70), "x".repeat(63)],
    [`${"y".repeat(62)}/z`, "y".repeat(62)],
  ])("slugs %j as %j", (ref, slug) => {
    expect(refSlug(ref)).toBe(slug);
  });
});

describe("sanitizeGitTag (the seed's tr _/:\\  ----)", () => {
  it.each([
    ["v1.2.3", "v1.2.3"],
    ["release/2024_01", "release-2024-01"],
    ["build:42 final", "build-42-final"],
  ])("turns %j into %j", (tag, sanitized) => {
    expect(sanitizeGitTag(tag)).toBe(sanitized);
  });
});

describe("computeTags", () => {
  it("gives the seed's tags in the seed's order: latest, slug-sha, slug, additional, git tag", () => {
    const result = computeTags({ git: { ref: "Feature/X", sha, tag: "v1.0_rc1" }, additionalTags: ["stable"] });
    expect(result).toEqual({
      ok: true,
      value: {
        tags: ["latest", "feature-x-01234567", "feature-x", "stable", "v1.0-rc1"],
        unique: "feature-x-01234567",
      },
    });
  });

  it("has no git tag entry when the commit has none, and drops duplicates", () => {
    const result = computeTags({ git: { ref: "main", sha }, additionalTags: ["main"] });
    expect(result.ok && result.value.tags).toEqual(["latest", "main-01234567", "main"]);
  });

  it("lists every problem at once, with where it is", () => {
    const result = computeTags({ git: { ref: "///", sha: "not-a-sha", tag: "v1+build" }, additionalTags: [".hidden"] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.path)).toEqual(["git.ref", "git.sha", "additionalTags[0]", "git.tag"]);
    expect(result.problems[3]?.message).toContain('git tag "v1+build" becomes "v1+build"');
    expect(result.problems[3]?.message).toContain('"+" is not allowed');
    expect(result.problems[2]?.message).toContain('"." is not allowed');
  });
});

describe("imageLabels", () => {
  it("writes the app version and the OCI labels, without credentials from the source URL", () => {
    expect(
      imageLabels({
        git: { ref: "main", sha },
        appVersion: "2.5.1",
        source: "https://oauth2:glpat-SECRET@gitlab.example.com/team/app.git",
        created: new Date("2026-01-02T03:04:05Z"),
      }),
    ).toEqual({
      draw_version: "2.5.1",
      "org.opencontainers.image.revision": sha,
      "org.opencontainers.image.source": "https://gitlab.example.com/team/app.git",
      "org.opencontainers.image.created": "2026-01-02T03:04:05.000Z",
    });
  });

  it("leaves out labels it has no value for", () => {
    expect(Object.keys(imageLabels({ git: { ref: "main", sha }, created: new Date(0) }))).toEqual([
      "org.opencontainers.image.revision",
      "org.opencontainers.image.created",
    ]);
  });
});

describe("parseRepository", () => {
  it.each([
    ["registry.example.com:5000/team/app-frontend", "registry.example.com:5000"],
    ["localhost/app", "localhost"],
    ["team/app", "docker.io"],
    ["app", "docker.io"],
  ])("reads %j as living in %j", (name, registry) => {
    expect(parseRepository(name)).toEqual({ registry, name });
  });

  it.each([
    ["", "is empty"],
    ["Team/App", '"Team" in "Team/App" is not a valid repository path component'],
    ["registry.example.com/app:1.0", "has a tag"],
    ["app@sha256:abc", "has a digest"],
    ["reg_istry.example.com/app", "not a valid registry host"],
  ])("refuses %j", (name, why) => {
    expect(parseRepository(name)).toContain(why);
  });
});

describe("refSlug on non-ASCII refs", () => {
  it("replaces each character, not each UTF-16 unit, as GitLab does", () => {
    expect(refSlug("feat/émoji-😀")).toBe("feat--moji");
  });
});
