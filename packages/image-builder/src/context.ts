/**
 * The build context sent to the engine: a tar of the Dockerfile's folder and the sources folder (plus any extra
 * paths asked for), not the whole project, so `node_modules` and `.git` never travel. `.dockerignore` at the project
 * root is honoured as docker does; a built-in Dockerfile is added under `.rollway/`.
 */
import { readFile } from "node:fs/promises";
import { relative, sep } from "node:path";
import type { Readable } from "node:stream";
import dockerignoreModule from "@balena/dockerignore";
import { pack } from "tar-fs";

type IgnoreFactory = (options?: { ignorecase?: boolean }) => {
  add(patterns: string | string[]): unknown;
  ignores(path: string): boolean;
};
// The package is CommonJS with a declared default export: take whichever shape the loader gives.
const createIgnore: IgnoreFactory =
  (dockerignoreModule as unknown as { default?: IgnoreFactory }).default ??
  (dockerignoreModule as unknown as IgnoreFactory);

export interface ContextInput {
  /** Project root: the context's root, as the seed's `--context .`. */
  projectDir: string;
  /** Paths relative to `projectDir` to send (folders are sent whole). */
  entries: readonly string[];
  /** Paths sent even when `.dockerignore` matches them, as docker does for the Dockerfile. */
  keep?: readonly string[] | undefined;
  /** A Dockerfile that is not in the project: its path inside the context and its text. */
  extraFile?: { path: string; content: string } | undefined;
  /**
   * A project folder sent under another name, its own entry with the given mode: how the built-in code-as-data
   * Dockerfile gets `~/patches` as the seed's `chmod 775 ~/patches` leaves it without `COPY --chmod` (BuildKit only)
   * or `RUN` (no container runs a build here): `COPY` keeps a context entry's mode on podman and Docker alike.
   */
  moved?: { from: string; to: string; mode: number } | undefined;
}

export async function packContext(input: ContextInput): Promise<Readable> {
  const ignorer = await readDockerignore(input.projectDir);
  const entries = [...new Set(input.entries.map((e) => e.split("/").join(sep)))];
  const keep = new Set(input.keep ?? []);
  const stream = pack(input.projectDir, {
    entries,
    ignore: ignorer
      ? (name: string) => {
          const rel = relative(input.projectDir, name).split(sep).join("/");
          return rel !== "" && !keep.has(rel) && ignorer.ignores(rel);
        }
      : undefined,
    map: input.moved ? moveEntry(input.moved) : undefined,
    finalize: input.extraFile === undefined,
    finish(tar) {
      if (!input.extraFile) return;
      tar.entry({ name: input.extraFile.path, mode: 0o644 }, input.extraFile.content);
      tar.finalize();
    },
  });
  return stream as unknown as Readable;
}

function moveEntry(moved: { from: string; to: string; mode: number }) {
  return <H extends { name: string; mode?: number | undefined }>(header: H): H => {
    const name = header.name.split(sep).join("/").replace(/\/+$/, "");
    if (name === moved.from) {
      header.name = moved.to;
      header.mode = ((header.mode ?? 0) & ~0o7777) | moved.mode;
    } else if (name.startsWith(`${moved.from}/`)) {
      header.name = `${moved.to}${name.slice(moved.from.length)}`;
    }
    return header;
  };
}

async function readDockerignore(projectDir: string) {
  let text: string;
  try {
    text = await readFile(`${projectDir}/.dockerignore`, "utf8");
  } catch {
    return undefined;
  }
  const ignorer = createIgnore({ ignorecase: false });
  ignorer.add(text.split(/\r?\n/));
  return ignorer;
}
