/**
 * The inverse of a snapshot: `applyPatches` rebuilds the graph from the patch files (checking each against the
 * manifest), and `buildCodeAsData` packs verified patches into `dist/codeAsData` for the code-as-data image
 * (seed 004's `npx olympe buildCodeAsData` step).
 */
import { cp, mkdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { MANIFEST_FILE, type Manifest, PATCH_FILE_PATTERN, PATCH_FORMAT, sha256 } from "./canonical.js";
import { SnapshooterError, type SnapshooterProblem } from "./errors.js";
import {
  type CodeGraph,
  type CodeObject,
  codeObjectSchema,
  objectKindSchema,
  type Relation,
  relationSchema,
  tagSchema,
} from "./model.js";

const manifestSchema = z.object({
  format: z.literal(PATCH_FORMAT),
  name: z.string(),
  rootTags: z.array(tagSchema),
  exclude: z.array(tagSchema),
  objects: z.number().int().nonnegative(),
  relations: z.number().int().nonnegative(),
  files: z.array(
    z.object({
      path: z.string().regex(PATCH_FILE_PATTERN, { error: "must be folders/, projects/ or objects/<tag>.json" }),
      tag: tagSchema,
      kind: objectKindSchema,
      name: z.string(),
      objects: z.number().int().nonnegative(),
      relations: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

const patchFileSchema = z.object({
  format: z.literal(PATCH_FORMAT),
  tag: tagSchema,
  kind: objectKindSchema,
  name: z.string(),
  parent: tagSchema.nullable(),
  objects: z.array(codeObjectSchema),
  relations: z.array(relationSchema),
});

function invalid(dir: string, problems: SnapshooterProblem[]): SnapshooterError {
  return new SnapshooterError("INVALID_PATCHES", `the patches in ${dir} are not a complete snapshot:`, { problems });
}

function zodProblems(file: string, error: z.ZodError): SnapshooterProblem[] {
  return error.issues.slice(0, 10).map((issue) => ({
    path: `${file}${issue.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("")}`,
    message: issue.message,
  }));
}

async function readJson(dir: string, rel: string): Promise<{ text: string; value: unknown }> {
  let text: string;
  try {
    text = await readFile(path.join(dir, rel), "utf8");
  } catch (error) {
    throw invalid(dir, [{ path: rel, message: `cannot be read (${(error as NodeJS.ErrnoException).code ?? error})` }]);
  }
  try {
    return { text, value: JSON.parse(text) };
  } catch {
    throw invalid(dir, [{ path: rel, message: "is not valid JSON" }]);
  }
}

export interface AppliedPatches extends CodeGraph {
  manifest: Manifest;
}

/**
 * Rebuilds the graph a snapshot saved in `dir`. Every file the manifest lists must be there with the recorded
 * checksum, so a hand-edited or half-copied snapshot is refused with the file that is wrong.
 */
export async function applyPatches(dir: string): Promise<AppliedPatches> {
  const manifestRaw = await readJson(dir, MANIFEST_FILE);
  const manifestParsed = manifestSchema.safeParse(manifestRaw.value);
  if (!manifestParsed.success) throw invalid(dir, zodProblems(MANIFEST_FILE, manifestParsed.error));
  const manifest = manifestParsed.data as Manifest;

  const objects = new Map<string, CodeObject>();
  const relations: Relation[] = [];
  const problems: SnapshooterProblem[] = [];
  for (const entry of manifest.files) {
    const { text, value } = await readJson(dir, entry.path);
    if (sha256(text) !== entry.sha256) {
      problems.push({
        path: entry.path,
        message: "differs from the checksum in the manifest (edited by hand, or half copied?)",
      });
      continue;
    }
    const parsed = patchFileSchema.safeParse(value);
    if (!parsed.success) {
      problems.push(...zodProblems(entry.path, parsed.error));
      continue;
    }
    for (const object of parsed.data.objects) {
      if (objects.has(object.tag)) problems.push({ path: entry.path, message: `repeats object ${object.tag}` });
      objects.set(object.tag, object);
    }
    relations.push(...parsed.data.relations);
  }
  if (problems.length === 0 && objects.size !== manifest.objects) {
    problems.push({
      path: MANIFEST_FILE,
      message: `lists ${manifest.objects} objects but the patches hold ${objects.size}`,
    });
  }
  if (problems.length > 0) throw invalid(dir, problems);
  return { manifest, objects, relations };
}

/**
 * Verifies the patches in `patchesDir` with `applyPatches`, then copies them to `outDir` (default `dist/codeAsData`,
 * the code-as-data image's `$SOURCES_PATH`). The copy is staged beside `outDir` and renamed into place, so the image
 * never gets a partial set.
 */
export async function buildCodeAsData(
  patchesDir: string,
  outDir = path.join("dist", "codeAsData"),
): Promise<{ outDir: string; files: number; objects: number; relations: number }> {
  const applied = await applyPatches(patchesDir);
  const target = path.resolve(outDir);
  const staging = `${target}.staging-${process.pid}`;
  const previous = `${target}.previous-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    for (const rel of [...applied.manifest.files.map((f) => f.path), MANIFEST_FILE]) {
      await cp(path.join(patchesDir, rel), path.join(staging, rel), { errorOnExist: true, force: false });
    }
    await rm(previous, { recursive: true, force: true });
    await rename(target, previous).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
    await rename(staging, target);
    await rm(previous, { recursive: true, force: true });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new SnapshooterError("WRITE_FAILED", `cannot build the code-as-data folder ${target}`, {
      problems: [{ path: target, message: (error as NodeJS.ErrnoException).code ?? String(error) }],
      cause: error,
    });
  }
  return {
    outDir: target,
    files: applied.manifest.files.length + 1,
    objects: applied.objects.size,
    relations: applied.relations.length,
  };
}
