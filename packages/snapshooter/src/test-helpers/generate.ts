/**
 * A deterministic generator of realistic code-as-data exports, for tests and benchmarks: Home and the Olympe folder
 * of seed 004, folders of projects, projects of objects (some containing sub-objects), model and reference relations.
 * Same options, same records, byte for byte.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { ExportRecord, JsonValue } from "../model.js";
import { HOME_TAG } from "../model.js";

export const OLYMPE_TAG = "10000000000000000001";

export interface GenerateOptions {
  seed?: number;
  folders?: number;
  projectsPerFolder?: number;
  objectsPerProject?: number;
  /** Shuffle the records (as a real export's order is arbitrary); the graph stays the same. */
  shuffle?: boolean;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The n-th generated tag: 20 digits, never colliding with Home (1000…0) or Olympe (1000…1). */
export function tagOf(n: number): string {
  return `2${String(n).padStart(19, "0")}`;
}

const WORDS = [
  "customer",
  "invoice",
  "order",
  "screen",
  "button",
  "list",
  "form",
  "query",
  "rule",
  "action",
  "label",
  "chart",
  "filter",
  "report",
  "user",
];
const MODELS = ["Screen", "Button", "Function", "Action", "DataType", "Property", "Relation", "Query"];

export function generateRecords(options: GenerateOptions = {}): ExportRecord[] {
  const { seed = 4, folders = 3, projectsPerFolder = 4, objectsPerProject = 20 } = options;
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const records: ExportRecord[] = [];
  let next = 0;
  const object = (
    kind: "folder" | "project" | "object",
    name: string,
    extra: Partial<{ model: string; properties: Record<string, JsonValue> }> = {},
  ) => {
    const tag =
      kind === "folder" && name === "Home"
        ? HOME_TAG
        : kind === "folder" && name === "Olympe"
          ? OLYMPE_TAG
          : tagOf(next++);
    records.push({
      record: "object",
      tag,
      kind,
      name,
      properties: extra.properties ?? {},
      ...(extra.model ? { model: extra.model } : {}),
    });
    return tag;
  };
  const contains = (from: string, to: string) => records.push({ record: "relation", from, to, type: "contains" });

  const home = object("folder", "Home");
  const olympe = object("folder", "Olympe");
  contains(home, olympe);
  const core = object("project", "Olympe core", { properties: { version: "2.11.0" } });
  contains(olympe, core);
  const models = MODELS.map((name) => {
    const tag = object("object", name, { properties: { builtIn: true } });
    contains(core, tag);
    return tag;
  });

  for (let f = 0; f < folders; f++) {
    const folder = object("folder", `${pick(WORDS)} folder ${f}`);
    contains(home, folder);
    for (let p = 0; p < projectsPerFolder; p++) {
      const project = object("project", `${pick(WORDS)} project ${f}.${p}`, {
        properties: { description: `The ${pick(WORDS)} application`, published: random() < 0.5 },
      });
      contains(folder, project);
      const inProject: string[] = [];
      for (let o = 0; o < objectsPerProject; o++) {
        // One object in five is a sub-object of an earlier one (a widget on a screen, a step of a function).
        const parent = inProject.length > 0 && random() < 0.2 ? pick(inProject) : project;
        const modelIndex = Math.floor(random() * models.length);
        const tag = object("object", `${pick(WORDS)}-${pick(WORDS)}-${o}`, {
          model: models[modelIndex] as string,
          properties: {
            enabled: random() < 0.8,
            position: { x: Math.floor(random() * 1920), y: Math.floor(random() * 1080) },
            order: o,
            label: `${pick(WORDS)} ${pick(WORDS)}`,
            tags: [pick(WORDS), pick(WORDS)],
            ...(random() < 0.3 ? { code: `return input.${pick(WORDS)} * ${Math.floor(random() * 100)};` } : {}),
          },
        });
        contains(parent, tag);
        records.push({ record: "relation", from: tag, to: models[modelIndex] as string, type: "model" });
        if (inProject.length > 0 && random() < 0.5)
          records.push({ record: "relation", from: tag, to: pick(inProject), type: "references" });
        inProject.push(tag);
      }
    }
  }
  if (options.shuffle) {
    for (let i = records.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [records[i], records[j]] = [records[j] as ExportRecord, records[i] as ExportRecord];
    }
  }
  return records;
}

/** Text of an export, as a JSON array (pretty, as a person might save it) or NDJSON. */
export function exportText(records: readonly ExportRecord[], format: "json" | "ndjson"): string {
  if (format === "ndjson") return `${records.map((r) => JSON.stringify(r)).join("\n")}\n`;
  return `[\n${records.map((r) => `  ${JSON.stringify(r)}`).join(",\n")}\n]\n`;
}

/** Writes an export file in chunks, without building the whole text (for the 100,000-object benchmark). */
export async function writeExportFile(
  file: string,
  records: readonly ExportRecord[],
  format: "json" | "ndjson",
): Promise<void> {
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  if (format === "json") await write("[\n");
  for (let i = 0; i < records.length; i++) {
    const line = JSON.stringify(records[i]);
    await write(format === "json" ? `  ${line}${i < records.length - 1 ? "," : ""}\n` : `${line}\n`);
  }
  if (format === "json") await write("]\n");
  out.end();
  await once(out, "finish");
}
