/**
 * `buildImages`: the seed's `.build-docker-image` CI job, for the three image kinds, through the Docker Engine API.
 * Everything is checked before the engine is contacted; then every image is built and tagged, and only when all are
 * built is anything pushed (each image's commit tag first, the moving tags after). The result is the deploy payload's
 * image list (what the seed's CI collects by hand into `build.env` and jq).
 */
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { packContext } from "./context.js";
import { type CredentialSource, type RegistryCredentials, resolveRegistryAuth } from "./credentials.js";
import { withLabelInstruction } from "./dockerfile-lines.js";
import {
  BUILTIN_DOCKERFILE_DIR,
  CODE_AS_DATA_CONTEXT,
  CODE_AS_DATA_MODE,
  IMAGE_KINDS,
  type ImageKind,
  KIND_DEFAULTS,
} from "./dockerfiles.js";
import {
  buildOnEngine,
  connectEngine,
  type EngineConnection,
  pingEngine,
  pushOnEngine,
  throwIfAborted,
} from "./engine.js";
import { ImageBuildError, type ImageBuildProblem, imageBuildError } from "./errors.js";
import { type PayloadImages, toPayloadImages } from "./payload.js";
import { parseRepository } from "./reference.js";
import { computeTags, type GitRevision, imageLabels } from "./tags.js";

export interface ImageSpec {
  kind: ImageKind;
  /** Build folder, relative to the project (the seed's `SOURCES_PATH`); default `dist/web`, `dist/node`, `dist/codeAsData`. */
  sources?: string | undefined;
  /** Dockerfile, relative to the project; default `<dockerDir>/<kind>.Dockerfile` if present, else the built-in one. */
  dockerfile?: string | undefined;
  /** Base image, passed as the `BASE_IMAGE` build argument (the built-in Dockerfiles start `FROM $BASE_IMAGE`). */
  baseImage?: string | undefined;
  /** Full repository to tag and push; default `<registry>/<name>-<kind>` as the seed's `$REGISTRY/$IMAGE_NAME`. */
  repository?: string | undefined;
  buildArgs?: Record<string, string> | undefined;
  /** More project paths to send in the build context, for a Dockerfile that copies more than the build folder. */
  contextPaths?: readonly string[] | undefined;
}

export interface BuildImagesOptions {
  /** Project root, the build context (the seed's `--context .`). */
  projectDir: string;
  /** Registry and namespace the images go to (`registry.example.com/team`): the seed's `$REGISTRY`. */
  registry?: string | undefined;
  /** Image name prefix (the seed's `$IMAGE_NAME` without `-$DOCKERFILE`); default the project folder's name. */
  name?: string | undefined;
  /** Images to build; default every kind whose build folder exists. */
  images?: readonly (ImageKind | ImageSpec)[] | undefined;
  /**
   * What the engine gets with a project Dockerfile: `project` (default), the project folder filtered by
   * `.dockerignore`, as `docker build .` does; `small`, only the build folder, the Dockerfile's folder and
   * `contextPaths`. The built-in Dockerfiles copy only the build folder and always get the small one.
   */
  context?: "project" | "small" | undefined;
  /** Folder of the project's Dockerfiles (the seed's `$DOCKER_DIRECTORY`); default `docker`. */
  dockerDir?: string | undefined;
  /** Revision to tag and label the images with; see `readGitRevision`. */
  git: GitRevision;
  /** The seed's `$ADDITIONAL_TAGS`. */
  additionalTags?: readonly string[] | undefined;
  /** The app's version, written as the `draw_version` label. */
  appVersion?: string | undefined;
  /** Repository URL for the `org.opencontainers.image.source` label. */
  source?: string | undefined;
  /** Push every tag after building; default true. */
  push?: boolean | undefined;
  /** Credentials by registry host; without them, the Docker config file's. */
  credentials?: Record<string, RegistryCredentials> | undefined;
  /** Folder of the Docker config file; default `$DOCKER_CONFIG`, then `~/.docker`. */
  dockerConfigDir?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** The engine: a dockerode instance or its options; default `DOCKER_HOST` or the default socket. */
  engine?: EngineConnection;
  /** Clock for the creation label. */
  now?: (() => Date) | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((event: BuildProgressEvent) => void) | undefined;
}

export type BuildProgressEvent =
  | { type: "build-started"; kind: ImageKind; repository: string; tags: string[]; dockerfile: string }
  | { type: "build-output"; kind: ImageKind; repository: string; line: string }
  | { type: "build-finished"; kind: ImageKind; repository: string; imageId: string }
  | { type: "push-started"; kind: ImageKind; reference: string; authenticated: boolean }
  | { type: "push-output"; kind: ImageKind; reference: string; status: string; progress?: string | undefined }
  | { type: "push-finished"; kind: ImageKind; reference: string; digest: string | undefined };

export interface BuiltImage {
  kind: ImageKind;
  repository: string;
  tags: string[];
  /** `<repository>:<ref-slug>-<short-sha>`: the reference the deploy payload gets. */
  reference: string;
  imageId: string;
  /** Registry digest of the pushed manifest, when pushed. */
  digest: string | undefined;
  pushed: boolean;
  labels: Record<string, string>;
}

export interface BuildImagesResult {
  images: BuiltImage[];
  /** Ready for the deploy payload: `frontend.image`, `backends.images`, `codeAsData.image`. */
  payload: PayloadImages;
}

interface PlannedImage {
  kind: ImageKind;
  repository: string;
  registry: string;
  sources: string;
  dockerfile: { path: string; builtin?: string };
  buildArgs: Record<string, string>;
  contextPaths: string[];
}

export async function buildImages(options: BuildImagesOptions): Promise<BuildImagesResult> {
  const { signal } = options;
  throwIfAborted(signal);
  const tagResult = computeTags({ git: options.git, additionalTags: options.additionalTags });
  const planned = await planImages(options, tagResult.ok ? [] : tagResult.problems);
  if (!tagResult.ok) throw new ImageBuildError(tagResult.problems);
  const { tags, unique } = tagResult.value;
  const labels = imageLabels({
    git: options.git,
    appVersion: options.appVersion,
    source: options.source,
    created: (options.now ?? (() => new Date()))(),
  });
  const credentialSource: CredentialSource = {
    credentials: options.credentials,
    dockerConfigDir: options.dockerConfigDir,
    env: options.env,
  };
  const push = options.push ?? true;
  // Credentials are resolved before anything is built, so a broken config file costs no build time.
  const auths = new Map<string, Awaited<ReturnType<typeof resolveRegistryAuth>>>();
  if (push) {
    for (const image of planned) {
      if (!auths.has(image.registry))
        auths.set(image.registry, await resolveRegistryAuth(image.registry, credentialSource));
    }
  }

  const docker = connectEngine(options.engine);
  await pingEngine(docker, signal);
  const emit = options.onProgress ?? (() => {});
  // Every image is built before any is pushed: a failed build leaves the registry as it was.
  const built: BuiltImage[] = [];
  for (const image of planned) {
    throwIfAborted(signal);
    const { kind, repository } = image;
    const references = tags.map((tag) => `${repository}:${tag}`);
    emit({ type: "build-started", kind, repository, tags, dockerfile: image.dockerfile.path });
    const small = image.dockerfile.builtin !== undefined || options.context === "small";
    const dockerfileText =
      image.dockerfile.builtin ??
      (await readFile(join(options.projectDir, image.dockerfile.path), "utf8").catch(() => undefined));
    // The labels as one LABEL step at the Dockerfile's end (the build API's labels parameter makes one step per
    // label), in a copy at the context's root (`.rollway-frontend.Dockerfile`; in a folder, COPY would still make the
    // folder) that the context's .dockerignore lists, as docker's CLI does for `-f -`: the project's own Dockerfile
    // travels unchanged and no COPY sees the copy.
    const labelled = dockerfileText === undefined ? undefined : withLabelInstruction(dockerfileText, labels);
    const sent =
      labelled !== undefined
        ? {
            path: image.dockerfile.builtin
              ? image.dockerfile.path
              : `${BUILTIN_DOCKERFILE_DIR}-${KIND_DEFAULTS[kind].name}.Dockerfile`,
            content: labelled,
            hidden: !image.dockerfile.builtin,
          }
        : image.dockerfile.builtin
          ? { path: image.dockerfile.path, content: image.dockerfile.builtin }
          : undefined;
    const context = await packContext({
      projectDir: options.projectDir,
      entries: small ? [image.sources, ...image.contextPaths] : undefined,
      keep: image.dockerfile.builtin ? [] : [image.dockerfile.path],
      extraFile: sent,
      moved:
        image.dockerfile.builtin && kind === "codeAsData"
          ? { from: image.sources, to: `${CODE_AS_DATA_CONTEXT}/patches`, mode: CODE_AS_DATA_MODE }
          : undefined,
    });
    const imageId = await buildOnEngine(docker, {
      context,
      smallContext: small && !image.dockerfile.builtin,
      dockerfileText,
      dockerfile: image.dockerfile.path,
      contextDockerfile: sent?.path,
      tags: references,
      buildArgs: image.buildArgs,
      labels: labelled === undefined ? labels : undefined,
      image: repository,
      onLine: (line) => emit({ type: "build-output", kind, repository, line }),
      signal,
    });
    emit({ type: "build-finished", kind, repository, imageId });
    built.push({
      kind,
      repository,
      tags,
      reference: `${repository}:${unique}`,
      imageId,
      digest: undefined,
      pushed: false,
      labels,
    });
  }

  if (push) {
    // The commit's own tag of every image first, the moving tags (latest, branch, additional) after: a push that
    // fails part-way has then moved nothing a deployment follows, or as little as can be.
    const order = [unique, ...tags.filter((tag) => tag !== unique)];
    const moved: string[] = [];
    for (const tag of order) {
      for (const [index, image] of built.entries()) {
        throwIfAborted(signal, undefined, moved);
        const { kind, repository } = image;
        const auth = auths.get((planned[index] as PlannedImage).registry);
        const reference = `${repository}:${tag}`;
        emit({ type: "push-started", kind, reference, authenticated: auth !== undefined });
        const digest = await pushOnEngine(docker, {
          repository,
          tag,
          auth,
          signal,
          moved,
          onStatus: (message) => {
            const status = message.status ?? message.stream;
            if (status)
              emit({ type: "push-output", kind, reference, status: status.trim(), progress: message.progress });
          },
        });
        moved.push(reference);
        emit({ type: "push-finished", kind, reference, digest });
        image.digest ??= digest;
      }
    }
    for (const image of built) image.pushed = true;
  }
  return { images: built, payload: toPayloadImages(built) };
}

/** Checks every input against the file system and lists every problem before anything is built. */
async function planImages(options: BuildImagesOptions, earlier: ImageBuildProblem[]): Promise<PlannedImage[]> {
  const problems: ImageBuildProblem[] = [...earlier];
  const projectDir = resolve(options.projectDir);
  if (!(await isDirectory(projectDir))) {
    throw imageBuildError("INVALID_OPTIONS", "projectDir", `${projectDir} is not a folder`);
  }
  const dockerDir = options.dockerDir ?? "docker";
  let specs: { spec: ImageSpec; path: string }[];
  if (options.images === undefined) {
    specs = [];
    for (const kind of IMAGE_KINDS) {
      if (await isDirectory(join(projectDir, KIND_DEFAULTS[kind].sources))) specs.push({ spec: { kind }, path: kind });
    }
    if (specs.length === 0) {
      const folders = IMAGE_KINDS.map((k) => KIND_DEFAULTS[k].sources).join(", ");
      throw imageBuildError(
        "SOURCES_NOT_FOUND",
        projectDir,
        `none of the build folders (${folders}) exists; build the project first (npm run build:draw, npm run build:node, npx olympe buildCodeAsData)`,
      );
    }
  } else {
    specs = options.images.map((entry, index) => ({
      spec: typeof entry === "string" ? { kind: entry } : entry,
      path: `images[${index}]`,
    }));
  }

  const planned: PlannedImage[] = [];
  const seenRepositories = new Map<string, string>();
  const countByKind = new Map<ImageKind, number>();
  const name = options.name ?? defaultName(projectDir);
  for (const { spec, path } of specs) {
    if (!IMAGE_KINDS.includes(spec.kind)) {
      problems.push({
        code: "INVALID_OPTIONS",
        path: `${path}.kind`,
        message: `${JSON.stringify(spec.kind)} is not an image kind (${IMAGE_KINDS.join(", ")})`,
      });
      continue;
    }
    const defaults = KIND_DEFAULTS[spec.kind];
    countByKind.set(spec.kind, (countByKind.get(spec.kind) ?? 0) + 1);

    const repository =
      spec.repository ??
      `${options.registry ? `${options.registry.replace(/\/+$/, "")}/` : ""}${name}-${defaults.name}`;
    const parsed = parseRepository(repository);
    if (typeof parsed === "string") {
      problems.push({
        code: "INVALID_OPTIONS",
        path: spec.repository !== undefined ? `${path}.repository` : "registry/name",
        message: `image repository ${parsed}`,
      });
    } else if (seenRepositories.has(repository)) {
      problems.push({
        code: "INVALID_OPTIONS",
        path: `${path}.repository`,
        message: `${repository} is also the repository of ${seenRepositories.get(repository)}; give each image its own repository`,
      });
    } else {
      seenRepositories.set(repository, path);
    }

    const sources = spec.sources ?? defaults.sources;
    const sourcesProblem = await checkProjectPath(projectDir, sources, "folder");
    if (sourcesProblem) {
      problems.push({
        code: "SOURCES_NOT_FOUND",
        path: `${path}.sources`,
        message:
          sourcesProblem === "missing"
            ? `build folder ${join(projectDir, sources)} does not exist; build the ${spec.kind} first`
            : sourcesProblem,
      });
    }

    let dockerfile: PlannedImage["dockerfile"];
    if (spec.dockerfile !== undefined) {
      const problem = await checkProjectPath(projectDir, spec.dockerfile, "file");
      if (problem) {
        problems.push({
          code: "DOCKERFILE_NOT_FOUND",
          path: `${path}.dockerfile`,
          message: problem === "missing" ? `${join(projectDir, spec.dockerfile)} does not exist` : problem,
        });
      }
      dockerfile = { path: toPosix(spec.dockerfile) };
    } else {
      const conventional = `${dockerDir}/${defaults.name}.Dockerfile`;
      dockerfile = (await isFile(join(projectDir, conventional)))
        ? { path: toPosix(conventional) }
        : { path: `${BUILTIN_DOCKERFILE_DIR}/${defaults.name}.Dockerfile`, builtin: defaults.dockerfile };
    }

    const contextPaths: string[] = [];
    for (const [i, extra] of (spec.contextPaths ?? []).entries()) {
      const problem = await checkProjectPath(projectDir, extra, "any");
      if (problem) {
        problems.push({
          code: "SOURCES_NOT_FOUND",
          path: `${path}.contextPaths[${i}]`,
          message: problem === "missing" ? `${join(projectDir, extra)} does not exist` : problem,
        });
      }
      contextPaths.push(toPosix(extra));
    }
    // The project's Dockerfile folder travels too, for the files its Dockerfiles copy (nginx.conf, ...).
    if (!dockerfile.builtin) {
      const folder = dockerfile.path.includes("/") ? dockerfile.path.slice(0, dockerfile.path.lastIndexOf("/")) : "";
      contextPaths.push(folder || dockerfile.path);
    }

    const buildArgs: Record<string, string> = { SOURCES_PATH: toPosix(sources), ...spec.buildArgs };
    if (spec.baseImage) buildArgs.BASE_IMAGE = spec.baseImage;
    planned.push({
      kind: spec.kind,
      repository,
      registry: typeof parsed === "string" ? "" : parsed.registry,
      sources: toPosix(sources),
      dockerfile,
      buildArgs,
      contextPaths,
    });
  }
  for (const kind of ["frontend", "codeAsData"] as const) {
    if ((countByKind.get(kind) ?? 0) > 1) {
      problems.push({
        code: "INVALID_OPTIONS",
        path: "images",
        message: `the deploy payload takes one ${kind} image, and ${countByKind.get(kind)} are asked for`,
      });
    }
  }
  if (problems.length > 0) throw new ImageBuildError(problems);
  return planned;
}

async function checkProjectPath(projectDir: string, path: string, want: "file" | "folder" | "any") {
  const full = resolve(projectDir, path);
  const rel = relative(projectDir, full);
  if (isAbsolute(path) || rel === "" || rel.startsWith("..")) {
    return `${JSON.stringify(path)} must be a path inside the project (${projectDir}), relative to it`;
  }
  const info = await stat(full).catch(() => undefined);
  if (!info) return "missing";
  if (want === "folder" && !info.isDirectory()) return `${full} is not a folder`;
  if (want === "file" && !info.isFile()) return `${full} is not a file`;
  return undefined;
}

/** The project folder's name, made a valid repository component (`My_App` → `my_app`). */
function defaultName(projectDir: string): string {
  return (projectDir.split(sep).pop() ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
}

const isDirectory = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
const isFile = (path: string) =>
  stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
const toPosix = (path: string) => path.split(sep).join("/").replace(/^\.\//, "").replace(/\/+$/, "");
