/** The app version for the `draw_version` label, read where the seed's CI reads it (`jq -r '.version' $VERSION_FILE_PATH`). */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { imageBuildError } from "./errors.js";

/** The seed's `VERSION_FILE_PATH`. */
export const DEFAULT_VERSION_FILE = "node_modules/@olympeio/draw/package.json";

/** Returns the `version` of the JSON file, or `undefined` when the file does not exist. */
export async function readAppVersion(
  projectDir: string,
  versionFile = DEFAULT_VERSION_FILE,
): Promise<string | undefined> {
  const path = join(projectDir, versionFile);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw imageBuildError("INVALID_OPTIONS", path, `cannot be read: ${(error as Error).message}`, { cause: error });
  }
  let version: unknown;
  try {
    version = (JSON.parse(text) as { version?: unknown }).version;
  } catch (error) {
    throw imageBuildError("INVALID_OPTIONS", path, `is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof version !== "string" || version === "") {
    throw imageBuildError("INVALID_OPTIONS", path, 'has no "version" string to label the images with');
  }
  return version;
}
