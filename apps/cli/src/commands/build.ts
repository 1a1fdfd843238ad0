/** `rollway build`: build, tag and push the release's images; prints the deploy payload's image part. */
import { writeFile } from "node:fs/promises";
import type { Output } from "../output.js";
import { printJson } from "../output.js";

export interface BuildOptions {
  dir: string;
  registry?: string;
  name?: string;
  push: boolean;
  tag?: string[];
  /** The seed's build.env (`--build-env`). */
  buildEnv?: string;
  /** What the engine gets with a project Dockerfile (`--context`). */
  context?: "project" | "small";
}

export async function buildCommand(options: BuildOptions, output: Output): Promise<void> {
  const { buildImages, describeProgress, readAppVersion, readGitRevision, toBuildEnv } = await import(
    "@rollway/image-builder"
  );
  const git = await readGitRevision(options.dir);
  const appVersion = await readAppVersion(options.dir);
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    const result = await buildImages({
      projectDir: options.dir,
      registry: options.registry,
      name: options.name,
      git,
      source: git.source,
      appVersion,
      push: options.push,
      additionalTags: options.tag ?? [],
      context: options.context ?? "project",
      signal: controller.signal,
      onProgress: (event) => {
        const line = describeProgress(event);
        if (line) output.err(`${line}\n`);
      },
    });
    if (options.buildEnv) await writeFile(options.buildEnv, toBuildEnv(result.images));
    if (output.json) printJson(output, { ok: true, images: result.images, payload: result.payload });
    else output.out(`${JSON.stringify(result.payload, null, 2)}\n`);
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
}
