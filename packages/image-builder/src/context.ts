/**
 * The build context sent to the engine: the project folder filtered by `.dockerignore` (as `docker build .` and the
 * seed's kaniko `--context .` send it), or, when asked, a small one: the build folder and the Dockerfile's folder
 * (plus any extra paths), so `node_modules` and `.git` never travel. A built-in Dockerfile is added under `.rollway/`.
 */
import type { Stats } from "node:fs";
import { readFile, stat } from "node:fs/promises";
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
  /** Paths relative to `projectDir` to send (folders are sent whole); the whole project when left out. */
  entries?: readonly string[] | undefined;
  /** Paths sent even when `.dockerignore` matches them, as docker does for the Dockerfile. */
  keep?: readonly string[] | undefined;
  /**
   * A Dockerfile that is not in the project: its path inside the context and its text. `hidden` lists it in the
   * context's `.dockerignore` (made if there is none), as docker's CLI does for a Dockerfile from outside the context
   * (`docker build -f - .`): the engine reads it, and no `COPY` sees it.
   */
  extraFile?: { path: string; content: string; hidden?: boolean | undefined } | undefined;
  /**
   * A project folder sent under another name, its own entry with the given mode: how the built-in code-as-data
   * Dockerfile gets `~/patches` as the seed's `chmod 775 ~/patches` leaves it without `COPY --chmod` (BuildKit only)
   * or `RUN` (no container runs a build here): `COPY` keeps a context entry's mode on podman and Docker alike.
   */
  moved?: { from: string; to: string; mode: number } | undefined;
}

export async function packContext(input: ContextInput): Promise<Readable> {
  const dockerignore = await readDockerignore(input.projectDir);
  const ignorer = dockerignore?.ignorer;
  const entries = input.entries ? [...new Set(input.entries.map((e) => e.split("/").join(sep)))] : undefined;
  const keep = new Set(input.keep ?? []);
  const { extraFile } = input;
  const hidden = extraFile?.hidden ? extraFile.path : undefined;
  // The project's .dockerignore as it would travel (the whole project, and not listing itself), else undefined.
  const sentIgnoreFile =
    dockerignore && entries === undefined && !dockerignore.ignorer.ignores(".dockerignore") ? dockerignore : undefined;
  const stream = pack(input.projectDir, {
    entries,
    ignore:
      ignorer || hidden
        ? (name: string) => {
            const rel = relative(input.projectDir, name).split(sep).join("/");
            if (hidden && rel === ".dockerignore") return true; // Sent at the end, with the hidden file listed.
            return rel !== "" && !keep.has(rel) && (ignorer?.ignores(rel) ?? false);
          }
        : undefined,
    map: input.moved ? moveEntry(input.moved) : undefined,
    finalize: extraFile === undefined,
    finish(tar) {
      if (!extraFile) return;
      tar.entry({ name: extraFile.path, mode: 0o644 }, extraFile.content);
      if (hidden) {
        // The project's own file keeps its mode and time, as docker's CLI keeps its header; one line is added.
        const text = sentIgnoreFile?.text;
        const content =
          text === undefined
            ? `.dockerignore\n${hidden}\n`
            : `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${hidden}\n`;
        tar.entry(
          sentIgnoreFile
            ? { name: ".dockerignore", mode: sentIgnoreFile.mode, mtime: sentIgnoreFile.mtime }
            : { name: ".dockerignore", mode: 0o644 },
          content,
        );
      }
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
  let info: Stats;
  try {
    text = await readFile(`${projectDir}/.dockerignore`, "utf8");
    info = await stat(`${projectDir}/.dockerignore`);
  } catch {
    return undefined;
  }
  const ignorer = createIgnore({ ignorecase: false });
  ignorer.add(text.split(/\r?\n/));
  return { ignorer, text, mode: info.mode & 0o7777, mtime: info.mtime };
}
