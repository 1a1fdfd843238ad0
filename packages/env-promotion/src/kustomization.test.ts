import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PROD_KUSTOMIZATION, PROD_KUSTOMIZATION_PROMOTED, STAGING_KUSTOMIZATION } from "./__tests__/fixtures.js";
import { PromotionError } from "./errors.js";
import { planOverlayPromotion, readOverlayImages, readTargetImages } from "./kustomization.js";

const plan = (fromText: string, toText: string, missingImages?: "add" | "refuse") =>
  planOverlayPromotion({
    fromText,
    fromPath: "kustomize/staging/kustomization.yaml",
    toText,
    toPath: "kustomize/prod/kustomization.yaml",
    ...(missingImages ? { missingImages } : {}),
  });

function refusal(run: () => unknown): PromotionError {
  try {
    run();
  } catch (error) {
    if (error instanceof PromotionError) return error;
    throw error;
  }
  throw new Error("expected a PromotionError");
}

describe("planOverlayPromotion", () => {
  it("changes only the promoted values of a commented, oddly spaced prod overlay, byte for byte", () => {
    const result = plan(STAGING_KUSTOMIZATION, PROD_KUSTOMIZATION);
    expect(result.text).toBe(PROD_KUSTOMIZATION_PROMOTED);
    expect(result.changed).toBe(true);
    expect(result.untouched).toEqual(["redis"]);
    expect(result.images.map((i) => [i.name, i.change, i.before?.newTag, i.after.newTag])).toEqual([
      ["cartservice", "updated", "v1.0.0", "v1.0.1"],
      ["frontend", "updated", "v1.0.0", "v1.0.1"],
      ["emailservice", "unchanged", "v1.0.0", "v1.0.0"],
    ]);
  });

  it("reports nothing to do and returns the file untouched when the target already matches", () => {
    const result = plan(STAGING_KUSTOMIZATION, PROD_KUSTOMIZATION_PROMOTED);
    expect(result.changed).toBe(false);
    expect(result.text).toBe(PROD_KUSTOMIZATION_PROMOTED);
  });

  it.each([
    ["plain", "  newTag: v1\n", "  newTag: v2\n", "v2"],
    ["double quotes", '  newTag: "v1"\n', '  newTag: "v2"\n', "v2"],
    ["single quotes", "  newTag: 'v1'\n", "  newTag: 'v2'\n", "v2"],
    ["a plain value that YAML would read as a number", "  newTag: v1\n", '  newTag: "1.10"\n', "1.10"],
    ["a plain value YAML 1.1 would read as a boolean", "  newTag: v1\n", '  newTag: "yes"\n', "yes"],
    ["a block scalar", "  newTag: |\n    v1\n", "  newTag: v2\n", "v2"],
  ])("keeps the quoting style: %s", (_, before, after, tag) => {
    const from = `images:\n- name: app\n  newTag: "${tag}"\n`;
    const to = `images:\n- name: app\n${before}`;
    expect(plan(from, to).text).toBe(`images:\n- name: app\n${after}`);
  });

  it.each([
    [
      "a block list",
      "images:\n  - name: a\n    newTag: v1 # pinned\n# end of images\nresources: []\n",
      "images:\n  - name: a\n    newTag: v1 # pinned\n  - name: web\n    newName: reg/web\n    newTag: v3\n# end of images\nresources: []\n",
    ],
    [
      "an empty flow list",
      "images: []   # none yet\n",
      "images: [{name: web, newName: reg/web, newTag: v3}]   # none yet\n",
    ],
    [
      "a file without images",
      "resources:\n  - ../base",
      "resources:\n  - ../base\nimages:\n- name: web\n  newName: reg/web\n  newTag: v3\n",
    ],
    [
      "an empty images key",
      "images:\nresources: []\n",
      "images:\n- name: web\n  newName: reg/web\n  newTag: v3\nresources: []\n",
    ],
  ])("adds an image the target does not pin to %s", (_, to, expected) => {
    const result = plan("images:\n- name: web\n  newName: reg/web\n  newTag: v3\n", to);
    expect(result.text).toBe(expected);
    expect(result.images).toEqual([
      { name: "web", before: null, after: { name: "web", newName: "reg/web", newTag: "v3" }, change: "added" },
    ]);
  });

  it("refuses an image missing from the target when asked to, naming it and changing nothing", () => {
    const error = refusal(() => plan(STAGING_KUSTOMIZATION, "images:\n- name: frontend\n  newTag: v1\n", "refuse"));
    expect(error.code).toBe("IMAGE_NOT_IN_TARGET");
    expect(error.message).toContain(
      'Images "cartservice", "emailservice" are pinned in kustomize/staging/kustomization.yaml',
    );
    expect(error.details.images).toEqual(["cartservice", "emailservice"]);
  });

  it("inserts, replaces and removes fields so the target resolves to the very same image", () => {
    const from = "images:\n- name: api\n  newName: ghcr.io/acme/api\n  newTag: v2\n";
    const to = [
      "images:",
      "- name: api # backend",
      "  digest: sha256:0123456789abcdef0123456789abcdef", // would win over the new tag: removed
      "  newTag: v1",
      "- {name: worker, newTag: v1, digest: sha256:ffffffffffffffffffffffffffffffff}",
      "",
    ].join("\n");
    const result = plan(`${from}- name: worker\n  newTag: v2\n`, to);
    expect(result.text).toBe(
      [
        "images:",
        "- name: api # backend",
        "  newTag: v2",
        "  newName: ghcr.io/acme/api",
        "- {name: worker, newTag: v2}",
        "",
      ].join("\n"),
    );
  });

  it("keeps Windows line endings", () => {
    const to = "images:\r\n- name: web\r\n  newTag: v1\r\n";
    expect(plan("images:\n- name: web\n  newName: reg/web\n  newTag: v2\n", to).text).toBe(
      "images:\r\n- name: web\r\n  newTag: v2\r\n  newName: reg/web\r\n",
    );
  });

  it.each([
    [
      "invalid YAML",
      "images:\n  - name: web\n   newTag: [v1\n",
      "kustomize/staging/kustomization.yaml:3",
      "not valid YAML",
    ],
    [
      "a tag YAML reads as a number",
      "images:\n- name: web\n  newTag: 1.10\n",
      "kustomize/staging/kustomization.yaml:3:11",
      'images[0].newTag is read as the number 1.10, not as text, and kustomize needs a string.\n  Fix: quote it: newTag: "1.10".',
    ],
    [
      "a tag with a space",
      'images:\n- name: web\n  newTag: "v1 beta"\n',
      "kustomize/staging/kustomization.yaml:3:11",
      'images[0].newTag "v1 beta" is not a valid image tag',
    ],
    [
      "an image listed twice",
      "images:\n- name: web\n  newTag: v1\n- name: web\n  newTag: v2\n",
      "kustomize/staging/kustomization.yaml:4:3",
      'image "web" is listed twice',
    ],
    [
      "an entry without a name",
      "images:\n- newTag: v1\n",
      "kustomize/staging/kustomization.yaml:2:3",
      "images[0] has no name",
    ],
    [
      "images that are not a list",
      "images: web\n",
      "kustomize/staging/kustomization.yaml:1:9",
      "images must be a list",
    ],
    ["a list instead of a mapping", "- web\n", "kustomize/staging/kustomization.yaml:1:1", "must be a mapping"],
  ])("refuses a source overlay with %s, saying where", (_, from, where, message) => {
    const error = refusal(() => plan(from, PROD_KUSTOMIZATION));
    expect(error.code).toBe("KUSTOMIZATION_INVALID");
    expect(error.message).toContain(where);
    expect(error.message).toContain(message);
  });

  it("refuses a source overlay without images: there is no release in it", () => {
    const error = refusal(() => plan("resources: [../base]\n", PROD_KUSTOMIZATION));
    expect(error.message).toBe(
      "kustomize/staging/kustomization.yaml has no images, so there is no release to promote from it.\n" +
        "  Fix: list the release's images under images: in kustomize/staging/kustomization.yaml (name, newName, newTag).",
    );
  });

  it("refuses a target entry whose promoted field is empty rather than writing a duplicate key", () => {
    const error = refusal(() => plan(STAGING_KUSTOMIZATION, "images:\n- name: frontend\n  newTag:\n"));
    expect(error.message).toContain("kustomize/prod/kustomization.yaml:3");
    expect(error.message).toContain("images[0].newTag has no value");
  });

  const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
  const name = fc.stringMatching(/^[a-z0-9][a-z0-9._/-]{0,20}$/);
  const quote = fc.constantFrom(
    (v: string) => v,
    (v: string) => `"${v}"`,
    (v: string) => `'${v}'`,
  );

  it("promotes any valid tags and names, leaving every other line as it was (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ name, newName: fc.option(name, { nil: undefined }), newTag: tag }), {
          minLength: 1,
          maxLength: 6,
          selector: (i) => i.name,
        }),
        fc.array(fc.tuple(tag, quote), { minLength: 6, maxLength: 6 }),
        (images, old) => {
          const from = `images:\n${images
            .map(
              (i) => `- name: "${i.name}"\n${i.newName ? `  newName: "${i.newName}"\n` : ""}  newTag: "${i.newTag}"\n`,
            )
            .join("")}`;
          const to = `# prod\nimages: # pinned\n${images
            .map(
              (i, n) =>
                `  - name: "${i.name}"   # ${n}\n    newTag: ${(old[n] as [string, (v: string) => string])[1](`${old[n]?.[0]}`)}\n`,
            )
            .join("")}other: kept # here\n`;
          const result = plan(from, to);
          // Same repository and tag; newName is only written when it differs from name.
          expect(readTargetImages(result.text, "to").map((i) => [i.name, i.newName ?? i.name, i.newTag])).toEqual(
            images.map((i) => [i.name, i.newName ?? i.name, i.newTag]),
          );
          const untouchedLines = (text: string) => text.split("\n").filter((l) => !/newTag|newName/.test(l));
          expect(untouchedLines(result.text)).toEqual(untouchedLines(to));
          expect(parse(result.text).other).toBe("kept");
        },
      ),
      { numRuns: 200 },
    );
  });
});

// Overlays as people might write them, valid or not: every entry style, quoting, anchors, aliases, numbers, lists.
const fieldValue = fc.constantFrom(
  "v1",
  "v2",
  "'v3'",
  '"v4"',
  "reg/a",
  "sha256:0123456789abcdef0123456789abcdef",
  "|\n      v6",
);
const oddValue = fc.constantFrom("1.0", "~", "", "&x v5", "*x", "yes", "[v1]", "{a: b}", "'it''s'");
const overlayEntry = (value: fc.Arbitrary<string>) =>
  fc.tuple(
    fc.constantFrom("web", "api", "db", "cache"),
    fc.uniqueArray(fc.tuple(fc.constantFrom("newName", "newTag", "digest", "other"), value), {
      maxLength: 4,
      selector: (f) => f[0],
    }),
    fc.boolean(),
    fc.constantFrom("", " # c"),
  );
type GeneratedEntry = [string, [string, string][], boolean, string];

function overlayText(entries: GeneratedEntry[], layout: string): string {
  const flowEntry = ([name, fields]: GeneratedEntry) =>
    `{name: ${name}${fields
      .filter(([, v]) => !v.includes("\n"))
      .map(([k, v]) => `, ${k}: ${v}`)
      .join("")}}`;
  if (layout === "none") return "resources: [../base]\n";
  if (layout === "null") return "images:\nresources: []\n";
  if (layout === "flow") return `images: [${entries.map(flowEntry).join(", ")}]\n`;
  const ind = layout === "indented" ? "    " : "";
  const block = (entry: GeneratedEntry) => {
    const [name, fields, flow, comment] = entry;
    if (flow) return `${ind}- ${flowEntry(entry)}${comment}\n`;
    const lines = fields.map(([k, v]) => `${ind}  ${k}: ${v.replace(/\n {6}/g, `\n${ind}      `)}\n`);
    return `${ind}- name: ${name}${comment}\n${lines.join("")}`;
  };
  return `images:\n${entries.map(block).join("")}kind: Kustomization\n`;
}

describe("planOverlayPromotion on generated overlays", () => {
  it("either promotes (and the result reads back) or refuses with a PromotionError, never anything else", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(overlayEntry(fieldValue), { minLength: 1, maxLength: 4, selector: (e) => e[0] }),
        fc.constantFrom("block", "indented"),
        fc.uniqueArray(
          overlayEntry(fc.oneof({ weight: 5, arbitrary: fieldValue }, { weight: 1, arbitrary: oddValue })),
          {
            maxLength: 4,
            selector: (e) => e[0],
          },
        ),
        fc.constantFrom("block", "indented", "flow", "none", "null"),
        (fromEntries, fromLayout, toEntries, toLayout) => {
          const fromText = overlayText(fromEntries as GeneratedEntry[], fromLayout);
          const toText = overlayText(toEntries as GeneratedEntry[], toLayout);
          let result: ReturnType<typeof plan> | undefined;
          try {
            result = plan(fromText, toText);
          } catch (error) {
            expect(error).toBeInstanceOf(PromotionError);
            // The self-check is a safety net: no generated layout may reach it.
            expect((error as PromotionError).code).not.toBe("EDIT_CHECK_FAILED");
            return;
          }
          const promoted = readTargetImages(result.text, "to");
          for (const image of readOverlayImages(fromText, "from")) {
            const after = promoted.find((p) => p.name === image.name);
            expect(after && [after.newName ?? after.name, after.newTag, after.digest]).toEqual([
              image.newName ?? image.name,
              image.newTag,
              image.digest,
            ]);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it.each([
    ["an anchor on a promoted value", "images:\n- name: frontend\n  newTag: &t v1\nx: *t\n", "carries the anchor &t"],
    ["an alias as a promoted value", "x: &t v1\nimages:\n- name: frontend\n  newTag: *t\n", "must be a single value"],
    ["an alias without its anchor", "images:\n- name: frontend\n  newTag: v1\nx: *nowhere\n", "Unresolved alias"],
  ])("refuses a target overlay with %s rather than editing around it", (_, to, message) => {
    const error = refusal(() => plan(STAGING_KUSTOMIZATION, to));
    expect(error.code).toBe("KUSTOMIZATION_INVALID");
    expect(error.message).toContain(message);
  });
});

describe("readOverlayImages", () => {
  it("reads the release an overlay pins", () => {
    expect(readOverlayImages(STAGING_KUSTOMIZATION, "staging")).toEqual([
      { name: "cartservice", newName: "registry.digitalocean.com/microservices-demo/cartservice", newTag: "v1.0.1" },
      { name: "frontend", newName: "registry.digitalocean.com/microservices-demo/frontend", newTag: "v1.0.1" },
      { name: "emailservice", newName: "registry.digitalocean.com/microservices-demo/emailservice", newTag: "v1.0.0" },
    ]);
  });
});
