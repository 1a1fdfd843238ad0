import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeployRulesError } from "./errors.js";
import { resolveDeployRules } from "./resolve.js";

// The seed's example (004): one image for backend-1, another for every other backend.
const seedImages = ["my-registry/image-for-backend-1:tag", "my-registry/image-for-other-backends:tag"];
const seedRules = [
  { source: "^my-registry/image-for-other-backends:tag.*$", target: "^(?!backend-1).*$" },
  { source: "^my-registry/image-for-backend-1:tag.*$", target: "^backend-1.*$" },
];

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DeployRulesError);
    return (error as DeployRulesError).problems;
  }
  throw new Error("expected a DeployRulesError");
}

describe("resolveDeployRules", () => {
  it("routes the seed's example as the seed describes, lookahead included", () => {
    const result = resolveDeployRules({
      images: seedImages,
      rules: seedRules,
      backends: ["backend-1", "backend-2", "backend-3"],
    });
    expect(result.assignments.map((a) => [a.backend, a.image, a.change === "update" ? a.rule.index : null])).toEqual([
      ["backend-1", "my-registry/image-for-backend-1:tag", 1],
      ["backend-2", "my-registry/image-for-other-backends:tag", 0],
      ["backend-3", "my-registry/image-for-other-backends:tag", 0],
    ]);
    expect(result.warnings).toEqual([]);
  });

  it("matches source against the full reference, registry and tag included", () => {
    const result = resolveDeployRules({
      images: [`registry.example.com:5000/team/api@sha256:${"a".repeat(64)}`],
      rules: [{ source: "^registry\\.example\\.com:5000/team/api@sha256:a+$", target: "^api$" }],
      backends: ["api"],
    });
    expect(result.assignments[0]?.change).toBe("update");
  });

  it("refuses an image that no rule's source matches, naming the image", () => {
    const problems = problemsOf(() =>
      resolveDeployRules({ images: [...seedImages, "other/thing:1"], rules: seedRules, backends: ["backend-2"] }),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        code: "UNMATCHED_IMAGE",
        path: "backends.images[2]",
        message: expect.stringContaining('"other/thing:1"'),
      }),
    ]);
  });

  it("refuses a backend given two images, naming both rules and how to make them disjoint", () => {
    const problems = problemsOf(() =>
      resolveDeployRules({
        images: seedImages,
        rules: [
          { ...seedRules[0], target: "^backend-" } as (typeof seedRules)[0],
          seedRules[1] as (typeof seedRules)[0],
        ],
        backends: ["backend-1", "backend-2"],
      }),
    );
    expect(problems).toHaveLength(1);
    const [p] = problems;
    expect(p?.code).toBe("CONFLICTING_RULES");
    expect(p?.path).toBe('backend "backend-1"');
    expect(p?.message).toContain("backends.deployRules[0]");
    expect(p?.message).toContain("backends.deployRules[1]");
    expect(p?.message).toContain("(^backend-1$)");
  });

  it("accepts two rules that give a backend the same image", () => {
    const result = resolveDeployRules({
      images: ["r/a:1"],
      rules: [
        { source: "^r/a:", target: "^api$" },
        { source: "a:1$", target: "^ap" },
      ],
      backends: ["api"],
    });
    expect(result.assignments[0]).toMatchObject({ backend: "api", image: "r/a:1", rule: { index: 0 } });
  });

  it("refuses a rule whose source matches two images", () => {
    const problems = problemsOf(() =>
      resolveDeployRules({ images: ["r/a:1", "r/a:2"], rules: [{ source: "^r/a", target: ".*" }], backends: ["api"] }),
    );
    expect(problems[0]).toMatchObject({ code: "CONFLICTING_RULES", path: "backends.deployRules[0].source" });
  });

  it("warns about a rule whose target matches no backend, and keeps untargeted backends unchanged", () => {
    const result = resolveDeployRules({
      images: ["r/a:1"],
      rules: [
        { source: "^r/a:1$", target: "^api$" },
        { source: "^r/a:1$", target: "^nope$" },
      ],
      backends: ["api", { name: "worker", currentImage: "r/w:7" }],
    });
    expect(result.warnings).toEqual([
      { path: "backends.deployRules[1].target", message: "/^nope$/ matches no backend" },
    ]);
    expect(result.assignments[1]).toEqual({
      backend: "worker",
      change: "unchanged",
      image: "r/w:7",
      currentImage: "r/w:7",
    });
  });

  it("reports an unchanged backend when the chosen image is already running", () => {
    const result = resolveDeployRules({
      images: ["r/a:1"],
      rules: [{ source: ".*", target: ".*" }],
      backends: [{ name: "api", currentImage: "r/a:1" }],
    });
    expect(result.assignments[0]).toEqual({
      backend: "api",
      change: "unchanged",
      image: "r/a:1",
      currentImage: "r/a:1",
      rule: { index: 0, source: ".*", target: ".*" },
    });
  });

  it("refuses names too long for the pattern safety bound before running any pattern", () => {
    const problems = problemsOf(() =>
      resolveDeployRules({
        images: [`r/${"a".repeat(600)}:1`],
        rules: [{ source: ".*", target: ".*" }],
        backends: ["b".repeat(254)],
      }),
    );
    expect(problems.map((p) => p.code)).toEqual(["INVALID_NAME", "INVALID_NAME"]);
  });

  it("lists every problem at once and applies nothing", () => {
    const problems = problemsOf(() =>
      resolveDeployRules({
        images: ["r/a:1"],
        rules: [
          { source: "(", target: "^(a+)+$" },
          { source: "^r/a:1$", target: "[" },
        ],
        backends: ["api"],
      }),
    );
    expect(problems.map((p) => [p.code, p.path])).toEqual([
      ["INVALID_PATTERN", "backends.deployRules[0].source"],
      ["UNSAFE_PATTERN", "backends.deployRules[0].target"],
      ["INVALID_PATTERN", "backends.deployRules[1].target"],
    ]);
  });

  it("is deterministic: the same input always gives the same output", () => {
    // A small pool of names keeps the number of distinct patterns (each checked once by recheck) small.
    const name = fc.constantFrom("api", "web", "worker", "cron", "api-2", "ap", "w", "svc-1");
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { minLength: 1, maxLength: 6 }),
        fc.uniqueArray(name, { maxLength: 6 }),
        (images, backends) => {
          const input = {
            images: images.map((i) => `reg/${i}:1`),
            rules: images.map((i) => ({ source: `^reg/${i}:1$`, target: `^${i}` })),
            backends,
          };
          const run = () => {
            try {
              return resolveDeployRules(input);
            } catch (error) {
              return (error as DeployRulesError).problems;
            }
          };
          expect(run()).toEqual(run());
        },
      ),
      { numRuns: 100 },
    );
  });
});
