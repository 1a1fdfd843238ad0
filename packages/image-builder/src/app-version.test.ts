import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test/temp-dir.js";
import { DEFAULT_VERSION_FILE, readAppVersion } from "./app-version.js";
import { ImageBuildError } from "./errors.js";

async function projectWith(content?: string): Promise<string> {
  const dir = await tempDir();
  if (content !== undefined) {
    await mkdir(join(dir, "node_modules/@olympeio/draw"), { recursive: true });
    await writeFile(join(dir, DEFAULT_VERSION_FILE), content);
  }
  return dir;
}

describe("readAppVersion", () => {
  it("reads the version where the seed's CI does", async () => {
    expect(await readAppVersion(await projectWith('{"name":"@olympeio/draw","version":"2.8.1"}'))).toBe("2.8.1");
  });

  it("has no version when the file does not exist", async () => {
    expect(await readAppVersion(await projectWith())).toBeUndefined();
  });

  it.each([
    ["{not json", "is not valid JSON"],
    ['{"version": 3}', 'has no "version" string'],
  ])("says where the version file %j is wrong", async (content, why) => {
    const dir = await projectWith(content);
    const error = await readAppVersion(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    expect((error as ImageBuildError).message).toContain(`${join(dir, DEFAULT_VERSION_FILE)}: ${why}`);
  });
});
