/**
 * The in-place overlay edit against the obvious alternative, re-stringifying the edited yaml Document (which also
 * loses formatting: see `preserves` below). Both start from the same text and end with the new file's text.
 */
import { bench, describe } from "vitest";
import { parseDocument } from "yaml";
import { PROD_KUSTOMIZATION, STAGING_KUSTOMIZATION } from "../src/__tests__/fixtures.js";
import { planOverlayPromotion } from "../src/kustomization.js";

function overlay(count: number, tag: string, commented: boolean): string {
  const lines = [
    "apiVersion: kustomize.config.k8s.io/v1beta1",
    "kind: Kustomization",
    "resources:",
    "  - ../base",
    "images:",
  ];
  for (let i = 0; i < count; i++) {
    if (commented) lines.push(`  # service ${i}: owned by team ${i % 7}`);
    lines.push(
      `  - name: service-${i}`,
      `    newName: registry.example.com/shop/service-${i}`,
      `    newTag: ${tag}${commented ? "   # pinned" : ""}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The baseline: set the values through the Document API and print the whole document again. */
function restringify(fromText: string, toText: string): string {
  const from = parseDocument(fromText).toJS() as { images: { name: string; newName?: string; newTag?: string }[] };
  const doc = parseDocument(toText);
  const images = doc.get("images") as { items: { get(k: string): unknown; set(k: string, v: unknown): void }[] };
  for (const source of from.images) {
    const target = images.items.find((item) => item.get("name") === source.name);
    if (!target) continue;
    if (source.newName) target.set("newName", source.newName);
    if (source.newTag) target.set("newTag", source.newTag);
  }
  return doc.toString();
}

const cases = {
  "seed 003 prod overlay (4 images, comments, odd spacing)": [STAGING_KUSTOMIZATION, PROD_KUSTOMIZATION],
  "300 images with comments": [overlay(300, "v2.0.0", false), overlay(300, "v1.0.0", true)],
} as const;

for (const [name, [fromText, toText]] of Object.entries(cases)) {
  describe(name, () => {
    bench("planOverlayPromotion (splice, byte-for-byte)", () => {
      planOverlayPromotion({ fromText, fromPath: "staging", toText, toPath: "prod" });
    });
    bench("baseline: Document set + toString (reformats)", () => {
      restringify(fromText, toText);
    });
  });
}
