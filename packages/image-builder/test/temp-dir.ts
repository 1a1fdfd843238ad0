/** A temp folder removed when the current test finishes, whatever its outcome. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";

export async function tempDir(prefix = "rollway-image-builder-"): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(path, { recursive: true, force: true }));
  return path;
}
