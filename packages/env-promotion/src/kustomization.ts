/**
 * Reads the `images:` of a kustomize overlay and rewrites another overlay's `images:` to match, as a list of text
 * splices located through the `yaml` Document API. Everything outside the changed values (comments, key order,
 * quoting, odd spacing, line endings) stays byte for byte, which re-stringifying a Document cannot promise.
 */
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parse,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { z } from "zod";
import { PromotionError } from "./errors.js";

export type ImageChangeKind = "updated" | "added" | "unchanged";

export interface ImageChange {
  /** The `name` kustomize matches in the manifests. */
  name: string;
  /** The entry in the target overlay before promotion; `null` when the target had no entry for this image. */
  before: OverlayImage | null;
  /** The entry in the target overlay after promotion (the same image reference as the source overlay). */
  after: OverlayImage;
  change: ImageChangeKind;
}

/** What to do with an image the source overlay pins but the target overlay does not mention. */
export type MissingImagePolicy = "add" | "refuse";

export interface OverlayPlanInput {
  fromText: string;
  fromPath: string;
  toText: string;
  toPath: string;
  missingImages?: MissingImagePolicy;
  /** Digests to promote instead of the source's, by image name (from digest pinning). */
  pins?: ReadonlyMap<string, string>;
}

export interface OverlayPlan {
  /** Every image of the source overlay, in its order, with what happens to it in the target. */
  images: ImageChange[];
  /** Names of images the target pins that the source does not mention: left as they are. */
  untouched: string[];
  /** The target file's new text (equal to `toText` when nothing changes). */
  text: string;
  changed: boolean;
}

// Docker's grammar, slightly relaxed for names (registry host, port and path components).
const NAME = /^[A-Za-z0-9][A-Za-z0-9._/:-]{0,254}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

/** One entry of a kustomization's `images:` list (the fields promotion reads and writes), as a source must write it. */
export const overlayImageSchema = z.object({
  /** The image name the manifests use, which kustomize matches. */
  name: z.string().regex(NAME, "is not an image name"),
  newName: z.string().regex(NAME, "is not an image name").optional(),
  newTag: z
    .string()
    .regex(TAG, "is not a valid image tag (letters, digits, _ . - and at most 128 characters)")
    .optional(),
  digest: z.string().regex(DIGEST, "is not a digest like sha256:<hex>").optional(),
});

export type OverlayImage = z.infer<typeof overlayImageSchema>;

const PROMOTED_FIELDS = ["newName", "newTag", "digest"] as const;
type PromotedField = (typeof PROMOTED_FIELDS)[number];

interface Entry {
  image: OverlayImage;
  map: YAMLMap;
  index: number;
}

interface ParsedOverlay {
  path: string;
  text: string;
  /** The whole file as plain data. */
  js: unknown;
  root: YAMLMap;
  /** `undefined` when the file has no `images:` key, `null` when the key has no value. */
  images: YAMLSeq | null | undefined;
  imagesPair: Pair | undefined;
  entries: Map<string, Entry>;
  lineCounter: LineCounter;
}

export function formatImageReference(image: OverlayImage): string {
  const name = image.newName ?? image.name;
  const tag = image.newTag ? `:${image.newTag}` : "";
  const digest = image.digest ? `@${image.digest}` : "";
  return tag || digest ? `${name}${tag}${digest}` : `${name} (tag from the base)`;
}

/** The images of an overlay, validated as the source of a promotion. */
export function readOverlayImages(text: string, path: string): OverlayImage[] {
  return [...parseOverlay(text, path, "source").entries.values()].map((e) => e.image);
}

/** The images of an overlay as they are, read as the target of a promotion (values are not checked). */
export function readTargetImages(text: string, path: string): OverlayImage[] {
  return [...parseOverlay(text, path, "target").entries.values()].map((e) => e.image);
}

export function planOverlayPromotion(input: OverlayPlanInput): OverlayPlan {
  const from = parseOverlay(input.fromText, input.fromPath, "source");
  for (const entry of from.entries.values()) {
    const digest = input.pins?.get(entry.image.name);
    if (digest) entry.image = { ...entry.image, digest };
  }
  const to = parseOverlay(input.toText, input.toPath, "target");
  if (from.entries.size === 0) {
    throw new PromotionError(
      "KUSTOMIZATION_INVALID",
      `${input.fromPath} has no images, so there is no release to promote from it.`,
      `list the release's images under images: in ${input.fromPath} (name, newName, newTag).`,
      { path: input.fromPath },
    );
  }

  const images: ImageChange[] = [];
  const missing: string[] = [];
  for (const { image } of from.entries.values()) {
    const target = to.entries.get(image.name);
    const after = targetImage(image);
    if (!target) {
      missing.push(image.name);
      images.push({ name: image.name, before: null, after, change: "added" });
      continue;
    }
    const same = fieldEdits(target.image, image).length === 0;
    images.push({
      name: image.name,
      before: target.image,
      after: same ? target.image : mergeTarget(target.image, image),
      change: same ? "unchanged" : "updated",
    });
  }
  const untouched = [...to.entries.keys()].filter((name) => !from.entries.has(name));

  if (missing.length > 0 && input.missingImages === "refuse") {
    throw new PromotionError(
      "IMAGE_NOT_IN_TARGET",
      `${missing.length === 1 ? "Image" : "Images"} ${missing.map((m) => `"${m}"`).join(", ")} ${
        missing.length === 1 ? "is" : "are"
      } pinned in ${input.fromPath} but not in ${input.toPath}.`,
      `add ${missing.length === 1 ? "an entry" : "entries"} to images: in ${input.toPath} by hand, or promote with missingImages: "add".`,
      { path: input.toPath, images: missing },
    );
  }

  if (images.every((i) => i.change === "unchanged")) return { images, untouched, text: input.toText, changed: false };

  const eol = input.toText.includes("\r\n") ? "\r\n" : "\n";
  // Deletions, replacements and insertions are applied in that order, each pass on a fresh parse of the previous
  // result so their ranges never overlap; a pass with nothing to do costs no parse.
  let current = to;
  for (const pass of [deletions, replacements, insertions] as const) {
    const edits = pass(current, from, eol);
    if (edits.length === 0) continue;
    try {
      current = parseOverlay(applyEdits(current.text, edits), input.toPath, "target");
    } catch (error) {
      throw editCheckFailed(to.path, "produced an unreadable file", error);
    }
  }
  verifyEdit(to, current, images);
  const text = current.text;
  return { images, untouched, text, changed: true };
}

function targetImage(source: OverlayImage): OverlayImage {
  const out: OverlayImage = { name: source.name };
  if (source.newName !== undefined) out.newName = source.newName;
  if (source.newTag !== undefined) out.newTag = source.newTag;
  if (source.digest !== undefined) out.digest = source.digest;
  return out;
}

function mergeTarget(target: OverlayImage, source: OverlayImage): OverlayImage {
  const out: OverlayImage = { name: target.name };
  for (const [field, value] of wantedFields(target, source)) if (value !== undefined) out[field] = value;
  return out;
}

/** The value each promoted field must have in the target so it resolves to the same image as the source. */
function wantedFields(target: OverlayImage, source: OverlayImage): [PromotedField, string | undefined][] {
  const sourceName = source.newName ?? source.name;
  const targetName = target.newName ?? target.name;
  // newName is only written when the target would otherwise resolve to another repository.
  const newName = sourceName === targetName ? target.newName : sourceName;
  return [
    ["newName", newName],
    ["newTag", source.newTag],
    ["digest", source.digest],
  ];
}

type FieldEdit = { field: PromotedField; kind: "delete" | "replace" | "insert"; value?: string };

function fieldEdits(target: OverlayImage, source: OverlayImage): FieldEdit[] {
  const edits: FieldEdit[] = [];
  for (const [field, wanted] of wantedFields(target, source)) {
    const current = target[field];
    if (wanted === current) continue;
    if (wanted === undefined) edits.push({ field, kind: "delete" });
    else if (current === undefined) edits.push({ field, kind: "insert", value: wanted });
    else edits.push({ field, kind: "replace", value: wanted });
  }
  return edits;
}

interface Edit {
  start: number;
  end: number;
  text: string;
  /** Among edits at the same offset, the lower `order` ends up first in the text. */
  order: number;
}

function applyEdits(text: string, edits: Edit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.order - a.order);
  let out = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const edit of sorted) {
    if (edit.end > limit) throw new Error(`overlapping edits at offset ${edit.start}`);
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
    limit = edit.start;
  }
  return out;
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key);
}

function range(node: unknown): [number, number, number] {
  const r = (node as Node | null)?.range;
  if (!r) throw new Error("node without a source range");
  return r;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Offset of the line break ending the line that `offset` is on (or that ends just before `offset`). */
function endOfLine(text: string, offset: number): number {
  let p = offset > 0 && text[offset - 1] === "\n" ? offset - 1 : text.indexOf("\n", offset);
  if (p === -1) return text.length;
  if (p > 0 && text[p - 1] === "\r") p -= 1;
  return p;
}

function lineBreakLength(text: string, offset: number): number {
  if (text.startsWith("\r\n", offset)) return 2;
  return text[offset] === "\n" ? 1 : 0;
}

function pairEnd(pair: Pair): number {
  return pair.value ? range(pair.value)[1] : range(pair.key)[1];
}

function deletions(to: ParsedOverlay, from: ParsedOverlay, _eol: string): Edit[] {
  const edits: Edit[] = [];
  for (const { image } of from.entries.values()) {
    const target = to.entries.get(image.name);
    if (!target) continue;
    for (const edit of fieldEdits(target.image, image)) {
      if (edit.kind !== "delete") continue;
      const map = target.map;
      const index = map.items.findIndex((p) => isScalar(p.key) && p.key.value === edit.field);
      const pair = map.items[index];
      if (!pair) continue;
      const prev = map.items[index - 1];
      const next = map.items[index + 1];
      const keyStart = range(pair.key)[0];
      if (map.flow) {
        if (prev) edits.push({ start: pairEnd(prev), end: pairEnd(pair), text: "", order: 0 });
        else if (next) edits.push({ start: keyStart, end: range(next.key)[0], text: "", order: 0 });
        continue;
      }
      const start = lineStart(to.text, keyStart);
      if (to.text.slice(start, keyStart).trim() === "") {
        const end = endOfLine(to.text, pairEnd(pair));
        edits.push({ start, end: end + lineBreakLength(to.text, end), text: "", order: 0 });
      } else if (next) {
        // The pair shares its line with the sequence's "- ": the next key moves up onto that line.
        edits.push({ start: keyStart, end: range(next.key)[0], text: "", order: 0 });
      }
    }
  }
  return edits;
}

function replacements(to: ParsedOverlay, from: ParsedOverlay, _eol: string): Edit[] {
  const edits: Edit[] = [];
  for (const { image } of from.entries.values()) {
    const target = to.entries.get(image.name);
    if (!target) continue;
    for (const edit of fieldEdits(target.image, image)) {
      if (edit.kind !== "replace" || edit.value === undefined) continue;
      const pair = pairOf(target.map, edit.field);
      const value = pair?.value;
      if (!isScalar(value)) continue;
      const [start, end] = range(value);
      let replaced = renderScalar(edit.value, value.type);
      // Block scalars own the line break after them; keep it.
      if (value.type === "BLOCK_LITERAL" || value.type === "BLOCK_FOLDED") {
        const eolAt = endOfLine(to.text, end);
        replaced += to.text.slice(eolAt, end);
      }
      edits.push({ start, end, text: replaced, order: 0 });
    }
  }
  return edits;
}

function insertions(to: ParsedOverlay, from: ParsedOverlay, eol: string): Edit[] {
  const edits: Edit[] = [];
  const added: OverlayImage[] = [];
  for (const { image } of from.entries.values()) {
    const target = to.entries.get(image.name);
    if (!target) {
      added.push(targetImage(image));
      continue;
    }
    const fields = fieldEdits(target.image, image).filter((e) => e.kind === "insert");
    if (fields.length === 0) continue;
    const pairs = fields.map((f) => `${f.field}: ${renderScalar(f.value ?? "", "PLAIN")}`);
    const map = target.map;
    const last = map.items[map.items.length - 1];
    const first = map.items[0];
    if (!last || !first) continue;
    if (map.flow) {
      edits.push({ start: pairEnd(last), end: pairEnd(last), text: pairs.map((p) => `, ${p}`).join(""), order: 0 });
      continue;
    }
    const at = endOfLine(to.text, pairEnd(last));
    const indent = " ".repeat(range(first.key)[0] - lineStart(to.text, range(first.key)[0]));
    edits.push({ start: at, end: at, text: pairs.map((p) => `${eol}${indent}${p}`).join(""), order: 0 });
  }
  if (added.length > 0) edits.push(appendImages(to, added, eol));
  return edits;
}

function entryFields(image: OverlayImage): string[] {
  const fields = [`name: ${renderScalar(image.name, "PLAIN")}`];
  for (const field of PROMOTED_FIELDS) {
    const value = image[field];
    if (value !== undefined) fields.push(`${field}: ${renderScalar(value, "PLAIN")}`);
  }
  return fields;
}

function blockItems(images: OverlayImage[], dashIndent: number, keyIndent: number, eol: string): string {
  return images
    .map((image) =>
      entryFields(image)
        .map((f, i) => (i === 0 ? `${eol}${" ".repeat(dashIndent)}- ${f}` : `${eol}${" ".repeat(keyIndent)}${f}`))
        .join(""),
    )
    .join("");
}

function appendImages(to: ParsedOverlay, images: OverlayImage[], eol: string): Edit {
  const { text } = to;
  const seq = to.images;
  if (seq === undefined) {
    const prefix = text.length === 0 || text.endsWith("\n") ? "" : eol;
    return {
      start: text.length,
      end: text.length,
      text: `${prefix}images:${blockItems(images, 0, 2, eol)}${eol}`,
      order: 1,
    };
  }
  if (seq === null) {
    const key = range(to.imagesPair?.key);
    const at = endOfLine(text, to.imagesPair?.value ? range(to.imagesPair.value)[1] : key[1]);
    const indent = key[0] - lineStart(text, key[0]);
    // `images:` with no value: write the items after the key and drop the empty value.
    return { start: at, end: at, text: blockItems(images, indent, indent + 2, eol), order: 1 };
  }
  if (seq.flow) {
    const flowItems = images.map((image) => `{${entryFields(image).join(", ")}}`);
    const last = seq.items[seq.items.length - 1];
    if (last)
      return { start: range(last)[1], end: range(last)[1], text: flowItems.map((i) => `, ${i}`).join(""), order: 1 };
    const close = text.lastIndexOf("]", range(seq)[1]);
    return { start: close, end: close, text: flowItems.join(", "), order: 1 };
  }
  const first = seq.items[0];
  const last = seq.items[seq.items.length - 1];
  const firstStart = range(first)[0];
  let dash = firstStart - 1;
  while (dash > 0 && text[dash] !== "-") dash -= 1;
  const dashIndent = dash - lineStart(text, dash);
  const keyIndent = isMap(first) && !first.flow ? firstStart - lineStart(text, firstStart) : dashIndent + 2;
  const at = endOfLine(text, range(last)[1]);
  return { start: at, end: at, text: blockItems(images, dashIndent, keyIndent, eol), order: 1 };
}

function renderScalar(value: string, style: string | undefined): string {
  if (style === "QUOTE_SINGLE") return `'${value.replaceAll("'", "''")}'`;
  if (style === "QUOTE_DOUBLE") return JSON.stringify(value);
  return isPlainSafe(value) ? value : JSON.stringify(value);
}

/** A plain scalar that both YAML 1.2 (kustomize's kyaml) and 1.1 (sigs.k8s.io/yaml) read back as this string. */
const plainSafe = new Map<string, boolean>();

function isPlainSafe(value: string): boolean {
  let safe = plainSafe.get(value);
  if (safe === undefined) {
    safe =
      /^[A-Za-z0-9_][A-Za-z0-9_./:@+-]*$/.test(value) &&
      parse(value) === value &&
      parse(value, { version: "1.1" }) === value;
    // Bounded: tags and names repeat across promotions, but a long-running process must not grow without end.
    if (plainSafe.size > 10_000) plainSafe.clear();
    plainSafe.set(value, safe);
  }
  return safe;
}

function location(overlay: { path: string; lineCounter: LineCounter }, offset: number) {
  const { line, col } = overlay.lineCounter.linePos(offset);
  return { path: overlay.path, line, column: col, where: `${overlay.path}:${line}:${col}` };
}

function invalid(overlay: { path: string; lineCounter: LineCounter }, offset: number, problem: string, hint: string) {
  const at = location(overlay, offset);
  return new PromotionError("KUSTOMIZATION_INVALID", `${at.where}: ${problem}`, hint, {
    path: at.path,
    line: at.line,
    column: at.column,
  });
}

function parseOverlay(text: string, path: string, role: "source" | "target"): ParsedOverlay {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const overlay = { path, lineCounter };
  const error = doc.errors[0];
  if (error) {
    throw invalid(overlay, error.pos[0], `not valid YAML: ${error.message.split("\n")[0]}`, `fix the YAML in ${path}.`);
  }
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    // Aliases are resolved only here: an alias without its anchor, or a billion-laughs file, is refused.
    throw invalid(overlay, 0, `not valid YAML: ${(cause as Error).message}`, `fix the YAML in ${path}.`);
  }
  const root = doc.contents;
  if (!isMap(root)) {
    throw invalid(overlay, 0, "a kustomization must be a mapping (kind, resources, images, ...).", `fix ${path}.`);
  }
  const imagesPair = pairOf(root, "images");
  let images: YAMLSeq | null | undefined;
  if (!imagesPair) images = undefined;
  else if (isSeq(imagesPair.value)) images = imagesPair.value;
  else if (imagesPair.value === null || (isScalar(imagesPair.value) && imagesPair.value.value === null)) images = null;
  else {
    throw invalid(
      overlay,
      range(imagesPair.value)[0],
      "images must be a list of {name, newName, newTag, digest}.",
      `fix the images: key in ${path}.`,
    );
  }
  if (root.flow && role === "target") {
    throw invalid(
      overlay,
      0,
      "a flow-style ({...}) kustomization cannot be edited in place.",
      `write ${path} in block style.`,
    );
  }

  const entries = new Map<string, Entry>();
  for (const [index, item] of (images?.items ?? []).entries()) {
    const offset = range(item)[0];
    if (!isMap(item)) {
      throw invalid(overlay, offset, `images[${index}] is not a mapping.`, `write it as - name: <image> in ${path}.`);
    }
    const raw: Record<string, unknown> = {};
    const positions: Record<string, number> = {};
    for (const pair of item.items) {
      if (!isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      raw[key] = isScalar(pair.value) ? pair.value.value : pair.value;
      positions[key] = pair.value ? range(pair.value)[0] : range(pair.key)[0];
      const isField = (PROMOTED_FIELDS as readonly string[]).includes(key) || key === "name";
      if (isField && pair.value && !isScalar(pair.value)) {
        throw invalid(
          overlay,
          positions[key] ?? offset,
          `images[${index}].${key} must be a single value, written out (not a list, a mapping or an alias).`,
          `write ${key}: <value> in ${path}.`,
        );
      }
      if (role === "target" && isField && isScalar(pair.value) && pair.value.anchor) {
        throw invalid(
          overlay,
          positions[key] ?? offset,
          `images[${index}].${key} carries the anchor &${pair.value.anchor}, which other values may refer to, so it cannot be changed on its own.`,
          `write the value out instead of using &${pair.value.anchor} and *${pair.value.anchor} in ${path}.`,
        );
      }
      const empty = pair.value === null || (isScalar(pair.value) && pair.value.value === null);
      if (empty && (PROMOTED_FIELDS as readonly string[]).includes(key)) {
        throw invalid(
          overlay,
          positions[key],
          `images[${index}].${key} has no value.`,
          `give it a value or remove the key in ${path}.`,
        );
      }
      if (isScalar(pair.value) && typeof pair.value.value !== "string" && pair.value.value !== null) {
        if (role === "source" && (PROMOTED_FIELDS as readonly string[]).includes(key)) {
          const written = source(text, pair.value);
          throw invalid(
            overlay,
            positions[key],
            `images[${index}].${key} is read as the ${typeof pair.value.value} ${written}, not as text, and kustomize needs a string.`,
            `quote it: ${key}: "${written}".`,
          );
        }
        raw[key] = source(text, pair.value);
      }
    }
    if (typeof raw.name !== "string" || raw.name === "") {
      throw invalid(overlay, offset, `images[${index}] has no name.`, `give it the image name used in the manifests.`);
    }
    const image: OverlayImage = { name: raw.name };
    for (const field of PROMOTED_FIELDS) {
      const value = raw[field];
      if (typeof value === "string") image[field] = value;
    }
    if (role === "source") {
      const checked = overlayImageSchema.safeParse(image);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        const field = String(issue?.path[0] ?? "name");
        throw invalid(
          overlay,
          positions[field] ?? offset,
          `images[${index}].${field} "${String(raw[field])}" ${issue?.message ?? "is invalid"}.`,
          `fix images[${index}].${field} in ${path}.`,
        );
      }
    }
    if (entries.has(image.name)) {
      throw invalid(
        overlay,
        offset,
        `image "${image.name}" is listed twice.`,
        `keep one entry for "${image.name}" in ${path}.`,
      );
    }
    entries.set(image.name, { image, map: item, index });
  }
  return { path, text, js, root, images, imagesPair, entries, lineCounter };
}

function source(text: string, node: Node): string {
  const [start, end] = range(node);
  return text.slice(start, end);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Refuses to hand back a file whose meaning changed anywhere but the promoted images. */
function editCheckFailed(path: string, what: string, cause?: unknown): PromotionError {
  return new PromotionError(
    "EDIT_CHECK_FAILED",
    `Editing ${path} in place would have ${what}; nothing was written.`,
    "promote by hand this time and report the file's layout to the rollway maintainers.",
    { path },
    cause === undefined ? undefined : { cause },
  );
}

function verifyEdit(before: ParsedOverlay, after: ParsedOverlay, images: ImageChange[]): void {
  const fail = (what: string) => editCheckFailed(before.path, what);
  for (const change of images) {
    const entry = after.entries.get(change.name);
    if (!entry || formatImageReference(entry.image) !== formatImageReference(change.after)) {
      throw fail(`left image "${change.name}" wrong`);
    }
  }
  const promoted = new Set(images.map((i) => i.name));
  const rest = (overlay: ParsedOverlay) => {
    const js = overlay.js as Record<string, unknown>;
    const list = Array.isArray(js.images) ? (js.images as Record<string, unknown>[]) : [];
    return { ...js, images: list.filter((i) => !promoted.has(String(i.name))) };
  };
  if (!sameJson(rest(before), rest(after))) throw fail("changed something besides the promoted images");
}
